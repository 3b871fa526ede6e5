//! Exec hooks: the transcode nginx-rtmp users write (`exec_publish` with
//! ffmpeg re-encoding `live/$name` into `low/$name`) makes a playable
//! stream; the child dies within 2 s of its publisher; a command that
//! exits is started again, less and less often; `exec_play` and
//! `exec_play_done` run once per play; a server stopped by SIGTERM stops
//! its `exec_publish` commands before it exits.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::binary::Binary;
use common::*;
use rustic_rtmp::RtmpSettings;
use rustic_rtmp::{Config, Hooks, ServerHandle};

/// A server on a port picked first, so commands can name it.
fn server_running(exec_publish: Vec<Vec<String>>) -> ServerHandle {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    start_server_with(Config {
        rtmp: RtmpSettings {
            bind: format!("127.0.0.1:{port}").parse().unwrap(),
            ..Default::default()
        },
        hooks: Hooks {
            exec_publish,
            ..Hooks::default()
        },
        ..Config::default()
    })
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn exec_publish_transcodes_into_a_playable_stream_and_dies_with_its_publisher() {
    // The port is known only once the server runs: bind, then start the
    // real server with the command naming that port.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let source = format!("rtmp://127.0.0.1:{port}/live/$name");
    let target = format!("rtmp://127.0.0.1:{port}/low/$name");
    let transcode = argv(&[
        "ffmpeg",
        "-nostdin",
        "-loglevel",
        "error",
        "-i",
        &source,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-b:v",
        "500k",
        "-c:a",
        "copy",
        "-f",
        "flv",
        &target,
    ]);
    let server = start_server_with(Config {
        rtmp: RtmpSettings {
            bind: format!("127.0.0.1:{port}").parse().unwrap(),
            ..Default::default()
        },
        hooks: Hooks {
            exec_publish: vec![transcode],
            ..Hooks::default()
        },
        ..Config::default()
    });
    let scratch = Scratch::new("exec");
    let name = unique("exec");
    // A long clip looped: the publisher is killed by the test.
    let mut publisher = spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re", "-stream_loop", "-1", "-i"])
            .arg(Sample::AudioVideo.path())
            .args(["-c", "copy", "-f", "flv", &url(&server, &format!("live/{name}"))])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    wait_until("low/NAME to be published by the child", || {
        stream_stats(&server, "low", &name).is_some_and(|s| s.publishing && s.frames > 50)
    });
    let out = scratch.path("low.flv");
    let mut player = play_with(&url(&server, &format!("low/{name}")), &out, &["-t", "2"]);
    assert!(player.wait().success());
    let got = probe(&out);
    assert_eq!(got.codecs(), vec!["aac", "h264"]);
    assert!(
        got.video().len() >= 25,
        "{} video packets of the transcode",
        got.video().len()
    );

    kill_by_pid(publisher.id());
    publisher.wait();
    let killed_at = Instant::now();
    wait_until("the child to stop publishing", || {
        stream_stats(&server, "low", &name).is_none_or(|s| !s.publishing)
    });
    let took = killed_at.elapsed();
    assert!(
        took < Duration::from_secs(2) + Duration::from_millis(500),
        "the child went on for {took:?}"
    );
}

fn kill_by_pid(pid: u32) {
    let status = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_command_that_exits_is_started_again_with_a_growing_pause() {
    let scratch = Scratch::new("restart");
    let log = scratch.path("starts.log");
    let record = format!("echo $name >> {}", log.display());
    let server = server_running(vec![argv(&["sh", "-c", &record])]);
    let name = unique("restart");
    let publisher = rustic_rtmp::client::Client::publish(
        &url(&server, &format!("live/{name}")),
        &rustic_rtmp::client::ClientOptions::default(),
    )
    .unwrap();
    let starts = || std::fs::read_to_string(&log).map_or(0, |t| t.lines().count());
    // Started at once, again after 1 s, then after 2 s more.
    wait_until("three starts", || starts() >= 3);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.lines().all(|l| l == name), "$name was replaced: {text}");
    let at_three = Instant::now();
    wait_until("a fourth start", || starts() >= 4);
    assert!(
        at_three.elapsed() >= Duration::from_millis(3000),
        "the pause grew to 4 s: {:?}",
        at_three.elapsed()
    );
    drop(publisher);
}

#[test]
fn exec_play_and_exec_play_done_run_once_per_play() {
    let scratch = Scratch::new("exec-play");
    let log = scratch.path("plays.log");
    let record = |what: &str| argv(&["sh", "-c", &format!("echo {what} $app $name >> {}", log.display())]);
    let server = start_server_with(Config {
        hooks: Hooks {
            exec_play: vec![record("play")],
            exec_play_done: vec![record("done")],
            ..Hooks::default()
        },
        ..Config::default()
    });
    let name = unique("watched");
    let player = rustic_rtmp::client::Client::play(
        &url(&server, &format!("live/{name}")),
        &rustic_rtmp::client::ClientOptions::default(),
    )
    .unwrap();
    let lines = || std::fs::read_to_string(&log).unwrap_or_default();
    wait_until("exec_play", || lines().contains("play"));
    drop(player);
    wait_until("exec_play_done", || lines().contains("done"));
    assert_eq!(lines(), format!("play live {name}\ndone live {name}\n"));
}

#[test]
fn sigterm_stops_exec_publish_commands_before_the_server_exits() {
    let mut server = Binary::start(&["--exec-publish", "sleep 600"]);
    let name = unique("stopping");
    let _publisher = publish(
        &Sample::LongAudioVideo.path(),
        &server.url(&format!("live/{name}")),
        &[],
    );
    let started = server.wait_for_log("exec sleep started, pid ");
    let pid = started.rsplit(' ').next().unwrap().to_owned();
    server.signal("TERM");
    assert!(server.wait().success(), "exit status after SIGTERM");
    // Reaped by the server before it exited, so gone, not a zombie.
    server.wait_for_log(&format!("exec pid {pid} stopped"));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "sleep (pid {pid}) outlived the server"
    );
}

#[test]
fn a_command_that_fails_at_once_says_why_and_play_commands_are_capped() {
    let scratch = Scratch::new("exec-fails");
    let config = scratch.path("rustic_rtmp.toml");
    std::fs::write(
        &config,
        "[app.live]\n\
         exec_publish = [[\"sh\", \"-c\", \"echo cannot open rtmp://127.0.0.1:$port/live/$name >&2; exit 3\"]]\n\
         exec_play = [[\"sleep\", \"60\"]]\n",
    )
    .unwrap();
    let server = Binary::start(&["--config", config.to_str().unwrap()]);
    let name = unique("fails");
    let _publisher = publish(
        &Sample::LongAudioVideo.path(),
        &server.url(&format!("live/{name}")),
        &[],
    );
    let line = server.wait_for_log("exited early");
    let port = server.addr.port();
    assert!(
        line.contains("WARN") && line.contains(&format!("cannot open rtmp://127.0.0.1:{port}/live/{name}")),
        "the first line, with $port and $name replaced: {line}"
    );
    // 70 plays, each starting a `sleep 60`: 64 run, the rest are left out.
    let players: Vec<common::rtmp::RawClient> = (0..70)
        .map(|_| {
            let mut player = common::rtmp::RawClient::handshake(server.addr);
            player.connect("live");
            player.play(&name);
            player
        })
        .collect();
    server.wait_for_lines("exec of a play left out", 6);
    let threads_children: usize = std::fs::read_dir(format!("/proc/{}/task", server.pid()))
        .unwrap()
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .map(|c| c.split_whitespace().count())
        .sum();
    assert!(threads_children <= 64 + 1, "{threads_children} children running");
    assert_eq!(server.count_lines("exec sleep started"), 64);
    drop(players);
}
