//! Webhooks with nginx-rtmp's contract, against a small HTTP server in the
//! test: allow, deny before Start with the status ffmpeg prints, rename
//! through 3xx, a timeout denies, done hooks carry their fields, and a
//! hook server that hangs stalls no media.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use common::binary::Binary;
use common::canary::Canary;
use common::*;
use crossbeam_channel::{Receiver, unbounded};
use rustic_rtmp::RtmpSettings;
use rustic_rtmp::{Config, Hooks};

/// One call a hook server got: its path and form fields.
type Call = (String, HashMap<String, String>);

/// How the hook server answers a call: status, `Location`, and a delay.
type Answer = fn(&Call) -> (u16, Option<&'static str>, Duration);

/// A hook server on a free loopback port; every call is also sent on the
/// returned channel.
fn hook_server(answer: Answer) -> (SocketAddr, Receiver<Call>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (calls, received) = unbounded();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { continue };
            let calls = calls.clone();
            std::thread::spawn(move || {
                socket.set_read_timeout(Some(WAIT)).unwrap();
                let mut bytes = Vec::new();
                let mut buf = [0u8; 4096];
                let (head, body) = loop {
                    let n = socket.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    bytes.extend_from_slice(&buf[..n]);
                    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&bytes[..end]).to_string();
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_owned())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if bytes.len() >= end + 4 + len {
                        break (
                            head,
                            String::from_utf8_lossy(&bytes[end + 4..end + 4 + len]).to_string(),
                        );
                    }
                };
                // A GET carries the fields in its query, a POST in its body.
                let target = head.split(' ').nth(1).unwrap_or_default();
                let (path, query) = target.split_once('?').unwrap_or((target, ""));
                let path = path.to_owned();
                let form = if head.starts_with("GET ") {
                    query.to_owned()
                } else {
                    body
                };
                let fields = form
                    .split('&')
                    .filter_map(|pair| pair.split_once('='))
                    .map(|(k, v)| (decode(k), decode(v)))
                    .collect();
                let mut fields: HashMap<String, String> = fields;
                // The method, under a key no form field has.
                let method = head.split(' ').next().unwrap_or_default();
                fields.insert(" method".to_owned(), method.to_owned());
                let call = (path, fields);
                let (status, location, delay) = answer(&call);
                let _ = calls.send(call);
                std::thread::sleep(delay);
                let location = location.map_or(String::new(), |l| format!("Location: {l}\r\n"));
                let _ = write!(
                    socket,
                    "HTTP/1.1 {status} X\r\n{location}Content-Length: 0\r\nConnection: close\r\n\r\n"
                );
            });
        }
    });
    (addr, received)
}

/// `application/x-www-form-urlencoded` decoding.
fn decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn next_call(calls: &Receiver<Call>, path: &str) -> HashMap<String, String> {
    loop {
        let (got, fields) = calls.recv_timeout(WAIT).unwrap_or_else(|_| panic!("a call to {path}"));
        if got == path {
            return fields;
        }
    }
}

fn hooked_server(hook: SocketAddr, timeout: Duration) -> rustic_rtmp::ServerHandle {
    hooked_server_with(hook, timeout, false)
}

fn hooked_server_with(hook: SocketAddr, timeout: Duration, notify_get: bool) -> rustic_rtmp::ServerHandle {
    let url = |path: &str| Some(format!("http://{hook}{path}"));
    start_server_with(Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
        hooks: Hooks {
            on_publish: url("/publish"),
            on_play: url("/play"),
            on_publish_done: url("/publish_done"),
            on_play_done: url("/play_done"),
            on_done: url("/done"),
            notify_get,
            timeout,
            ..Hooks::default()
        },
        ..Config::default()
    })
}

/// Allows everything but `no` (403), renames `alias` to `real` (302), and
/// answers `slow` after 2 s.
fn studio(call: &Call) -> (u16, Option<&'static str>, Duration) {
    let name = call.1.get("name").map(String::as_str).unwrap_or_default();
    match (call.0.as_str(), name) {
        ("/publish", "no") => (403, None, Duration::ZERO),
        ("/publish", "alias") => (302, Some("real"), Duration::ZERO),
        ("/publish", "slow") => (200, None, Duration::from_secs(2)),
        _ => (200, None, Duration::ZERO),
    }
}

#[test]
fn publish_hooks_allow_deny_rename_and_time_out() {
    let (hook, calls) = hook_server(studio);
    let server = hooked_server(hook, Duration::from_millis(700));
    let sample = Sample::AudioVideo.path();

    // Allowed, with every field of nginx-rtmp's contract.
    let name = unique("hooked");
    let mut publisher = publish(&sample, &url(&server, &format!("live/{name}?key=abc")), &[]);
    let fields = next_call(&calls, "/publish");
    for (key, value) in [("call", "publish"), ("app", "live"), ("type", "live"), ("key", "abc")] {
        assert_eq!(fields.get(key).map(String::as_str), Some(value), "{key} in {fields:?}");
    }
    assert_eq!(fields["name"], name);
    assert_eq!(fields["addr"], "127.0.0.1");
    assert!(fields["flashver"].starts_with("FMLE/3.0"), "{fields:?}");
    assert!(fields["tcurl"].ends_with("/live"), "{fields:?}");
    assert!(fields["clientid"].parse::<u64>().is_ok());
    assert_eq!(fields[" method"], "POST");
    for key in ["swfurl", "pageurl"] {
        assert!(fields.contains_key(key), "{key} in {fields:?}");
    }
    assert!(publisher.wait().success());
    let done = next_call(&calls, "/publish_done");
    assert_eq!(
        (done["call"].as_str(), done["name"].as_str()),
        ("publish_done", name.as_str())
    );
    assert_eq!((done["app"].as_str(), done["addr"].as_str()), ("live", "127.0.0.1"));
    assert_eq!(done["clientid"], fields["clientid"]);
    let closed = next_call(&calls, "/done");
    assert_eq!(
        (closed["call"].as_str(), closed["name"].as_str()),
        ("done", name.as_str())
    );
    assert_eq!(closed["clientid"], fields["clientid"]);

    // Denied before Start: ffmpeg prints the status and gives up.
    let out = publish(&sample, &url(&server, "live/no"), &[]).wait_output();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("the publish hook answered 403"),
        "{}",
        stderr(&out)
    );

    // Renamed through 302.
    let mut renamed = publish(&sample, &url(&server, "live/alias"), &[]);
    wait_until("live/real to be published", || {
        stream_stats(&server, "live", "real").is_some_and(|s| s.publishing)
    });
    assert!(renamed.wait().success());

    // A hook slower than the timeout denies.
    let out = publish(&sample, &url(&server, "live/slow"), &[]).wait_output();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("hook did not answer"), "{}", stderr(&out));
}

#[test]
fn a_clients_own_args_never_shadow_the_servers_fields() {
    let (hook, calls) = hook_server(studio);
    let server = Binary::start(&["--on-publish", &format!("http://{hook}/publish")]);
    let name = unique("shadow");
    let url = server.url(&format!("live/{name}?name=evil&call=play&app=other&key=k1"));
    let _publisher = publish(&Sample::LongAudioVideo.path(), &url, &[]);
    let fields = next_call(&calls, "/publish");
    assert_eq!(fields["name"], name, "{fields:?}");
    assert_eq!(fields["call"], "publish", "{fields:?}");
    assert_eq!(fields["app"], "live", "{fields:?}");
    assert_eq!(fields["key"], "k1", "the client's other args still come: {fields:?}");
}

#[test]
fn a_hook_server_that_hangs_stalls_no_media() {
    let hangs: Answer = |_| (200, None, Duration::from_secs(3));
    let (hook, _calls) = hook_server(hangs);
    let server = hooked_server(hook, Duration::from_secs(5));
    // Its own play and publish wait 3 s each on the hook.
    let canary = Canary::start(&server);
    // A play whose decision waits on the hanging hook, and a done hook
    // that hangs on the worker thread: the canary's frames flow on.
    let name = unique("hang");
    let player = std::thread::spawn({
        let url = url(&server, &format!("live/{name}"));
        move || rustic_rtmp::client::Client::play(&url, &rustic_rtmp::client::ClientOptions::default()).is_ok()
    });
    assert!(player.join().unwrap(), "the play was allowed after 3 s");
    canary.finish();
}

#[test]
fn with_notify_method_get_the_fields_are_the_query() {
    let (hook, calls) = hook_server(studio);
    let server = hooked_server_with(hook, Duration::from_secs(5), true);
    let name = unique("get");
    let publisher = rustic_rtmp::client::Client::publish(
        &url(&server, &format!("live/{name}?key=k1")),
        &rustic_rtmp::client::ClientOptions::default(),
    )
    .expect("allowed");
    let fields = next_call(&calls, "/publish");
    assert_eq!(
        (fields["call"].as_str(), fields["name"].as_str()),
        ("publish", name.as_str())
    );
    assert_eq!(fields["key"], "k1");
    assert_eq!(fields[" method"], "GET");
    drop(publisher);
    assert_eq!(next_call(&calls, "/publish_done")["call"], "publish_done");
}

#[test]
fn on_update_is_told_every_interval_and_a_refusal_closes_the_connection() {
    // Updates for `banned` are refused; everything else is allowed.
    let updates: Answer = |call| match (call.0.as_str(), call.1.get("name").map(String::as_str)) {
        ("/update", Some("banned")) => (403, None, Duration::ZERO),
        _ => (200, None, Duration::ZERO),
    };
    let (hook, calls) = hook_server(updates);
    let url_of = |path: &str| Some(format!("http://{hook}{path}"));
    let server_hooks = Hooks {
        on_update: url_of("/update"),
        update_interval: Duration::from_millis(200),
        ..Hooks::default()
    };
    // The `tv` application has hooks of its own: its publishes are asked
    // at /tv_publish, and nothing is told of its updates.
    let tv = rustic_rtmp::App {
        hooks: Hooks {
            on_publish: url_of("/tv_publish"),
            ..Hooks::default()
        },
        ..rustic_rtmp::App::default()
    };
    let server = start_server_with(Config {
        hooks: server_hooks,
        apps: [("tv".to_owned(), tv)].into(),
        ..Config::default()
    });
    let publish = |path: &str| {
        rustic_rtmp::client::Client::publish(&url(&server, path), &rustic_rtmp::client::ClientOptions::default())
            .expect("allowed")
    };
    let _kept = publish("live/kept");
    let _banned = publish("live/banned");
    let _tv = publish("tv/show");
    assert_eq!(next_call(&calls, "/tv_publish")["name"], "show");
    let mut kept_updates = Vec::new();
    while kept_updates.len() < 2 {
        let fields = next_call(&calls, "/update");
        assert_ne!(fields["app"], "tv", "tv has no on_update");
        if fields["name"] == "kept" {
            assert_eq!(fields["call"], "update_publish");
            kept_updates.push(fields["time"].parse::<u64>().unwrap());
        }
    }
    wait_until("banned to be closed", || {
        stream_stats(&server, "live", "banned").is_none_or(|s| !s.publishing)
    });
    assert!(stream_stats(&server, "live", "kept").unwrap().publishing);
    assert!(stream_stats(&server, "tv", "show").unwrap().publishing);
}

#[test]
fn on_record_done_carries_the_recorded_files_path() {
    let (hook, calls) = hook_server(studio);
    let scratch = Scratch::new("record-hook");
    let server = start_server_with(Config {
        record: Some(rustic_rtmp::Record::to(scratch.path("rec"))),
        hooks: Hooks {
            on_record_done: Some(format!("http://{hook}/record_done")),
            ..Hooks::default()
        },
        ..Config::default()
    });
    let name = unique("recorded");
    let mut publisher = rustic_rtmp::client::Client::publish(
        &url(&server, &format!("live/{name}")),
        &rustic_rtmp::client::ClientOptions::default(),
    )
    .expect("allowed");
    publisher.send(&numbered_frame(0, true, 0, 100)).unwrap();
    publisher.send(&numbered_frame(1, false, 40, 100)).unwrap();
    drop(publisher);
    let fields = next_call(&calls, "/record_done");
    assert_eq!(
        (fields["call"].as_str(), fields["app"].as_str()),
        ("record_done", "live")
    );
    assert_eq!(
        (fields["name"].as_str(), fields["addr"].as_str()),
        (name.as_str(), "127.0.0.1")
    );
    let path = std::path::Path::new(&fields["path"]);
    assert!(path.starts_with(scratch.path("rec")) && path.exists(), "{path:?}");
}

#[test]
fn a_3xx_to_an_rtmp_url_pushes_the_publish_there() {
    // The destination comes in the publisher's own args.
    let relay: Answer = |call| match call.1.get("dest") {
        Some(dest) => {
            let location: &'static str = Box::leak(format!("rtmp://{dest}/live/copy").into_boxed_str());
            (302, Some(location), Duration::ZERO)
        }
        None => (200, None, Duration::ZERO),
    };
    let (hook, _calls) = hook_server(relay);
    let destination = start_server();
    let server = hooked_server(hook, Duration::from_secs(5));
    let name = unique("relayed");
    let path = format!("live/{name}?dest={}", destination.local_addr());
    let mut publisher =
        rustic_rtmp::client::Client::publish(&url(&server, &path), &rustic_rtmp::client::ClientOptions::default())
            .expect("a relay allows the publish");
    assert!(
        stream_stats(&server, "live", &name).is_some_and(|s| s.publishing),
        "under its own name here"
    );
    publisher.send(&numbered_frame(0, true, 0, 100)).unwrap();
    wait_until("the copy to be published there", || {
        stream_stats(&destination, "live", "copy").is_some_and(|s| s.publishing)
    });
}
