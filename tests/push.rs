//! Push relays: a stream published here reaches a second rustic_rtmp and
//! nginx-rtmp, where players get it; a destination that goes away costs
//! the other and the local players nothing and is dialled again when it
//! is back, as its status says; destinations added and removed through
//! the API; a destination that cannot be reached is told at warn, without
//! its stream key, the first time and every tenth time after.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::binary::Binary;
use common::*;
use rustic_rtmp::client::{Client, ClientOptions, Player};
use rustic_rtmp::media::{Frame, StreamKey};
use rustic_rtmp::{Config, PushStats, ServerHandle};
use rustic_rtmp::{RelaySettings, RtmpSettings};

fn server_at(addr: SocketAddr) -> ServerHandle {
    start_server_with(Config {
        rtmp: RtmpSettings {
            bind: addr,
            ..Default::default()
        },
        ..Config::default()
    })
}

/// The push relays of the stream `name`.
fn pushes_of(server: &ServerHandle, name: &str) -> Vec<PushStats> {
    server.pushes().into_iter().filter(|p| p.key.name == name).collect()
}

/// Frame numbers a player receives until `last`, within `WAIT`.
fn numbers_until(player: &mut Player, last: u32) -> Vec<u32> {
    let deadline = Instant::now() + WAIT;
    let mut got = Vec::new();
    while got.last() != Some(&last) {
        assert!(Instant::now() < deadline, "frames until {last}; got {got:?}");
        match player.recv() {
            Ok(Some(frame)) => got.push(frame_number(&frame)),
            other => panic!("frames until {last}; got {got:?} then {other:?}"),
        }
    }
    got
}

fn frame(n: u32) -> Frame {
    numbered_frame(n, n.is_multiple_of(10), n * 40, 500)
}

#[test]
fn a_stream_is_pushed_to_another_rustic_rtmp_and_to_nginx_rtmp() {
    let scratch = Scratch::new("push-two");
    let nginx = nginx::start(&scratch, "    application live { live on; }");
    let second = start_server();
    let first = start_server_with(Config {
        relay: RelaySettings {
            push: vec![
                format!("rtmp://{}/live", second.local_addr()),
                format!("rtmp://{}/live/{{name}}", nginx.addr),
            ],
            ..Default::default()
        },
        ..Config::default()
    });
    let name = unique("pushed");
    let at_second = scratch.path("second.flv");
    let at_nginx = scratch.path("nginx.flv");
    let mut second_player = play(&url(&second, &format!("live/{name}")), &at_second);
    wait_for_players(&second, "live", &name, 1);
    let sample = Sample::AudioVideo;
    let mut publisher = publish(&sample.path(), &url(&first, &format!("live/{name}")), &[]);
    wait_until("both pushes connected", || {
        let pushes = pushes_of(&first, &name);
        pushes.len() == 2 && pushes.iter().all(|p| p.connected)
    });
    // nginx-rtmp has the stream once the push is connected.
    let mut nginx_player = play(&format!("rtmp://{}/live/{name}", nginx.addr), &at_nginx);
    assert!(publisher.wait().success());
    assert!(second_player.wait().success());
    nginx_player.wait();
    let sent = probe(&sample.path()).video().len();
    let got = probe(&at_second);
    assert_eq!(got.video_size(), Some((320, 240)));
    assert_near("video frames at the second server", got.video().len(), sent, 95);
    assert!(!probe(&at_nginx).video().is_empty(), "nginx-rtmp's player got video");
    let shown = &pushes_of(&first, &name);
    assert!(shown.is_empty(), "the relays end with the publish: {shown:?}");
}

#[test]
fn a_lost_destination_costs_the_others_nothing_and_is_dialled_again() {
    let port = |s: &ServerHandle| s.local_addr();
    let steady = start_server();
    let flaky_addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let mut flaky = server_at(flaky_addr);
    let origin = start_server_with(Config {
        relay: RelaySettings {
            push: vec![
                format!("rtmp://{}/live", port(&steady)),
                format!("rtmp://{flaky_addr}/live"),
            ],
            ..Default::default()
        },
        ..Config::default()
    });
    let name = unique("flaky");
    let key = StreamKey::new("live", name.clone());
    let options = ClientOptions::default();
    let stream_url = |s: &ServerHandle| url(s, &format!("live/{name}"));
    let mut local = Client::play(&stream_url(&origin), &options).unwrap();
    let mut downstream = Client::play(&stream_url(&steady), &options).unwrap();
    wait_for_players(&steady, "live", &name, 1);
    let publisher = origin.publish(&key).unwrap();
    wait_until("both pushes connected", || {
        let pushes = pushes_of(&origin, &name);
        pushes.len() == 2 && pushes.iter().all(|p| p.connected)
    });
    for n in 0..100 {
        publisher.send(frame(n)).unwrap();
    }
    // One destination goes away mid-stream.
    flaky.shutdown();
    for n in 100..200 {
        publisher.send(frame(n)).unwrap();
        std::thread::sleep(Duration::from_millis(2)); // a paced publisher
    }
    let everything: Vec<u32> = (0..200).collect();
    assert_eq!(numbers_until(&mut local, 199), everything, "the local player");
    assert_eq!(numbers_until(&mut downstream, 199), everything, "the other destination");
    wait_until("the loss to show", || {
        pushes_of(&origin, &name)
            .iter()
            .any(|p| !p.connected && p.reconnects >= 1 && p.last_error.is_some())
    });
    // Back on the same address: dialled again within the backoff.
    let back = server_at(flaky_addr);
    wait_until("the push to reconnect", || {
        pushes_of(&origin, &name).iter().all(|p| p.connected)
    });
    let mut late = Client::play(&stream_url(&back), &options).unwrap();
    for n in 200..260 {
        publisher.send(frame(n)).unwrap();
    }
    let got = numbers_until(&mut late, 259);
    assert!(got[0].is_multiple_of(10), "from a keyframe: {got:?}");
}

#[test]
fn destinations_are_added_and_removed_through_the_api() {
    let destination = start_server();
    let origin = http::server(Config::default());
    let name = unique("api-push");
    let key = StreamKey::new("live", name.clone());
    let publisher = origin.publish(&key).unwrap();
    publisher.send(frame(0)).unwrap();
    let id = stream_stats(&origin, "live", &name).unwrap().id;
    let target = format!("rtmp://{}/live/copy-{name}", destination.local_addr());
    let encoded: String = target.replace(':', "%3A").replace('/', "%2F");
    let path = format!("/api/v1/streams/{id}/push?url={encoded}");
    let added = http::call(origin.http_addr().unwrap(), "POST", &path, "");
    assert_eq!(added.status, 200, "{}", String::from_utf8_lossy(&added.body));
    let copy = format!("copy-{name}");
    wait_until("the copy to be published", || {
        stream_stats(&destination, "live", &copy).is_some_and(|s| s.publishing)
    });
    let stream = http::call(origin.http_addr().unwrap(), "GET", &format!("/api/v1/streams/{id}"), "");
    let json: serde_json::Value = serde_json::from_slice(&stream.body).unwrap();
    let push = &json["stream"]["push"][0];
    assert_eq!(
        push["destination"],
        format!("rtmp://{}/live", destination.local_addr()),
        "no key shown"
    );
    assert_eq!(push["connected"], true);
    let removed = http::call(origin.http_addr().unwrap(), "DELETE", &path, "");
    assert_eq!(removed.status, 200);
    wait_until("the copy to end", || {
        stream_stats(&destination, "live", &copy).is_none_or(|s| !s.publishing)
    });
    assert!(pushes_of(&origin, &name).is_empty());
    let again = http::call(origin.http_addr().unwrap(), "DELETE", &path, "");
    assert_eq!(again.status, 404);
}

#[test]
fn a_reload_changes_where_live_streams_are_pushed() {
    let (before, after) = (start_server(), start_server());
    let push_to = |s: &ServerHandle| Config {
        relay: RelaySettings {
            push: vec![format!("rtmp://{}/live", s.local_addr())],
            ..Default::default()
        },
        ..Config::default()
    };
    let origin = start_server_with(push_to(&before));
    let name = unique("reloaded");
    let key = StreamKey::new("live", name.clone());
    let publisher = origin.publish(&key).unwrap();
    publisher.send(frame(0)).unwrap();
    let live_at = |s: &ServerHandle| stream_stats(s, "live", &name).is_some_and(|s| s.publishing);
    wait_until("the first destination", || live_at(&before));
    let mut reloaded = push_to(&after);
    reloaded.rtmp.bind = origin.local_addr();
    origin.reload(reloaded).expect("a valid config");
    wait_until("the push to move", || live_at(&after) && !live_at(&before));
    // One added through the API stays through a reload.
    assert!(origin.add_push(&key, &format!("rtmp://{}/live/copy", before.local_addr())));
    origin
        .reload(Config {
            rtmp: RtmpSettings {
                bind: origin.local_addr(),
                ..Default::default()
            },
            ..Config::default()
        })
        .expect("a valid config");
    wait_until("the configured push to stop", || !live_at(&after));
    assert!(
        stream_stats(&before, "live", "copy").is_some_and(|s| s.publishing),
        "the API's stays"
    );
}

#[test]
fn a_pushed_stream_is_not_pushed_back_to_where_it_came_from() {
    // Two servers that push to each other: A's publish reaches B, and B
    // does not send it back to A (a third server, C, still gets it).
    let a_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let c = start_server();
    let b = start_server_with(Config {
        relay: RelaySettings {
            push: vec![
                format!("rtmp://{a_addr}/live"),
                format!("rtmp://{}/live", c.local_addr()),
            ],
            ..Default::default()
        },
        ..Config::default()
    });
    let a = start_server_with(Config {
        rtmp: RtmpSettings {
            bind: a_addr,
            ..Default::default()
        },
        relay: RelaySettings {
            push: vec![format!("rtmp://{}/live", b.local_addr())],
            ..Default::default()
        },
        ..Config::default()
    });
    let name = unique("looped");
    let publisher = a.publish(&StreamKey::new("live", name.clone())).unwrap();
    publisher.send(frame(0)).unwrap();
    wait_until("the stream at C through B", || {
        stream_stats(&c, "live", &name).is_some_and(|s| s.publishing)
    });
    let back: Vec<PushStats> = pushes_of(&b, &name);
    assert_eq!(back.len(), 1, "B pushes to C only: {back:?}");
    assert!(back[0].destination.contains(&c.local_addr().to_string()));
}

/// `rustic_rtmp_push_reconnects_total` of the one push relay, from the
/// binary's `/metrics` at `http`.
fn push_failures(http: SocketAddr) -> f64 {
    let metrics = http::call(http, "GET", "/metrics", "");
    let text = String::from_utf8(metrics.body).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("rustic_rtmp_push_reconnects_total{"))
        .unwrap_or_else(|| panic!("no push series in {text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn an_unreachable_destination_is_told_at_warn_without_its_key_and_not_each_time() {
    // A loopback port nobody listens on: every connect is refused.
    let nowhere = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let key = "SECRET-stream-key-4242";
    let push = format!("rtmp://{nowhere}/live2/{key}");
    let args = ["--http-bind", "127.0.0.1", "--http-port", "0", "--push", &push];
    let server = Binary::start(&args);
    let http: SocketAddr = (server.wait_for_log("listening for HTTP on").rsplit(' '))
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let _publisher = spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re", "-stream_loop", "-1", "-i"])
            .arg(Sample::AudioVideo.path())
            .args(["-c", "copy", "-f", "flv", &server.url("live/cam")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    let line = server.wait_for_log("failed (1 failure)");
    assert!(line.contains("WARN"), "told at warn: {line}");
    assert!(
        line.contains(&format!("rtmp://{nowhere}/live2")),
        "names the destination: {line}"
    );
    assert!(line.contains("next try in"), "says when it tries again: {line}");
    // Four failures in a row (1 + 2 + 4 s of pauses): still one line.
    wait_until("four failed connects", || push_failures(http) >= 4.0);
    let lines = server.log_lines();
    let about: Vec<&String> = lines.iter().filter(|l| l.contains(&nowhere.to_string())).collect();
    assert_eq!(about.len(), 1, "one line for the first failure only: {about:#?}");
    let leaked: Vec<&String> = lines.iter().filter(|l| l.contains(key)).collect();
    assert!(leaked.is_empty(), "the stream key in the log: {leaked:#?}");
}

#[test]
fn a_push_loop_between_two_servers_is_refused_where_it_closes() {
    let scratch = Scratch::new("push-loop");
    let config = scratch.path("a.toml");
    std::fs::write(&config, "# pushes come once b listens\n").unwrap();
    let a = Binary::start(&["--config", config.to_str().unwrap()]);
    // b pushes back to a under a name a does not see as its own address,
    // so comparing hosts cannot tell; the relays' trail can.
    let back = format!("rtmp://localhost:{}/again", a.addr.port());
    let b = Binary::start(&["--push", &back]);
    std::fs::write(
        &config,
        format!("push = [\"rtmp://127.0.0.1:{}/relay\"]\n", b.addr.port()),
    )
    .unwrap();
    a.wait_for_log("reloaded");
    let name = unique("looped");
    let _publisher = publish(&Sample::LongAudioVideo.path(), &a.url(&format!("live/{name}")), &[]);
    b.wait_for_log("publish start app=relay");
    let refused = a.wait_for_log("a push loop");
    assert!(refused.contains("app=again"), "{refused}");
    assert_eq!(
        a.count_lines("publish start app=again"),
        0,
        "the looped stream came back in"
    );
}
