//! What a Rust program embedding the server gets: a `Policy` that denies
//! and renames, checked with ffmpeg; the events of a publish and a play,
//! in order; in-process publishers and subscribers, with no socket.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::http;
use common::*;
use rustic_rtmp::client::{Client, ClientOptions};
use rustic_rtmp::media::{Frame, FrameKind, StreamKey, flv};
use rustic_rtmp::{ClientKind, Config, Decision, Event, Policy, PolicyRequest};
use rustic_rtmp::{PlayerSettings, StreamSettings};

/// Denies publishing `forbidden` and playing `secret`; publishing `alias`
/// goes to `real`, and so does playing `tv`.
#[derive(Debug)]
struct Studio;

impl Policy for Studio {
    fn publish(&self, request: &PolicyRequest<'_>) -> Decision {
        match request.name {
            "forbidden" => Decision::Deny("not this one".into()),
            "alias" => Decision::Rename("real".into()),
            _ => Decision::Allow,
        }
    }

    fn play(&self, request: &PolicyRequest<'_>) -> Decision {
        match request.name {
            "secret" => Decision::Deny("not for you".into()),
            "tv" => Decision::Rename("real".into()),
            _ => Decision::Allow,
        }
    }
}

#[test]
fn a_policy_denies_and_renames_for_ffmpeg() {
    let server = http::server(Config {
        policy: Some(Arc::new(Studio)),
        ..Config::default()
    });
    let scratch = Scratch::new("policy");
    let sample = Sample::AudioVideo.path();

    let out = publish(&sample, &url(&server, "live/forbidden"), &[]).wait_output();
    assert!(!out.status.success(), "ffmpeg was refused");
    assert!(stream_stats(&server, "live", "forbidden").is_none_or(|s| !s.publishing));

    let mut publisher = publish(&sample, &url(&server, "live/alias"), &[]);
    wait_until("live/real to be published", || {
        stream_stats(&server, "live", "real").is_some_and(|s| s.publishing)
    });
    assert!(
        stream_stats(&server, "live", "alias").is_none(),
        "nothing under the old name"
    );
    let out_file = scratch.path("tv.flv");
    let mut player = play(&url(&server, "live/tv"), &out_file);
    wait_for_players(&server, "live", "real", 1);

    let refused = http::read_to_close(http::send(
        server.http_addr().unwrap(),
        &http::get_request("/live/secret.flv", 1),
    ));
    assert_eq!(refused.status, 403, "{}", refused.head);
    assert!(String::from_utf8_lossy(&refused.body).contains("not for you"));

    assert!(publisher.wait().success());
    player.wait();
    let got = probe(&out_file);
    assert!(
        got.video().len() >= 50,
        "the renamed play got the stream: {} frames",
        got.video().len()
    );
}

/// The events about connection `ids`, waiting up to `WAIT` for `n`.
fn events_of(events: &crossbeam_channel::Receiver<Event>, ids: &[u64], n: usize) -> Vec<Event> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    while got.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events
            .recv_timeout(left.max(Duration::from_millis(1)))
            .unwrap_or_else(|_| panic!("{n} events within {WAIT:?}; got {got:?}"));
        let id = match &event {
            Event::Opened { id, .. }
            | Event::Closed { id }
            | Event::PublishStarted { id, .. }
            | Event::PublishStopped { id, .. }
            | Event::PlayStarted { id, .. }
            | Event::PlayStopped { id, .. }
            | Event::SlowPlayerDropped { id, .. } => *id,
            other => panic!("an event this test does not know: {other:?}"),
        };
        if ids.contains(&id) {
            got.push(event);
        }
    }
    got
}

#[test]
fn the_events_of_a_publish_and_a_play_arrive_in_order() {
    let server = start_server();
    let events = server.events();
    let name = unique("events");
    let key = StreamKey::new("live", name.clone());
    let url = url(&server, &format!("live/{name}"));
    let publisher = Client::publish(&url, &ClientOptions::default()).unwrap();
    let publisher_id = server.clients()[0].id;
    let got = events_of(&events, &[publisher_id], 2);
    assert!(
        matches!(got[0], Event::Opened { id, .. } if id == publisher_id),
        "{got:?}"
    );
    assert_eq!(
        got[1],
        Event::PublishStarted {
            id: publisher_id,
            key: key.clone()
        }
    );

    let player = Client::play(&url, &ClientOptions::default()).unwrap();
    let player_id = server.clients().iter().map(|c| c.id).max().unwrap();
    drop(player);
    let got = events_of(&events, &[player_id], 4);
    assert!(matches!(got[0], Event::Opened { id, .. } if id == player_id), "{got:?}");
    assert_eq!(
        got[1..],
        [
            Event::PlayStarted {
                id: player_id,
                key: key.clone(),
                kind: ClientKind::RtmpPlay
            },
            Event::PlayStopped {
                id: player_id,
                key: key.clone()
            },
            Event::Closed { id: player_id },
        ]
    );
    drop(publisher);
    let got = events_of(&events, &[publisher_id], 2);
    assert_eq!(
        got,
        [
            Event::PublishStopped { id: publisher_id, key },
            Event::Closed { id: publisher_id },
        ]
    );
}

/// The frames of a sample file, as an encoder would publish them.
fn sample_frames(sample: Sample) -> Vec<Frame> {
    let file = std::fs::read(sample.path()).unwrap();
    let mut at = flv::HEADER_LEN;
    let mut frames = Vec::new();
    while let Some((frame, len)) = flv::read_tag(&file[at..]) {
        frames.push(frame);
        at += len;
    }
    frames
}

#[test]
fn an_in_process_publishers_frames_reach_an_ffmpeg_player() {
    let server = start_server();
    let name = unique("made-here");
    let key = StreamKey::new("live", name.clone());
    let scratch = Scratch::new("local-publish");
    let out_file = scratch.path("played.flv");
    let mut player = play(&url(&server, &format!("live/{name}")), &out_file);
    wait_for_players(&server, "live", &name, 1);

    let publisher = server.publish(&key).unwrap();
    assert!(
        matches!(server.publish(&key), Err(rustic_rtmp::LocalError::AlreadyPublished(_))),
        "one publisher per name"
    );
    let frames = sample_frames(Sample::AudioVideo);
    let sent_video = frames.iter().filter(|f| f.kind == FrameKind::Video).count();
    for frame in frames {
        publisher.send(frame).unwrap();
    }
    let stats = stream_stats(&server, "live", &name).unwrap();
    assert_eq!(stats.publisher.as_ref().map(|p| p.encoder.as_str()), Some("in-process"));
    assert_eq!(stats.video.as_ref().map(|v| (v.width, v.height)), Some((320, 240)));
    // The player has everything once the stream has sent it all.
    drop(publisher);
    assert!(player.wait().success(), "ffmpeg played to the end");
    let got = probe(&out_file);
    assert_eq!(got.video_size(), Some((320, 240)));
    assert_near("video frames played", got.video().len(), sent_video, 5);
    assert!(!got.audio().is_empty(), "audio played too");
}

#[test]
fn an_rtmp_publishers_frames_reach_an_in_process_subscriber_byte_exact() {
    let server = start_server();
    let name = unique("analysed");
    let frames = server.subscribe(&StreamKey::new("live", name.clone())).unwrap();
    wait_for_players(&server, "live", &name, 1);
    let sample = Sample::AudioVideo;
    assert!(
        publish(&sample.path(), &url(&server, &format!("live/{name}")), &[])
            .wait()
            .success()
    );
    let media = |f: &Frame| f.kind != FrameKind::Metadata;
    let sent: Vec<Frame> = sample_frames(sample).into_iter().filter(media).collect();
    let mut got = Vec::new();
    while got.len() < sent.len() {
        match frames.recv_timeout(WAIT) {
            Ok(frame) if media(&frame) => got.push(frame),
            Ok(_) => {}
            Err(e) => panic!("{} of {} frames, then {e}", got.len(), sent.len()),
        }
    }
    for (i, (got, sent)) in got.iter().zip(&sent).enumerate() {
        assert_eq!(
            (got.kind, got.timestamp, got.payload.len()),
            (sent.kind, sent.timestamp, sent.payload.len()),
            "frame {i}"
        );
        assert!(got.payload == sent.payload, "frame {i}: the same bytes");
    }
}

#[test]
fn a_subscriber_that_does_not_read_is_dropped_like_a_slow_player() {
    let server = start_server_with(Config {
        players: PlayerSettings {
            queue_len: 64,
            ..Default::default()
        },
        stream: StreamSettings {
            // The GOP fits the short queue (the server used to clamp it).
            gop_max_frames: 56,
            max_dropped_in_a_row: 20,
            min_stall: Duration::from_millis(100),
            ..Default::default()
        },
        ..Config::default()
    });
    let key = StreamKey::new("live", unique("unread"));
    let events = server.events();
    let frames = server.subscribe(&key).unwrap();
    let publisher = server.publish(&key).unwrap();
    let deadline = Instant::now() + WAIT;
    let mut n = 0;
    let dropped = loop {
        assert!(Instant::now() < deadline, "not dropped after {n} frames");
        publisher.send(numbered_frame(n, n % 25 == 0, n * 40, 1000)).unwrap();
        n += 1;
        match events.try_recv() {
            Ok(Event::SlowPlayerDropped { key: k, .. }) if k == key => break n,
            _ => {}
        }
    };
    assert_eq!(stream_stats(&server, "live", &key.name).unwrap().players, 0);
    // What was queued before it was dropped can still be read; then the
    // channel ends.
    let left: Vec<Frame> = frames.iter().collect();
    assert!(
        !left.is_empty() && left.len() < dropped as usize,
        "{} of {dropped}",
        left.len()
    );
    assert_eq!(frame_number(&left[0]), 0, "from the first frame on");
}
