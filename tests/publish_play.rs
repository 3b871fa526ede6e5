//! ffmpeg publishes, ffmpeg players receive: counts, order, codecs.

mod common;

use common::*;
use rustic_rtmp::ServerHandle;
use rustic_rtmp::{PlayerSettings, RtmpSettings, StreamSettings};

/// Publishes `sample` to a fresh name with `players` waiting, and returns
/// what each player received and what was sent.
fn publish_to_players(sample: Sample, players: usize, publish_extra: &[&str]) -> (Vec<Probe>, Probe) {
    publish_to_players_with(&start_server(), sample, players, publish_extra, &[])
}

fn publish_to_players_with(
    server: &ServerHandle,
    sample: Sample,
    players: usize,
    publish_extra: &[&str],
    play_extra: &[&str],
) -> (Vec<Probe>, Probe) {
    let scratch = Scratch::new("pp");
    let name = unique("s");
    let url = url(server, &format!("live/{name}"));
    let outs: Vec<_> = (0..players).map(|i| scratch.path(&format!("p{i}.flv"))).collect();
    let mut procs: Vec<Proc> = outs.iter().map(|out| play_with(&url, out, play_extra)).collect();
    wait_for_players(server, "live", &name, players);
    let mut publisher = publish(&sample.path(), &url, publish_extra);
    assert!(publisher.wait().success(), "publisher failed");
    for p in &mut procs {
        p.wait();
    }
    (outs.iter().map(|o| probe(o)).collect(), probe(&sample.path()))
}

/// `got` holds at least 95% of the audio and video packets `sent` holds,
/// in timestamp order.
fn assert_whole_stream(who: &str, got: &Probe, sent: &Probe) {
    assert_near(&format!("{who} video"), got.video().len(), sent.video().len(), 95);
    assert_near(&format!("{who} audio"), got.audio().len(), sent.audio().len(), 95);
    got.assert_monotonic();
}

#[test]
fn a_waiting_player_gets_every_frame_in_order() {
    let (got, sent) = publish_to_players(Sample::AudioVideo, 1, &[]);
    let got = &got[0];
    assert_eq!(got.codecs(), vec!["aac", "h264"]);
    assert_eq!(got.video_size(), Some((320, 240)));
    assert_whole_stream("player", got, &sent);
    assert!(got.video()[0].key, "first video packet is a keyframe");
}

#[test]
fn merged_writes_and_nodelay_players_get_every_frame_in_order() {
    let merged = rustic_rtmp::Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
        stream: StreamSettings {
            merge_write: std::time::Duration::from_millis(40),
            ..Default::default()
        },
        ..Default::default()
    };
    let nodelay = rustic_rtmp::Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
        players: PlayerSettings {
            nodelay: true,
            ..Default::default()
        },
        ..Default::default()
    };
    for (what, config) in [("merged writes", merged), ("nodelay", nodelay)] {
        let (got, sent) = publish_to_players_with(&start_server_with(config), Sample::AudioVideo, 2, &[], &[]);
        for player in &got {
            assert_whole_stream(what, player, &sent);
        }
    }
}

#[test]
fn eight_players_at_once_each_get_the_stream() {
    let (got, sent) = publish_to_players(Sample::AudioVideo, 8, &[]);
    for (i, player) in got.iter().enumerate() {
        assert_whole_stream(&format!("player {i}"), player, &sent);
    }
}

#[test]
fn audio_only_stream() {
    let (got, sent) = publish_to_players(Sample::AudioOnly, 1, &[]);
    assert_eq!(got[0].codecs(), vec!["aac"]);
    assert_near("audio packets", got[0].audio().len(), sent.audio().len(), 95);
    got[0].assert_monotonic();
}

#[test]
fn video_only_stream() {
    let (got, sent) = publish_to_players(Sample::VideoOnly, 1, &[]);
    assert_eq!(got[0].codecs(), vec!["h264"]);
    assert_near("video packets", got[0].video().len(), sent.video().len(), 95);
    got[0].assert_monotonic();
}

#[test]
fn timestamps_beyond_24_bits_survive() {
    // 17000 s is past 0xFFFFFF ms, so every header needs the extended
    // timestamp field, on continuation chunks too.
    let (got, sent) = publish_to_players_with(
        &start_server(),
        Sample::AudioVideo,
        1,
        &["-output_ts_offset", "17000"],
        &["-copyts"],
    );
    let got = &got[0];
    assert_near("video packets", got.video().len(), sent.video().len(), 95);
    assert_near("audio packets", got.audio().len(), sent.audio().len(), 95);
    let first = got.packets.iter().map(|p| p.dts).min().unwrap();
    assert!(first >= 17_000_000, "first dts {first} ms lost the offset");
    got.assert_monotonic();
}

#[test]
fn two_streams_at_once_do_not_cross() {
    let server = start_server();
    let scratch = Scratch::new("two");
    let (big, small) = (unique("big"), unique("small"));
    let (big_url, small_url) = (
        url(&server, &format!("live/{big}")),
        url(&server, &format!("live/{small}")),
    );
    let (big_out, small_out) = (scratch.path("big.flv"), scratch.path("small.flv"));
    let mut players = [play(&big_url, &big_out), play(&small_url, &small_out)];
    wait_for_players(&server, "live", &big, 1);
    wait_for_players(&server, "live", &small, 1);
    let mut publishers = [
        publish(&Sample::AudioVideo.path(), &big_url, &[]),
        publish(&Sample::SmallAudioVideo.path(), &small_url, &[]),
    ];
    for p in publishers.iter_mut().chain(players.iter_mut()) {
        p.wait();
    }
    let (big_got, small_got) = (probe(&big_out), probe(&small_out));
    assert_eq!(big_got.video_size(), Some((320, 240)));
    assert_eq!(small_got.video_size(), Some((160, 120)));
    let sent = probe(&Sample::AudioVideo.path());
    assert_near("big video", big_got.video().len(), sent.video().len(), 95);
    assert_near("small video", small_got.video().len(), sent.video().len(), 95);
}

#[test]
fn query_on_the_stream_name_is_not_part_of_its_identity() {
    let server = start_server();
    let scratch = Scratch::new("query");
    let name = unique("q");
    let out = scratch.path("out.flv");
    let mut player = play(&url(&server, &format!("live/{name}")), &out);
    wait_for_players(&server, "live", &name, 1);
    let mut publisher = publish(
        &Sample::AudioVideo.path(),
        &url(&server, &format!("live/{name}?key=secret")),
        &[],
    );
    assert!(publisher.wait().success());
    player.wait();
    assert_near(
        "video",
        probe(&out).video().len(),
        probe(&Sample::AudioVideo.path()).video().len(),
        95,
    );
}

#[test]
fn nested_app_paths_and_ipv6_loopback() {
    // ffmpeg puts every path segment but the last into the app.
    let server = start_server_with(rustic_rtmp::Config {
        rtmp: RtmpSettings {
            bind: "[::1]:0".parse().unwrap(),
            ..Default::default()
        },
        ..Default::default()
    });
    let scratch = Scratch::new("v6");
    let name = unique("v6");
    let url = format!("rtmp://{}/live/inst/{name}", server.local_addr());
    let out = scratch.path("out.flv");
    let mut player = play(&url, &out);
    wait_for_players(&server, "live/inst", &name, 1);
    let mut publisher = publish(&Sample::AudioVideo.path(), &url, &[]);
    assert!(publisher.wait().success());
    player.wait();
    assert_near(
        "video",
        probe(&out).video().len(),
        probe(&Sample::AudioVideo.path()).video().len(),
        95,
    );
}
