//! Streams no installed encoder produces, sent with the library's client:
//! Enhanced RTMP codecs, multitrack and ModEx, legacy codecs, aggregate
//! messages, extended timestamps on continuation chunks, chunk-size
//! changes. Each must reach players byte-exact.

mod common;

use common::http;
use common::*;
use rustic_rtmp::ServerHandle;
use rustic_rtmp::client::{Client, ClientOptions, Player, Publisher};
use rustic_rtmp::media::{Frame, FrameKind};
use rustic_rtmp::protocol::chunk::csid;
use rustic_rtmp::protocol::message::Message;
use rustic_rtmp::protocol::time::RtmpTime;

fn frame(kind: FrameKind, ms: u32, payload: &[u8]) -> Frame {
    Frame {
        kind,
        timestamp: RtmpTime(ms),
        payload: payload.to_vec(),
    }
}

fn video(ms: u32, payload: &[u8]) -> Frame {
    frame(FrameKind::Video, ms, payload)
}

fn audio(ms: u32, payload: &[u8]) -> Frame {
    frame(FrameKind::Audio, ms, payload)
}

/// A player subscribed (the server lists it) to a fresh stream, and that
/// stream's URL.
fn player(server: &ServerHandle, prefix: &str) -> (Player, String) {
    let name = unique(prefix);
    let url = url(server, &format!("live/{name}"));
    let player = Client::play(&url, &ClientOptions::default()).expect("play starts");
    wait_for_players(server, "live", &name, 1);
    (player, url)
}

fn publisher(url: &str) -> Publisher {
    Client::publish(url, &ClientOptions::default()).expect("publish starts")
}

/// Receives `n` frames.
fn receive(player: &mut Player, n: usize) -> Vec<Frame> {
    (0..n)
        .map(|_| player.recv().expect("a frame").expect("not the end of the stream"))
        .collect()
}

/// A stream of E-RTMP and legacy frames: configuration, keyframes, inter
/// frames, multitrack, ModEx, command frames.
fn enhanced_frames() -> Vec<Frame> {
    vec![
        video(0, b"\x90hvc1\x01\x02\x03config"),     // HEVC SequenceStart
        audio(0, b"\x90Opus\x4f\x70\x75\x73Head"),   // Opus SequenceStart
        video(0, b"\x93hvc1key-frame-data"),         // HEVC CodedFramesX, keyframe
        audio(20, b"\x91Opusopus-packet"),           // Opus CodedFrames
        video(33, b"\xA1hvc1\x00\x00\x21inter"),     // HEVC CodedFrames, inter frame
        video(33, b"\x96\x00av01\x01seq-av1"),       // multitrack OneTrack: AV1 SequenceStart on track 1
        video(40, b"\x96\x11av01\x01av1-keyframe"),  // multitrack OneTrack: AV1 keyframe on track 1
        video(50, b"\xA7\x00\x2A\x03hvc1modex"),     // inter frame: ModEx (1 byte) then CodedFramesX
        video(60, b"\xD1\x01"),                      // command frame
        audio(60, b"\x95\x00ac-3\x02ac3-config"),    // multitrack audio SequenceStart on track 2
        audio(80, b"\x2Fmp3-frame"),                 // legacy MP3
        audio(90, b"\xB6speex"),                     // legacy Speex
        audio(95, b"\x6Enellymoser"),                // legacy Nellymoser
        audio(96, b"\x7Ealaw"),                      // legacy G.711 A-law
        audio(97, b"\x8Emulaw"),                     // legacy G.711 mu-law
        video(100, b"\x1C\x00hevc-in-codec-id-12"),  // legacy HEVC (codec id 12) config
        video(100, b"\x1C\x01\x00\x00\x00hevc-key"), // and keyframe
    ]
}

#[test]
fn enhanced_and_legacy_codecs_reach_a_player_byte_exact() {
    let server = start_server();
    let (mut player, url) = player(&server, "erptmp");
    let mut publisher = publisher(&url);
    let sent = enhanced_frames();
    for f in &sent {
        publisher.send(f).unwrap();
    }
    assert_eq!(receive(&mut player, sent.len()), sent);
    // Each configured track, with its codec: multitrack AV1 on video
    // track 1 and AC-3 on audio track 2 beside the main ones.
    let name = url.rsplit('/').next().unwrap();
    let tracks: Vec<(FrameKind, u8, &str)> = (stream_stats(&server, "live", name).unwrap().tracks.iter())
        .map(|t| (t.kind, t.track, t.codec))
        .collect();
    assert_eq!(
        tracks,
        [
            (FrameKind::Video, 0, "HEVC"),
            (FrameKind::Audio, 0, "Opus"),
            (FrameKind::Video, 1, "AV1"),
            (FrameKind::Audio, 2, "AC3"),
        ]
    );
}

#[test]
fn a_late_joiner_gets_every_tracks_configuration_then_the_gop() {
    let server = start_server();
    let (mut first, url) = player(&server, "erlate");
    let mut publisher = publisher(&url);
    let sent = enhanced_frames();
    for f in &sent[..9] {
        publisher.send(f).unwrap();
    }
    receive(&mut first, 9); // the server has handled all of them
    let mut late = Client::play(&url, &ClientOptions::default()).unwrap();
    // Configuration per kind and track, in arrival order (HEVC, Opus, AV1 on
    // track 1), then the GOP from the last keyframe (the AV1 keyframe on
    // track 1): itself, the ModEx inter frame, the command frame.
    let expected: Vec<Frame> = [0, 1, 5, 6, 7, 8].iter().map(|&i| sent[i].clone()).collect();
    assert_eq!(receive(&mut late, expected.len()), expected);
    // Then it is live.
    publisher.send(&sent[10]).unwrap();
    assert_eq!(receive(&mut late, 1), vec![sent[10].clone()]);
}

#[test]
fn aggregate_messages_are_split_for_players() {
    let server = start_server();
    let (mut player, url) = player(&server, "aggr");
    let mut publisher = publisher(&url);
    let parts = [
        video(1000, b"\x17\x00avc-config"),
        video(1000, b"\x17\x01key"),
        audio(1010, b"\xAF\x01aac"),
    ];
    let mut payload = Vec::new();
    for part in &parts {
        let type_id = if part.kind == FrameKind::Video { 9u8 } else { 8 };
        let ts = part.timestamp.0;
        payload.push(type_id);
        payload.extend_from_slice(&(part.payload.len() as u32).to_be_bytes()[1..]);
        payload.extend_from_slice(&ts.to_be_bytes()[1..]);
        payload.push((ts >> 24) as u8);
        payload.extend_from_slice(&[0, 0, 0]);
        payload.extend_from_slice(&part.payload);
        payload.extend_from_slice(&(11 + part.payload.len() as u32).to_be_bytes());
    }
    publisher
        .send_message(csid::VIDEO, RtmpTime(1000), Message::Aggregate(payload))
        .unwrap();
    assert_eq!(receive(&mut player, 3), parts);
}

#[test]
fn big_frames_with_extended_timestamps_across_chunk_size_changes() {
    let server = start_server();
    let (mut player, url) = player(&server, "bigts");
    let mut publisher = publisher(&url);
    let mut sent = Vec::new();
    let base = 0x00FF_FF00; // crosses 0xFFFFFF during the stream
    for i in 0..12u32 {
        if i == 4 {
            publisher
                .send_message(csid::CONTROL, RtmpTime(0), Message::SetChunkSize(1000))
                .unwrap();
        }
        if i == 8 {
            publisher
                .send_message(csid::CONTROL, RtmpTime(0), Message::SetChunkSize(65536))
                .unwrap();
        }
        let mut payload = vec![if i == 0 { 0x17 } else { 0x27 }, 1];
        payload.extend((0..30_000 + i * 1000).map(|b| (b * 7 + i) as u8));
        let f = video(base + i * 40, &payload);
        publisher.send(&f).unwrap();
        sent.push(f);
    }
    let got = receive(&mut player, sent.len());
    assert!(got.iter().any(|f| f.timestamp.0 > 0x00FF_FFFF));
    assert_eq!(got, sent);
}

#[test]
fn a_second_client_publisher_is_refused_with_bad_name() {
    let server = start_server();
    let (_player, url) = player(&server, "dup");
    let _first = publisher(&url);
    match Client::publish(&url, &ClientOptions::default()) {
        Err(rustic_rtmp::client::ClientError::Refused { code, .. }) => assert_eq!(code, "NetStream.Publish.BadName"),
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a second publisher was accepted"),
    }
}

#[test]
fn enhanced_tags_reach_an_http_flv_player_byte_exact() {
    let server = http::server(rustic_rtmp::Config::default());
    let name = unique("eflv");
    let target = format!("/live/{name}.flv");
    let socket = http::send(server.http_addr().unwrap(), &http::get_request(&target, 1));
    wait_for_players(&server, "live", &name, 1);
    let reader = std::thread::spawn(move || http::read_to_close(socket));
    let frames = enhanced_frames();
    let mut publisher = publisher(&url(&server, &format!("live/{name}")));
    for frame in &frames {
        publisher.send(frame).unwrap();
    }
    drop(publisher);
    let (_, tags) = http::flv_tags(&reader.join().unwrap().body);
    let got: Vec<Frame> = tags
        .into_iter()
        .map(|t| {
            let kind = if t.kind == 8 {
                FrameKind::Audio
            } else {
                FrameKind::Video
            };
            frame(kind, t.timestamp, &t.body)
        })
        .collect();
    assert_eq!(got, frames, "E-FLV tags carry the E-RTMP bodies unchanged");
}
