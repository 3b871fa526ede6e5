//! One timeline for players across publishers: five republishes, a pull
//! failing over to another origin, and a publisher taking over a live
//! stream; ffmpeg players never see timestamps go back.

mod common;

use std::process::{Command, Stdio};

use common::*;
use rustic_rtmp::client::{Client, ClientOptions};
use rustic_rtmp::{Config, ServerHandle};
use rustic_rtmp::{RelaySettings, RtmpSettings};

/// An ffmpeg player copying `url` into `out` at warning level, so that
/// its timestamp complaints show in its stderr.
fn watching_player(url: &str, out: &std::path::Path) -> Proc {
    spawn(
        Command::new("ffmpeg")
            .args([
                "-loglevel",
                "warning",
                "-y",
                "-rw_timeout",
                "4000000",
                "-i",
                url,
                "-c",
                "copy",
                "-f",
                "flv",
            ])
            .arg(out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
}

/// Waits for the player to end; panics if it said timestamps went back.
/// Then decodes what it wrote from end to end.
fn assert_one_timeline(player: Proc, out: &std::path::Path) -> Probe {
    let finished = player.wait_output();
    let said = stderr(&finished);
    assert!(
        !said.to_lowercase().contains("monoton"),
        "the player saw timestamps go back:\n{said}"
    );
    let got = probe(out);
    got.assert_monotonic();
    let decoded = run(Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(out)
        .args(["-f", "null", "-"]));
    assert!(
        decoded.status.success() && stderr(&decoded).is_empty(),
        "{}",
        stderr(&decoded)
    );
    got
}

#[test]
fn five_republishes_make_one_timeline_for_an_ffmpeg_player() {
    let server = start_server();
    let name = unique("again");
    let url = url(&server, &format!("live/{name}"));
    let scratch = Scratch::new("timeline-republish");
    let out = scratch.path("out.flv");
    let player = watching_player(&url, &out);
    wait_for_players(&server, "live", &name, 1);
    let sample = Sample::ShortAudioVideo;
    for _ in 0..5 {
        assert!(publish(&sample.path(), &url, &[]).wait().success());
    }
    let got = assert_one_timeline(player, &out);
    assert_near(
        "video over five publishes",
        got.video().len(),
        5 * probe(&sample.path()).video().len(),
        95,
    );
}

#[test]
fn a_pull_failing_over_keeps_one_timeline() {
    let origins: Vec<ServerHandle> = (0..2).map(|_| start_server()).collect();
    let name = unique("failover");
    let sample = Sample::LongAudioVideo;
    let mut publishers: Vec<Proc> = origins
        .iter()
        .map(|o| publish(&sample.path(), &url(o, &format!("live/{name}")), &[]))
        .collect();
    let edge = start_server_with(Config {
        relay: RelaySettings {
            pull: origins
                .iter()
                .map(|o| format!("rtmp://{}/live", o.local_addr()))
                .collect(),
            ..Default::default()
        },
        ..Config::default()
    });
    let scratch = Scratch::new("timeline-failover");
    let out = scratch.path("out.flv");
    let player = watching_player(&url(&edge, &format!("live/{name}")), &out);
    wait_until("the edge to pull from the first origin", || {
        stream_stats(&origins[0], "live", &name).is_some_and(|s| s.players == 1)
    });
    // Two seconds of video, then the first origin goes away.
    wait_until("2 s at the edge", || {
        stream_stats(&edge, "live", &name).is_some_and(|s| s.last_timestamp.0 >= 2000)
    });
    let mut first = origins.into_iter();
    drop(first.next());
    let second = first.next().unwrap();
    wait_until("the edge to fail over", || {
        stream_stats(&second, "live", &name).is_some_and(|s| s.players == 1)
    });
    for publisher in &mut publishers {
        publisher.wait();
    }
    drop(second);
    let got = assert_one_timeline(player, &out);
    assert!(
        got.video().len() >= 100,
        "{} video frames across the failover",
        got.video().len()
    );
}

#[test]
fn a_publisher_takes_over_a_live_stream_without_dropping_its_players() {
    let server = start_server_with(Config {
        rtmp: RtmpSettings {
            publisher_takeover: true,
            ..Default::default()
        },
        ..Config::default()
    });
    let name = unique("takeover");
    let url = url(&server, &format!("live/{name}"));
    let options = ClientOptions::default();
    let mut player = Client::play(&url, &options).unwrap();
    let mut old = Client::publish(&url, &options).unwrap();
    for n in 0..10 {
        old.send(&numbered_frame(n, n == 0, 5000 + n * 40, 200)).unwrap();
    }
    let mut new = Client::publish(&url, &options).expect("the new publisher takes over");
    for n in 100..110 {
        new.send(&numbered_frame(n, n == 100, (n - 100) * 40, 200)).unwrap();
    }
    let mut got = Vec::new();
    while got.last().map(|(n, _)| *n) != Some(109) {
        let frame = player
            .recv()
            .expect("the player stays")
            .expect("no StreamEOF in a takeover");
        got.push((frame_number(&frame), frame.timestamp.0));
    }
    let numbers: Vec<u32> = got.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, (0..10).chain(100..110).collect::<Vec<_>>());
    assert!(got.windows(2).all(|w| w[0].1 < w[1].1), "timestamps go on: {got:?}");
    // The old publisher was closed.
    let deadline = std::time::Instant::now() + WAIT;
    let mut n = 10;
    while old.send(&numbered_frame(n, false, 5000 + n * 40, 200)).is_ok() {
        assert!(std::time::Instant::now() < deadline, "the old publisher is still open");
        n += 1;
    }
}
