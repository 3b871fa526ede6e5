//! The `rustic_rtmp` binary: flags, logging, clean exit on signals.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::media::hls::Timing;
use rustic_rtmp::{HlsSettings, RelaySettings, RtmpSettings};

/// Starts the binary with `args`, waits for its "listening on" line and
/// returns the process, the address and a channel of later log lines.
fn start(args: &[&str]) -> (Proc, std::net::SocketAddr, mpsc::Receiver<String>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rustic_rtmp"));
    cmd.args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut proc = spawn(&mut cmd);
    let stderr = proc.take_stderr();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(WAIT).expect("the server logs its address");
    let addr = line
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no address in {line:?}"));
    assert!(line.contains("listening on"), "{line}");
    (proc, addr, rx)
}

fn signal(proc: &Proc, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &proc.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn logged(rx: &mpsc::Receiver<String>, needle: &str) -> String {
    loop {
        let line = rx
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no log line with {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    }
}

#[test]
fn sigterm_stops_the_server_with_exit_code_zero() {
    let (mut proc, addr, logs) = start(&["--bind", "127.0.0.1", "--port", "0", "--no-http", "--no-srt"]);
    let mut client = RawClient::handshake(addr);
    logged(&logs, "opened");
    client.connect("live");
    let name = unique("cli");
    assert_eq!(client.publish(&name), "NetStream.Publish.Start");
    let line = logged(&logs, "publish start");
    assert!(
        line.contains("app=live") && !line.contains(&name),
        "stream keys stay out of info logs: {line}"
    );
    signal(&proc, "TERM");
    assert!(proc.wait().success(), "exit status after SIGTERM");
    assert!(client.closed_by_server());
}

#[test]
fn sigint_stops_it_too_and_ipv6_bind_works() {
    let (mut proc, addr, _logs) = start(&[
        "--bind",
        "::1",
        "--port",
        "0",
        "--chunk-size",
        "60000",
        "--no-gop-cache",
        "--no-http",
        "--no-srt",
    ]);
    assert!(addr.is_ipv6());
    RawClient::handshake(addr).connect("live");
    signal(&proc, "INT");
    assert!(proc.wait().success());
}

#[test]
fn a_bad_flag_value_is_refused() {
    let out = run(Command::new(env!("CARGO_BIN_EXE_rustic_rtmp")).args(["--bind", "nowhere", "--port", "0"]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--bind \"nowhere\" is not an IP address"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_taken_default_http_port_is_skipped_with_a_warning_but_a_given_one_is_an_error() {
    // Held here unless another program holds it already: taken either way.
    // The other tests here run with --no-http and --no-srt.
    let _held = std::net::TcpListener::bind("127.0.0.1:8080");
    let _held_srt = std::net::UdpSocket::bind("127.0.0.1:8890");
    let (mut proc, addr, logs) = start(&["--bind", "127.0.0.1", "--port", "0"]);
    let line = logged(&logs, "running without SRT");
    assert!(line.contains("127.0.0.1:8890"), "{line}");
    let line = logged(&logs, "running without HTTP");
    assert!(line.contains("127.0.0.1:8080"), "{line}");
    RawClient::handshake(addr).connect("live");
    signal(&proc, "TERM");
    assert!(proc.wait().success());
    let out = run(Command::new(env!("CARGO_BIN_EXE_rustic_rtmp")).args([
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        "--http-port",
        "8080",
    ]));
    assert!(!out.status.success(), "a port asked for must be bound");
    assert!(
        stderr(&out).contains("cannot listen on 127.0.0.1:8080"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_config_file_sets_what_flags_do_not_and_a_bad_one_stops_the_start() {
    let scratch = Scratch::new("config");
    let file = scratch.path("rustic.toml");
    std::fs::write(
        &file,
        "# a comment\nbind = \"127.0.0.2\"\nport = 0\nno_http = true\nmax_connections = 5\n\
         exec_publish = [[\"echo\", \"$name\"]]\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    // The flag's bind wins over the file's; the file's port and no_http hold.
    let (mut proc, addr, logs) = start(&["--config", config, "--bind", "127.0.0.1"]);
    assert_eq!(addr.ip().to_string(), "127.0.0.1");
    assert_ne!(addr.port(), 0);
    RawClient::handshake(addr).connect("live");
    // Every line up to the connection's: none says HTTP is listening.
    loop {
        let line = logs.recv_timeout(WAIT).expect("the connection is logged");
        assert!(!line.contains("listening for HTTP"), "no_http from the file: {line}");
        if line.contains("opened") {
            break;
        }
    }
    signal(&proc, "TERM");
    assert!(proc.wait().success());

    let check = run(Command::new(env!("CARGO_BIN_EXE_rustic_rtmp")).args(["--check-config", config]));
    assert!(check.status.success(), "{}", stderr(&check));

    std::fs::write(&file, "port = 0\nmax_conections = 5\n").unwrap();
    for args in [["--check-config", config], ["--config", config]] {
        let out = run(Command::new(env!("CARGO_BIN_EXE_rustic_rtmp")).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let text = stderr(&out);
        assert!(text.contains("max_conections") && text.contains("line 2"), "{text}");
    }
}

/// `--check-config FILE`'s exit code and what it printed.
fn check(file: &std::path::Path) -> (Option<i32>, String) {
    let out = run(Command::new(env!("CARGO_BIN_EXE_rustic_rtmp"))
        .arg("--check-config")
        .arg(file));
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    (out.status.code(), printed)
}

#[test]
fn the_readme_config_example_checks_out_and_starts() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let example = readme
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a toml example in the README");
    // The files the example names, here instead of under /etc.
    let scratch = Scratch::new("readme-config");
    let here = scratch.path("etc");
    let example = example.replace("/etc/rustic_rtmp", here.to_str().unwrap());
    let file = scratch.path("example.toml");
    std::fs::write(&file, &example).unwrap();
    let key_line = example
        .lines()
        .position(|line| line.starts_with("publish_key_file"))
        .unwrap()
        + 1;
    let (code, printed) = check(&file);
    assert_eq!(code, Some(2), "the key files are missing: {printed}");
    assert!(
        printed.contains(&format!("{}:{key_line}: publish_key_file", file.display())),
        "{printed}"
    );

    std::fs::create_dir_all(&here).unwrap();
    for name in ["publish.key", "api.token", "studio.key"] {
        std::fs::write(here.join(name), "secret\n").unwrap();
    }
    let (code, printed) = check(&file);
    assert_eq!(code, Some(0), "{printed}");
    // What checks out starts (addresses of the test's own).
    let (mut proc, addr, _logs) = start(&[
        "--config",
        file.to_str().unwrap(),
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        "--http-port",
        "0",
    ]);
    RawClient::handshake(addr).connect("live");
    signal(&proc, "TERM");
    assert!(proc.wait().success());
}

#[test]
fn check_config_refuses_values_the_server_cannot_use_naming_file_line_and_key() {
    let scratch = Scratch::new("check-values");
    let file = scratch.path("rustic.toml");
    let missing = scratch.path("missing");
    let missing = missing.to_str().unwrap();
    // Each: the file, the key named, its line.
    let cases = [
        (
            "port = 0\nallow_publish = [\"10.0.0.0/33\"]\n".to_owned(),
            "allow_publish",
            2,
        ),
        ("hls_variant = \"ts\"\n".into(), "hls_variant", 1),
        (
            "record_dir = \"/tmp\"\nrecord_format = \"avi\"\n".into(),
            "record_format",
            2,
        ),
        ("record_dir = \"/tmp\"\nrecord = \"both\"\n".into(), "record", 2),
        ("notify_method = \"put\"\n".into(), "notify_method", 1),
        ("\ntls_port = 1936\n".into(), "tls_port", 2),
        (format!("publish_key_file = \"{missing}\"\n"), "publish_key_file", 1),
        (format!("publish_keys_file = \"{missing}\"\n"), "publish_keys_file", 1),
        (format!("api_token_file = \"{missing}\"\n"), "api_token_file", 1),
        (format!("users = \"{missing}\"\n"), "users", 1),
        ("push = [\"htp://x\"]\n".into(), "push", 1),
        ("pull = [\"rtmp://\"]\n".into(), "pull", 1),
        ("pull_static = [\"rtmp://camera/door\"]\n".into(), "pull_static", 1),
        ("on_publish = \"https://hooks.example/p\"\n".into(), "on_publish", 1),
        ("on_done = \"localhost:9000/done\"\n".into(), "on_done", 1),
        (
            "hls_segment_seconds = 0.5\nhls_part_ms = 500\n".into(),
            "hls_part_ms",
            2,
        ),
        ("hls_segment_seconds = 0.15\n".into(), "hls_segment_seconds", 1),
        ("hls_segment_seconds = 90\n".into(), "hls_segment_seconds", 1),
        ("hls_segment_count = 1\n".into(), "hls_segment_count", 1),
        ("chunk_size = 0\n".into(), "chunk_size", 1),
        // Refused, no longer raised to 1 ms.
        ("notify_update_interval_ms = 0\n".into(), "notify_update_interval_ms", 1),
        ("exec_play = [[]]\n".into(), "exec_play", 1),
        (
            "[app.tv]\n\npush = [\"rtmp://tv.example/live/SECRET\", \"htp://x/live/KEY\"]\n".into(),
            "[app.tv] push",
            3,
        ),
        ("[app.tv]\nrecord = \"video\"\n".into(), "[app.tv] record", 2),
        ("srt_passphrase = \"too short\"\n".into(), "srt_passphrase", 1),
        ("[app.tv]\nsrt_passphrase = \"\"\n".into(), "[app.tv] srt_passphrase", 2),
    ];
    for (text, key, line) in cases {
        std::fs::write(&file, &text).unwrap();
        let (code, printed) = check(&file);
        assert_eq!(code, Some(2), "{text:?} is refused: {printed}");
        let at = format!("{}:{line}: {key}", file.display());
        assert!(printed.contains(&at), "{text:?}: {at:?} not in {printed:?}");
        assert!(
            !printed.contains("SECRET") && !printed.contains("KEY"),
            "stream keys stay out: {printed}"
        );
    }
    // The start refuses the same, with the same words.
    std::fs::write(&file, "push = [\"htp://x/live/KEY\"]\n").unwrap();
    let out = run(Command::new(env!("CARGO_BIN_EXE_rustic_rtmp")).args(["--config", file.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(text.contains(&format!("{}:1: push", file.display())), "{text}");
    assert!(!text.contains("KEY"), "{text}");
    // A flag is named as a flag, even with a file.
    std::fs::write(&file, "hls_variant = \"fmp4\"\n").unwrap();
    let out = run(Command::new(env!("CARGO_BIN_EXE_rustic_rtmp")).args([
        "--config",
        file.to_str().unwrap(),
        "--hls-variant",
        "ts",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--hls-variant \"ts\" is neither"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_exec_key_with_one_command_as_an_array_of_words_runs_it() {
    let scratch = Scratch::new("exec-one");
    let file = scratch.path("rustic.toml");
    let marker = scratch.path("published");
    // One command, as people write it; `$name` is replaced by the server.
    let text = format!(
        "no_http = true\nexec_publish = [\"sh\", \"-c\", \"echo $name > {}; exec sleep 30\"]\n",
        marker.display()
    );
    std::fs::write(&file, text).unwrap();
    let (code, printed) = check(&file);
    assert_eq!(code, Some(0), "{printed}");
    let (mut proc, addr, _logs) = start(&["--config", file.to_str().unwrap(), "--bind", "127.0.0.1", "--port", "0"]);
    let name = unique("exec");
    let mut client = RawClient::handshake(addr);
    client.connect("live");
    assert_eq!(client.publish(&name), "NetStream.Publish.Start");
    wait_until("the command ran", || {
        std::fs::read_to_string(&marker).is_ok_and(|text| text.trim() == name)
    });
    signal(&proc, "TERM");
    assert!(proc.wait().success());
}

/// The checks are the library's: a program embedding the server gets
/// them from `Server::start`, with the field named.
#[test]
fn an_embedders_bad_config_is_refused_at_start_naming_the_field() {
    use rustic_rtmp::{Config, ConfigProblem, Error, Server};
    let config = Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
        relay: RelaySettings {
            push: vec!["htp://x/live/KEY".into()],
            ..Default::default()
        },
        ..Config::default()
    };
    match Server::start(config) {
        Err(Error::Config(e)) => {
            assert_eq!((e.field, e.app.as_deref()), ("relay.push", None));
            assert!(matches!(e.problem, ConfigProblem::NotRtmpUrl), "{e}");
            assert!(!e.to_string().contains("KEY"), "{e}");
        }
        other => panic!("started or failed otherwise: {:?}", other.err()),
    }
    let mut config = Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
        hls: HlsSettings {
            timing: Timing {
                part: std::time::Duration::from_secs(2),
                ..Default::default()
            },
            ..Default::default()
        },
        ..Config::default()
    };
    config.apps.insert("tv".into(), rustic_rtmp::App::default());
    match Server::start(config) {
        Err(Error::Config(e)) => assert_eq!(e.to_string(), "hls.timing.part 2s: not below hls.timing.segment 1s"),
        other => panic!("started or failed otherwise: {:?}", other.err()),
    }
}

#[test]
fn sighup_reads_the_config_file_again_for_new_connections_only() {
    use rustic_rtmp::client::{Client, ClientOptions};
    let scratch = Scratch::new("reload");
    let file = scratch.path("rustic.toml");
    std::fs::write(&file, "publish_key = \"one\"\nno_http = true\n").unwrap();
    // Only the signal reads it again here (the next test watches it).
    let args = [
        "--config",
        file.to_str().unwrap(),
        "--no-config-watch",
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
    ];
    let (mut proc, addr, logs) = start(&args);
    let publish = |name: &str, key: &str| {
        Client::publish(
            &format!("rtmp://{addr}/live/{name}?key={key}"),
            &ClientOptions::default(),
        )
    };
    let mut first = publish("first", "one").expect("the key of the start");

    std::fs::write(&file, "publish_key = \"two\"\nno_http = true\n").unwrap();
    signal(&proc, "HUP");
    logged(&logs, "reloaded");
    assert!(
        publish("second", "one").is_err(),
        "the old key no longer admits new publishers"
    );
    let _third = publish("third", "two").expect("the new key admits them");
    first
        .send(&numbered_frame(0, true, 0, 100))
        .expect("a publisher from before the reload stays");

    std::fs::write(&file, "publish_key = \n").unwrap();
    signal(&proc, "HUP");
    let refused = logged(&logs, "reload refused");
    assert!(refused.contains("publish_key"), "{refused}");
    let _fourth = publish("fourth", "two").expect("the settings in force stayed");
    first
        .send(&numbered_frame(1, false, 40, 100))
        .expect("still publishing");
    signal(&proc, "TERM");
    assert!(proc.wait().success());
}

#[test]
fn a_changed_config_file_is_read_again_without_a_signal() {
    use rustic_rtmp::client::{Client, ClientOptions};
    let scratch = Scratch::new("watch");
    let file = scratch.path("rustic.toml");
    std::fs::write(&file, "publish_key = \"one\"\nno_http = true\n").unwrap();
    let (mut proc, addr, logs) = start(&["--config", file.to_str().unwrap(), "--bind", "127.0.0.1", "--port", "0"]);
    let publish = |name: &str, key: &str| {
        Client::publish(
            &format!("rtmp://{addr}/live/{name}?key={key}"),
            &ClientOptions::default(),
        )
    };
    let _first = publish("first", "one").expect("the key of the start");
    // Saved with another length: seen within the second it is looked at.
    std::fs::write(&file, "publish_key = \"three\"\nno_http = true\n").unwrap();
    let line = logged(&logs, "changed");
    logged(&logs, "reloaded");
    assert!(line.contains("rustic.toml"), "{line}");
    assert!(publish("second", "one").is_err(), "the old key is refused");
    let _third = publish("third", "three").expect("the new key admits");
    // A file saved broken changes nothing.
    std::fs::write(&file, "publish_key = \n").unwrap();
    logged(&logs, "reload refused");
    let _fourth = publish("fourth", "three").expect("the settings in force stayed");
    signal(&proc, "TERM");
    assert!(proc.wait().success());
}

#[test]
fn app_sections_have_their_own_keys_and_a_reload_can_drop_whom_the_new_rules_refuse() {
    use rustic_rtmp::client::{Client, ClientOptions};
    let scratch = Scratch::new("apps");
    let file = scratch.path("rustic.toml");
    let sections = "[app.studio]\npublish_key = \"s\"\n[app.open]\npublish_key = \"\"\n";
    std::fs::write(
        &file,
        format!("no_http = true\nreload_drops_refused = true\n{sections}"),
    )
    .unwrap();
    let (mut proc, addr, logs) = start(&["--config", file.to_str().unwrap(), "--bind", "127.0.0.1", "--port", "0"]);
    let publish = |path: &str| Client::publish(&format!("rtmp://{addr}/{path}"), &ClientOptions::default());
    let mut live = publish("live/a").expect("no key outside the sections");
    assert!(publish("studio/a").is_err(), "studio asks for its key");
    let mut studio = publish("studio/b?key=s").expect("studio's key");

    // A server-wide key now: live/a has none and is closed; studio keeps
    // its own rules, and open turns the server-wide key off.
    let keyed = format!("no_http = true\nreload_drops_refused = true\npublish_key = \"k\"\n{sections}");
    std::fs::write(&file, keyed).unwrap();
    signal(&proc, "HUP");
    let closed = logged(&logs, "the new access rules refuse");
    assert!(closed.contains("closed 1 "), "{closed}");
    let deadline = std::time::Instant::now() + WAIT;
    let mut n = 0;
    while live.send(&numbered_frame(n, n == 0, n * 40, 1000)).is_ok() {
        assert!(std::time::Instant::now() < deadline, "live/a still open");
        n += 1;
    }
    studio
        .send(&numbered_frame(0, true, 0, 100))
        .expect("studio/b is still allowed");
    assert!(publish("live/c").is_err(), "the new server-wide key");
    let _open = publish("open/c").expect("open has no key");
    signal(&proc, "TERM");
    assert!(proc.wait().success());
}
