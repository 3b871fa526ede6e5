//! A player joining a live stream starts at once, on a keyframe, with the
//! codec parameters known.

mod common;

use common::*;
use rustic_rtmp::Config;
use rustic_rtmp::{RtmpSettings, StreamSettings};

struct Joined {
    got: Probe,
    /// Stream time (ms) read just before the player was started.
    before_join: i64,
    /// Stream time (ms) read just after the server listed the player.
    after_join: i64,
}

/// Starts an 8 s publish (keyframe every second), joins a player about
/// 2.5 s in, and returns what it got with timestamps kept.
fn join_late(gop_cache: bool) -> Joined {
    let server = start_server_with(Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
        stream: StreamSettings {
            gop_cache,
            ..Default::default()
        },
        ..Config::default()
    });
    let scratch = Scratch::new("late");
    let name = unique("late");
    let url = url(&server, &format!("live/{name}"));
    let stream_time = || stream_stats(&server, "live", &name).map_or(0, |s| s.last_timestamp.0 as i64);
    let mut publisher = publish(&Sample::LongAudioVideo.path(), &url, &[]);
    wait_until("2.5 s of stream published", || stream_time() >= 2500);
    let before_join = stream_time();
    let out = scratch.path("late.flv");
    let mut player = play_with(&url, &out, &["-copyts"]);
    wait_for_players(&server, "live", &name, 1);
    let after_join = stream_time();
    assert!(publisher.wait().success());
    player.wait();
    Joined {
        got: probe(&out),
        before_join,
        after_join,
    }
}

/// Panics unless video runs without a gap from its first packet on.
fn assert_no_video_gap(got: &Probe) {
    let video = got.video();
    let (first, last) = (video[0].dts, video[video.len() - 1].dts);
    let expected = ((last - first) / 40 + 1) as usize; // 25 fps
    assert_near("video packets after the first", video.len(), expected, 95);
}

#[test]
fn late_joiner_starts_on_a_cached_keyframe_with_codec_parameters() {
    let joined = join_late(true);
    let got = &joined.got;
    assert_eq!(got.video_size(), Some((320, 240)), "sequence header came first");
    assert_eq!(got.codecs(), vec!["aac", "h264"]);
    let first = got.video()[0];
    assert!(first.key, "first video packet is a keyframe");
    assert!(
        first.dts <= joined.after_join,
        "first keyframe at {} ms is not from the cached GOP (joined by {} ms)",
        first.dts,
        joined.after_join
    );
    assert_no_video_gap(got);
    got.assert_monotonic();
}

#[test]
fn without_gop_cache_a_late_joiner_waits_for_the_next_keyframe() {
    let joined = join_late(false);
    let got = &joined.got;
    assert_eq!(
        got.video_size(),
        Some((320, 240)),
        "sequence header came with the keyframe"
    );
    let first = got.video()[0];
    assert!(first.key, "first video packet is a keyframe");
    assert!(
        first.dts > joined.before_join,
        "first keyframe at {} ms predates the join at {} ms: an old GOP was replayed",
        first.dts,
        joined.before_join
    );
    assert_no_video_gap(got);
}
