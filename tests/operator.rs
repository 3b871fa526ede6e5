//! What an operator meets, against the real binary: `--version`, a
//! health check and a drain for a load balancer, how long a player of a
//! name nobody publishes waits, and names refused at publish.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::binary::{Binary, program};
use common::http::{self, Response};
use common::*;

fn http_addr(server: &Binary) -> SocketAddr {
    let line = server.wait_for_log("listening for HTTP on");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

fn ask(addr: SocketAddr, method: &str, target: &str) -> Response {
    let request = format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    http::read_to_close(http::send(addr, request.as_bytes()))
}

fn health(addr: SocketAddr) -> (u16, String) {
    let answer = ask(addr, "GET", "/healthz");
    (answer.status, String::from_utf8_lossy(&answer.body).into_owned())
}

#[test]
fn version_is_printed() {
    let out = Command::new(program()).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.trim(), format!("rustic_rtmp {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_drain_keeps_who_is_connected_takes_nobody_new_and_tells_the_load_balancer() {
    let server = Binary::start(&["--http-bind", "127.0.0.1", "--http-port", "0"]);
    let addr = http_addr(&server);
    assert_eq!(health(addr), (200, "ok\n".into()));
    let scratch = Scratch::new("drain");
    let name = unique("drain");
    let url = server.url(&format!("live/{name}"));
    let _publisher = publish(&Sample::LongAudioVideo.path(), &url, &[]);
    server.wait_for_log("publish start");
    let mut player = play(&url, &scratch.path("before.flv"));
    server.wait_for_log("play start");

    assert_eq!(ask(addr, "POST", "/api/v1/drain").status, 200);
    assert_eq!(health(addr), (503, "draining\n".into()));
    // Nobody new: a publisher, an RTMP player, an HTTP player.
    let other = server.url(&format!("live/{}", unique("late")));
    let refused = publish(&Sample::AudioVideo.path(), &other, &["-t", "1"]).wait();
    assert!(!refused.success(), "a new publisher during a drain");
    let mut late_player = play(&url, &scratch.path("late.flv"));
    assert!(!late_player.wait().success(), "a new RTMP player during a drain");
    let flv = ask(addr, "GET", &format!("/live/{name}.flv"));
    assert_eq!(flv.status, 403, "{}", flv.head);
    assert!(String::from_utf8_lossy(&flv.body).contains("draining"));
    // Whoever was connected stays.
    assert!(player.is_running(), "the player connected before the drain");
    let streams = String::from_utf8(ask(addr, "GET", "/api/v1/streams").body).unwrap();
    assert!(streams.contains(&name), "{streams}");

    assert_eq!(ask(addr, "DELETE", "/api/v1/drain").status, 200);
    assert_eq!(health(addr), (200, "ok\n".into()));
    let status = Command::new("kill").args(["-USR1", &server.pid().to_string()]).status();
    assert!(status.unwrap().success());
    wait_until("SIGUSR1 to drain", || health(addr).0 == 503);
    assert!(player.is_running());
}

#[test]
fn wait_for_publisher_seconds_bounds_how_long_a_mistyped_name_waits() {
    let scratch = Scratch::new("wait");
    let at_once = Binary::start(&[
        "--http-bind",
        "127.0.0.1",
        "--http-port",
        "0",
        "--wait-for-publisher-seconds",
        "0",
    ]);
    let addr = http_addr(&at_once);
    let started = Instant::now();
    let flv = ask(addr, "GET", "/live/typo.flv");
    assert_eq!(flv.status, 404, "{}", flv.head);
    let mut rtmp = play(&at_once.url("live/typo"), &scratch.path("typo.flv"));
    assert!(!rtmp.wait().success(), "an RTMP play of nothing is refused");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "answered at once, not after a wait: {:?}",
        started.elapsed()
    );

    let two = Binary::start(&["--wait-for-publisher-seconds", "2"]);
    let started = Instant::now();
    let mut rtmp = play(&two.url("live/typo"), &scratch.path("typo2.flv"));
    two.wait_for_log("nothing was published in time");
    rtmp.wait();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(2), "waited {waited:?}");
    // A name published within the wait plays.
    let name = unique("ontime");
    let plays = two.count_lines("play start");
    let mut player = play(&two.url(&format!("live/{name}")), &scratch.path("ontime.flv"));
    two.wait_for_lines("play start", plays + 1);
    let mut publisher = publish(
        &Sample::AudioVideo.path(),
        &two.url(&format!("live/{name}")),
        &["-t", "3"],
    );
    assert!(publisher.wait().success());
    assert!(player.wait().success());
    assert!(probe(&scratch.path("ontime.flv")).video().len() >= 20);
}

#[test]
fn names_an_exec_hook_or_xml_cannot_carry_are_refused_at_publish() {
    let server = Binary::start(&["--http-bind", "127.0.0.1", "--http-port", "0"]);
    let addr = http_addr(&server);
    for name in ["-rf", "cam\u{FFFE}", "cam\u{FFFF}x"] {
        let refused = publish(
            &Sample::AudioVideo.path(),
            &server.url(&format!("live/{name}")),
            &["-t", "1"],
        )
        .wait();
        assert!(!refused.success(), "{name:?} was published");
    }
    server.wait_for_lines("publish refused", 3);
    server.wait_for_log("starts with '-'");
    server.wait_for_log("U+FFFE");
    server.wait_for_log("U+FFFF");
    let stat = String::from_utf8(ask(addr, "GET", "/stat").body).unwrap();
    assert!(!stat.contains('\u{FFFE}') && !stat.contains('\u{FFFF}'), "{stat}");
    assert_eq!(stat.matches("<stream>").count(), 0, "{stat}");
}

#[test]
fn an_empty_config_file_drops_no_key_and_a_reload_names_the_rules_it_removes() {
    let scratch = Scratch::new("watch");
    let config = scratch.path("rustic_rtmp.toml");
    std::fs::write(&config, "publish_key = \"k1\"\nallow_play = [\"127.0.0.0/8\"]\n").unwrap();
    let server = Binary::start(&["--config", config.to_str().unwrap()]);
    let keyless = || {
        let url = server.url(&format!("live/{}", unique("keyless")));
        publish(&Sample::AudioVideo.path(), &url, &["-t", "1"]).wait().success()
    };
    assert!(!keyless(), "the key is needed");
    // An editor's save caught between the truncation and the write.
    std::fs::write(&config, "").unwrap();
    server.wait_for_log("is empty");
    assert!(!keyless(), "an empty file dropped the key");
    // A file that parses and removes rules is applied, once it is still,
    // and the log names what it removed (never the key itself).
    std::fs::write(&config, "# no keys now\n").unwrap();
    let line = server.wait_for_log("reload removes access rules");
    assert!(
        line.contains("publish_key") && line.contains("allow_play 127.0.0.0/8"),
        "{line}"
    );
    assert!(!line.contains("k1"), "{line}");
    server.wait_for_log("reloaded");
    assert!(keyless(), "the new settings apply");
}
