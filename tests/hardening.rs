//! Attacks on the real binary, each checked from outside: the process
//! stays alive, a canary stream loses nothing, a fresh ffmpeg publish and
//! play works, and its peak memory (`VmHWM`) and log bytes stay within the
//! bounds the README states. Issue 10's findings, one test (or two) each.

mod common;

use common::binary::Binary;
use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::protocol::adobe_auth::next_query;
use rustic_rtmp::protocol::amf0::Amf0Value;
use rustic_rtmp::protocol::message::Message;

const MIB: u64 = 1024;

/// A publishing raw client on `live/<fresh name>`.
fn publisher(server: &Binary) -> RawClient {
    let mut client = RawClient::handshake(server.addr);
    client.connect("live");
    assert_eq!(client.publish(&unique("attack")), "NetStream.Publish.Start");
    client
}

/// The connection is still served: a call on it is answered.
fn assert_answers(client: &mut RawClient) {
    client.call(0, "releaseStream", 9.0, Amf0Value::Null, vec![]);
    assert_eq!(client.recv_command("_result").transaction_id, 9.0);
}

/// An FLV tag as an aggregate part.
fn aggregate_part(type_id: u8, body: &[u8]) -> Vec<u8> {
    let mut part = vec![type_id];
    part.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    part.extend_from_slice(&[0; 7]);
    part.extend_from_slice(body);
    part.extend_from_slice(&(11 + body.len() as u32).to_be_bytes());
    part
}

/// Sends `payload` as one message of `type_id` on csid 4, stream 1, in
/// 64 KiB chunks.
fn send_big(client: &mut RawClient, type_id: u8, payload: &[u8]) {
    client.send(2, 0, 0, &Message::SetChunkSize(65_536));
    let message = Message::Other {
        type_id,
        payload: payload.to_vec(),
    };
    client.send(4, 1, 0, &message);
}

#[test]
fn f1_aggregates_nested_ten_thousand_deep_are_refused() {
    let mut server = Binary::start(&[]);
    let canary = server.canary();
    // Before connect: about 150 KB, over the limit for a connection that
    // does not publish: closed.
    let mut nested = aggregate_part(9, &[0x17, 1]);
    for _ in 0..10_000 {
        nested = aggregate_part(22, &nested);
    }
    let payload = &nested[11..nested.len() - 4];
    let mut early = RawClient::handshake(server.addr);
    send_big(&mut early, 22, payload);
    assert!(early.closed_by_server());
    // From a publisher: the message is read, its nested part refused.
    let before = server.peak_kib();
    let mut attacker = publisher(&server);
    send_big(&mut attacker, 22, payload);
    server.wait_for_log("aggregate part of type 22 refused");
    // The publisher goes on: a later call is answered.
    assert_answers(&mut attacker);
    let grown = server.peak_kib() - before;
    eprintln!("f1 nested: peak grew {grown} KiB");
    assert!(grown <= 3 * payload.len() as u64 / 1024 + MIB, "peak grew {grown} KiB");
    server.assert_unharmed(canary);
}

#[test]
fn f1_an_aggregate_of_sixteen_mib_of_empty_parts_stays_within_three_times_its_size() {
    let mut server = Binary::start(&[]);
    let canary = server.canary();
    let part = aggregate_part(9, &[]);
    let payload = part.repeat((16 << 20) / part.len());
    let before = server.peak_kib();
    let mut attacker = publisher(&server);
    send_big(&mut attacker, 22, &payload);
    assert_answers(&mut attacker);
    let grown = server.peak_kib() - before;
    eprintln!("f1 16 MiB of empty parts: peak grew {grown} KiB");
    let bound = 3 * payload.len() as u64 / 1024;
    assert!(
        grown <= bound,
        "peak grew {grown} KiB, more than 3x the message ({bound} KiB)"
    );
    server.assert_unharmed(canary);
}

#[test]
fn f3_fifty_connections_before_login_hold_little_and_are_closed() {
    let mut server = Binary::start(&[]);
    let canary = server.canary();
    let before = server.peak_kib();
    let attackers: Vec<std::thread::JoinHandle<bool>> = (0..50)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut peer = RawClient::handshake(addr);
                peer.send(2, 0, 0, &Message::SetChunkSize(16 << 20));
                // 64 KiB messages (the most allowed before publish) on
                // every chunk stream, 8 MiB offered in all.
                peer.hold_unfinished(16 * 1024, 64 * 1024, 3..63, 8 << 20);
                peer.closed_by_server()
            })
        })
        .collect();
    for attacker in attackers {
        assert!(attacker.join().unwrap(), "an attacker was not closed");
    }
    let grown = server.peak_kib() - before;
    eprintln!("f3: peak grew {grown} KiB for 50 connections");
    // README: before its publish is accepted a connection holds at most
    // 256 KiB of unfinished messages and 128 KiB of read buffer.
    assert!(grown <= 50 * 512, "peak grew {grown} KiB for 50 connections");
    server.assert_unharmed(canary);
}

/// An E-RTMP multitrack (one track) HEVC SequenceStart for `track`, of
/// `len` bytes.
fn track_header(track: u8, len: usize) -> Vec<u8> {
    let mut body = vec![0x96, 0x00, b'h', b'v', b'c', b'1', track];
    body.resize(len, 0x42);
    body
}

/// Sends video messages made by `body(i)` for i in 0.. until the server
/// closes the connection; returns how many went out.
fn send_until_closed(client: &mut RawClient, count: usize, body: impl Fn(usize) -> Vec<u8>) -> usize {
    client.socket.set_write_timeout(Some(WAIT)).unwrap();
    client.send(2, 0, 0, &Message::SetChunkSize(65_536));
    for i in 0..count {
        if client.try_send(7, 1, 0, &Message::Video(body(i))).is_err() {
            return i;
        }
    }
    count
}

#[test]
fn f2_codec_headers_are_bounded_by_a_track_limit_and_a_byte_budget() {
    let mut server = Binary::start(&[]);
    let canary = server.canary();
    let before = server.peak_kib();
    // 512 tracks of 1 MiB headers: closed past 32 tracks.
    let mut many = publisher(&server);
    let sent = send_until_closed(&mut many, 512, |i| track_header(i as u8, 1 << 20));
    assert!(many.closed_by_server(), "kept after {sent} track headers");
    server.wait_for_log("sequence headers for more than 32 tracks");
    // 32 tracks of 4 MiB headers: closed past the 64 MiB cache budget.
    let mut large = publisher(&server);
    let sent = send_until_closed(&mut large, 32, |i| track_header(i as u8, 4 << 20));
    assert!(large.closed_by_server(), "kept after {sent} large headers");
    server.wait_for_log("exceed the stream cache limit of 67108864");
    let grown = server.peak_kib() - before;
    eprintln!("f2: peak grew {grown} KiB");
    // The cache budget (64 MiB), the publisher's unfinished messages
    // (32 MiB) and what the allocator keeps.
    assert!(grown <= 160 * MIB, "peak grew {grown} KiB");
    server.assert_unharmed(canary);
}

#[test]
fn f4_a_player_that_never_reads_holds_at_most_its_queue_in_bytes() {
    let mut server = Binary::start(&[]);
    let canary = server.canary();
    let name = unique("deaf");
    let mut deaf = RawClient::handshake(server.addr);
    deaf.connect("live");
    let plays = server.count_lines("play start");
    deaf.play(&name);
    server.wait_for_lines("play start", plays + 1);
    let before = server.peak_kib();
    let mut source = RawClient::handshake(server.addr);
    source.connect("live");
    assert_eq!(source.publish(&name), "NetStream.Publish.Start");
    // A keyframe, then 59 inter frames of 8 MiB each: 480 MiB, none of
    // which the player reads.
    let sent = send_until_closed(&mut source, 60, |i| {
        let mut frame = vec![if i == 0 { 0x17 } else { 0x27 }, 1, 0, 0, 0];
        frame.resize(8 << 20, i as u8);
        frame
    });
    assert_eq!(sent, 60, "the publisher was cut off");
    assert_answers(&mut source);
    let grown = server.peak_kib() - before;
    eprintln!("f4: peak grew {grown} KiB");
    // The player's queue (32 MiB), the GOP cache (64 MiB), the publisher's
    // unfinished messages (32 MiB), with room for the allocator.
    assert!(grown <= 192 * MIB, "peak grew {grown} KiB");
    drop(deaf);
    server.assert_unharmed(canary);
}

/// A raw client after handshake and `connect` to `app`.
fn connected_to(server: &Binary, app: &str) -> RawClient {
    let mut client = RawClient::handshake(server.addr);
    client.connect(app);
    client
}

#[test]
fn f6_peer_text_in_logs_is_cut_escaped_rate_limited_and_never_a_key() {
    let mut server = Binary::start(&[]);
    let canary = server.canary();
    let bytes_before = server.log_bytes();
    // 20 peers each send 100 commands whose name is a 60 KB array.
    let floods: Vec<std::thread::JoinHandle<()>> = (0..20)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut peer = RawClient::handshake(addr);
                peer.connect("live");
                let name = Amf0Value::StrictArray(vec![Amf0Value::Number(1.0); 6600]);
                let mut payload = Vec::new();
                rustic_rtmp::protocol::amf0::encode(&name, &mut payload);
                for _ in 0..100 {
                    peer.send(
                        3,
                        0,
                        0,
                        &Message::Other {
                            type_id: 20,
                            payload: payload.clone(),
                        },
                    );
                }
                // Every one was read: the connection still answers.
                assert_answers(&mut peer);
            })
        })
        .collect();
    for flood in floods {
        flood.join().unwrap();
    }
    // A newline in the app name (refused, and logged escaped), a long
    // one, and a publish conflict.
    let name = unique("secret-name");
    let mut forged = connected_to(&server, "live\nFORGED line");
    assert_eq!(
        forged.publish(&format!("{name}?key=s3cret-key")),
        "NetStream.Publish.Denied"
    );
    let mut first = connected_to(&server, "live");
    assert_eq!(
        first.publish(&format!("{name}?key=s3cret-key")),
        "NetStream.Publish.Start"
    );
    let mut second = connected_to(&server, "live");
    assert_eq!(
        second.publish(&format!("{name}?key=s3cret-key")),
        "NetStream.Publish.BadName"
    );
    assert!(second.closed_by_server());
    let long_app = "a".repeat(60_000);
    let mut long = connected_to(&server, &long_app);
    assert_eq!(
        long.publish(&format!("{}?key=s3cret-key", unique("l"))),
        "NetStream.Publish.Start"
    );
    server.wait_for_lines("publish start", 3);
    let logged = server.log_bytes() - bytes_before;
    eprintln!("f6: {logged} log bytes");
    assert!(logged <= 32 * 1024, "{logged} log bytes for 2000 bad commands");
    let lines = server.log_lines();
    assert!(
        lines.iter().all(|l| l.len() < 512),
        "a log line of {} bytes",
        lines.iter().map(String::len).max().unwrap()
    );
    drop((first, long));
    server.wait_for_log("warnings left out");
    assert!(lines.iter().all(|l| !l.starts_with("FORGED")), "a forged log line");
    assert!(lines.iter().any(|l| l.contains("app=live\\nFORGED line")));
    for line in &lines {
        assert!(
            !line.contains(&name) && !line.contains("s3cret-key"),
            "a name or key logged: {line}"
        );
    }
    server.assert_unharmed(canary);
}

/// The `_error` description a `connect` to `app` gets.
fn connect_refusal(addr: std::net::SocketAddr, app: &str) -> String {
    let mut client = RawClient::handshake(addr);
    let object = Amf0Value::object([
        ("app", Amf0Value::string(app)),
        ("flashVer", Amf0Value::string("FMLE/3.0")),
        ("tcUrl", Amf0Value::string("rtmp://x/")),
    ]);
    let error = client.connect_with(1.0, object);
    assert_eq!(error.name, "_error");
    error.args[0]
        .property("description")
        .and_then(Amf0Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn f7_a_flood_of_challenges_cannot_make_a_right_login_fail() {
    let scratch = Scratch::new("users");
    let users = scratch.path("users.txt");
    std::fs::write(&users, "alice:wonder\n").unwrap();
    let mut server = Binary::start(&["--users", users.to_str().unwrap()]);
    // The canary and the closing round trip log in as alice.
    server.login = "alice:wonder@".into();
    let canary = server.canary();
    // A challenge for alice, then 1500 more from other connections.
    let first = connect_refusal(server.addr, "live?authmod=adobe&user=alice");
    assert!(first.contains("reason=needauth"), "{first}");
    let flood: Vec<std::thread::JoinHandle<()>> = (0..4)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || {
                for _ in 0..375 {
                    connect_refusal(addr, "live?authmod=adobe&user=alice");
                }
            })
        })
        .collect();
    for thread in flood {
        thread.join().unwrap();
    }
    // The answer to the first challenge, after the flood, is still right.
    let answer = next_query(&first, "alice", "wonder", "0badc0de").unwrap();
    let mut alice = RawClient::handshake(server.addr);
    let object = Amf0Value::object([
        ("app", Amf0Value::string(format!("live?{answer}"))),
        ("flashVer", Amf0Value::string("FMLE/3.0")),
    ]);
    let reply = alice.connect_with(1.0, object);
    assert_eq!(
        (reply.name.as_str(), reply.transaction_id),
        ("_result", 1.0),
        "login after the flood"
    );
    // ffmpeg logs in through its own challenge too.
    let name = unique("login");
    let login = publish(
        &Sample::AudioVideo.path(),
        &format!("rtmp://alice:wonder@{}/live/{name}", server.addr),
        &["-t", "0.5"],
    )
    .wait_output();
    assert!(login.status.success(), "login after the flood: {}", stderr(&login));
    // An unknown user is challenged like alice; no "nosuchuser".
    let unknown = connect_refusal(server.addr, "live?authmod=adobe&user=mallory");
    assert!(unknown.contains("reason=needauth&user=mallory&salt="), "{unknown}");
    let wrong_user = publish(
        &Sample::AudioVideo.path(),
        &format!("rtmp://mallory:wonder@{}/live/{}", server.addr, unique("m")),
        &[],
    )
    .wait_output();
    let wrong_password = publish(
        &Sample::AudioVideo.path(),
        &format!("rtmp://alice:guess@{}/live/{}", server.addr, unique("g")),
        &[],
    )
    .wait_output();
    for refused in [&wrong_user, &wrong_password] {
        assert!(!refused.status.success());
        assert!(
            stderr(refused).contains("Incorrect username/password"),
            "{}",
            stderr(refused)
        );
    }
    server.assert_unharmed(canary);
}

/// The soft and hard "Max open files" of a process.
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_owned(), fields[4].to_owned())
}

#[test]
fn f8_one_descriptor_per_connection_and_the_soft_limit_raised() {
    let mut server = Binary::start_with_ulimit("-Sn 256", &[]);
    let (soft, hard) = open_file_limits(server.pid());
    assert_eq!(soft, hard, "the soft limit is raised to the hard one");
    let canary = server.canary();
    let base = server.open_files();
    let mut held: Vec<RawClient> = (0..300).map(|_| connected_to(&server, "live")).collect();
    // Every one is served: a call on the last is answered.
    assert_answers(&mut held[299]);
    let per_connection = (server.open_files() - base) as f64 / 300.0;
    eprintln!("f8: {per_connection:.2} descriptors per connection");
    assert!(per_connection <= 1.05, "{per_connection:.2} descriptors per connection");
    drop(held);
    server.assert_unharmed(canary);
}

#[test]
fn f8_out_of_descriptors_the_server_backs_off_warns_once_and_recovers() {
    let mut server = Binary::start_with_ulimit("-n 128", &[]);
    server.wait_for_log("fits about 64 connections, fewer than --max-connections 10000");
    let canary = server.canary();
    let flood: Vec<std::net::TcpStream> = (0..150)
        .filter_map(|_| std::net::TcpStream::connect(server.addr).ok())
        .collect();
    server.wait_for_log("accept failed");
    // Three seconds of a full table: the failures are retried with
    // growing pauses and reported once per 10 s, not 20 times a second.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    assert!(!common::binary::within(std::time::Duration::from_secs(3), || {
        server.count_lines("accept failed") > 1
    }));
    assert!(std::time::Instant::now() >= deadline);
    drop(flood);
    server.assert_unharmed(canary);
}

#[test]
fn f8_one_address_cannot_take_every_slot() {
    let mut server = Binary::start(&["--max-connections-per-ip", "5"]);
    let canary = server.canary(); // two connections
    let held: Vec<RawClient> = (0..3).map(|_| connected_to(&server, "live")).collect();
    let mut sixth = std::net::TcpStream::connect(server.addr).unwrap();
    sixth.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 1];
    assert!(
        matches!(std::io::Read::read(&mut sixth, &mut buf), Ok(0) | Err(_)),
        "the sixth was served"
    );
    server.wait_for_log("the limit (max-connections-per-ip)");
    drop(held);
    server.assert_unharmed(canary);
}

#[test]
fn f11_keys_from_a_file_or_the_environment_stay_out_of_the_process_list() {
    let scratch = Scratch::new("keyfile");
    let file = scratch.path("publish.key");
    std::fs::write(&file, "file-s3cret\n").unwrap();
    let server = Binary::start(&["--publish-key-file", file.to_str().unwrap()]);
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", server.pid())).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains("file-s3cret"));
    let mut refused = connected_to(&server, "live");
    assert_eq!(refused.publish(&unique("k")), "NetStream.Publish.Denied");
    let mut allowed = connected_to(&server, "live");
    assert_eq!(
        allowed.publish(&format!("{}?key=file-s3cret", unique("k"))),
        "NetStream.Publish.Start"
    );

    let mut cmd = std::process::Command::new(common::binary::program());
    cmd.env("RUSTIC_RTMP_PLAY_KEY", "env-s3cret");
    let server = Binary::start_with(cmd, &[]);
    let mut player = connected_to(&server, "live");
    player.play(&format!("{}?key=env-s3cret", unique("k")));
    assert_eq!(player.recv_status_code(), "NetStream.Play.Reset");
    let mut player = connected_to(&server, "live");
    player.play(&format!("{}?key=wrong", unique("k")));
    assert_eq!(player.recv_status_code(), "NetStream.Play.Failed");
}

#[test]
fn f9_play_close_play_again_decodes_every_header() {
    let mut server = Binary::start(&[]);
    let canary = server.canary();
    let name = unique("replay");
    let mut source = connected_to(&server, "live");
    assert_eq!(source.publish(&name), "NetStream.Publish.Start");
    // Metadata goes to players prechunked on csid 5, where the player's
    // own writer sends |RtmpSampleAccess.
    let metadata = vec![
        Amf0Value::string("@setDataFrame"),
        Amf0Value::string("onMetaData"),
        Amf0Value::object([
            ("width", Amf0Value::Number(1920.0)),
            ("encoder", Amf0Value::string("x".repeat(300))),
        ]),
    ];
    source.send(4, 1, 0, &Message::Data(metadata));
    let mut player = connected_to(&server, "live");
    let is_data = |first: &'static str| move |m: &Message| matches!(m, Message::Data(v) if v.first().and_then(Amf0Value::as_str) == Some(first));
    for round in 0..3 {
        if round == 0 {
            player.play(&name);
        } else {
            player.call(1, "closeStream", 0.0, Amf0Value::Null, vec![]);
            player.call(1, "play", 4.0, Amf0Value::Null, vec![Amf0Value::string(&name)]);
        }
        // Both arrive whole on every round: a compressed header on csid 5
        // would make the player read one with the other's length.
        player.recv_until("|RtmpSampleAccess", is_data("|RtmpSampleAccess"));
        let meta = player.recv_until("onMetaData", is_data("onMetaData"));
        let Message::Data(values) = meta else { unreachable!() };
        assert_eq!(
            values[1].property("width"),
            Some(&Amf0Value::Number(1920.0)),
            "round {round}"
        );
    }
    server.assert_unharmed(canary);
}

#[test]
fn f10_a_second_connect_is_refused() {
    let mut server = Binary::start(&[]);
    let canary = server.canary();
    let name = unique("twice");
    let mut client = connected_to(&server, "live");
    assert_eq!(client.publish(&name), "NetStream.Publish.Start");
    let object = Amf0Value::object([
        ("app", Amf0Value::string("live")),
        ("tcUrl", Amf0Value::string("rtmp://x/live")),
    ]);
    let refused = client.connect_with(5.0, object);
    assert_eq!((refused.name.as_str(), refused.transaction_id), ("_error", 5.0));
    // It still publishes, and cannot play as well.
    client.call(1, "play", 6.0, Amf0Value::Null, vec![Amf0Value::string(&name)]);
    assert_eq!(client.recv_status_code(), "NetStream.Play.StreamNotFound");
    server.assert_unharmed(canary);
}

#[test]
fn f5_amf3_metadata_cannot_grow_much_past_its_size() {
    let mut server = Binary::start(&[]);
    let canary = server.canary();
    let before = server.peak_kib();
    let mut source = publisher(&server);
    // Type 15: a format byte, @setDataFrame, onMetaData, then an AVM+
    // switch to an AMF3 array: one 1000-byte string and 30 000 references
    // to it (60 KB that would copy 30 MB: past the decode's budget)...
    let amf3_array = |items: &dyn Fn(&mut Vec<u8>)| {
        let mut payload = vec![0x00, 0x02, 0, 13];
        payload.extend_from_slice(b"@setDataFrame");
        payload.extend_from_slice(&[0x02, 0, 10]);
        payload.extend_from_slice(b"onMetaData");
        payload.push(0x11); // AVM+
        items(&mut payload);
        payload
    };
    let references = amf3_array(&|p| {
        p.extend_from_slice(&[0x09, 0x83, 0xD4, 0x61, 0x01]); // dense array of 30 000
        p.extend_from_slice(&[0x06, 0x8F, 0x51]); // a 1000-byte string
        p.extend(std::iter::repeat_n(b'x', 1000));
        for _ in 1..30_000 {
            p.extend_from_slice(&[0x06, 0x00]); // a reference to it
        }
    });
    // ...and the same string referenced 10 times: within the decode's
    // budget, but 11 KB when written out again as AMF0.
    let repeated = amf3_array(&|p| {
        p.extend_from_slice(&[0x09, 0x17, 0x01]); // dense array of 11
        p.extend_from_slice(&[0x06, 0x8F, 0x51]);
        p.extend(std::iter::repeat_n(b'x', 1000));
        for _ in 0..10 {
            p.extend_from_slice(&[0x06, 0x00]);
        }
    });
    assert!(references.len() < 64 * 1024);
    source.send(
        4,
        1,
        0,
        &Message::Other {
            type_id: 15,
            payload: references,
        },
    );
    server.wait_for_log("values take more than");
    source.send(
        4,
        1,
        0,
        &Message::Other {
            type_id: 15,
            payload: repeated,
        },
    );
    server.wait_for_log("re-encodes to");
    let grown = server.peak_kib() - before;
    eprintln!("f5: peak grew {grown} KiB");
    assert!(grown <= 8 * MIB, "peak grew {grown} KiB");
    server.assert_unharmed(canary);
}

/// The binary's HTTP address, from its log.
fn http_addr(server: &Binary) -> std::net::SocketAddr {
    let line = server.wait_for_log("listening for HTTP on");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn f12_http_heads_too_long_or_never_finished_hold_little_and_are_answered() {
    use std::io::{Read, Write};
    let mut server = Binary::start(&["--http-bind", "127.0.0.1", "--http-port", "0"]);
    let addr = http_addr(&server);
    let canary = server.canary();
    let before = server.peak_kib();
    // Half send a 100 KB head (431 at 16 KiB), half stop 16 000 bytes into
    // one (408 when the 10 s for a head are up).
    let attackers: Vec<std::thread::JoinHandle<String>> = (0..100)
        .map(|i| {
            std::thread::spawn(move || {
                let mut socket = std::net::TcpStream::connect(addr).unwrap();
                socket.set_read_timeout(Some(WAIT)).unwrap();
                let filler = if i % 2 == 0 { 100_000 } else { 16_000 };
                let head = format!("GET /live/x.flv HTTP/1.1\r\nX-Filler: {}", "a".repeat(filler));
                let _ = socket.write_all(head.as_bytes());
                let mut answer = Vec::new();
                let _ = socket.read_to_end(&mut answer);
                String::from_utf8_lossy(&answer)
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        })
        .collect();
    let answers: Vec<String> = attackers.into_iter().map(|a| a.join().unwrap()).collect();
    let count = |status: &str| answers.iter().filter(|a| a.contains(status)).count();
    assert_eq!((count(" 431 "), count(" 408 ")), (50, 50), "{answers:?}");
    let grown = server.peak_kib() - before;
    eprintln!("f12: peak grew {grown} KiB for 100 HTTP connections");
    // README: a head is at most 16 KiB; a connection thread touches a few
    // pages of stack besides.
    assert!(grown <= 100 * 64, "peak grew {grown} KiB for 100 HTTP connections");
    assert!(server.log_bytes() < 64 * 1024, "{} log bytes", server.log_bytes());
    server.assert_unharmed(canary);
}

#[test]
fn f13_a_thousand_held_hls_reloads_from_one_client_are_turned_away_and_keep_no_threads() {
    use std::io::{Read, Write};
    // A thousand sockets on this side too.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    // 2 s segments: two segments ahead is seconds away, so none of the
    // requests below can be answered before all have come.
    let args = [
        "--http-bind",
        "127.0.0.1",
        "--http-port",
        "0",
        "--hls-segment-seconds",
        "2",
        // All thousand from one address reach the held-request limit.
        "--http-max-connections-per-ip",
        "0",
    ];
    let mut server = Binary::start(&args);
    let addr = http_addr(&server);
    let canary = server.canary();
    let name = unique("held");
    let _publisher = publish(
        &Sample::LongAudioVideo.path(),
        &server.url(&format!("live/{name}")),
        &[],
    );
    let newest = || -> u64 {
        let playlist = http::call(addr, "GET", &format!("/live/{name}/stream.m3u8"), "");
        assert_eq!(playlist.status, 200);
        let text = String::from_utf8(playlist.body).unwrap();
        (text.lines().rev())
            .find_map(|l| l.strip_prefix("seg")?.strip_suffix(".m4s")?.parse().ok())
            .expect("a segment listed")
    };
    // A muxer starts only for a live stream.
    wait_until("the stream's HLS", || {
        http::call(addr, "GET", &format!("/live/{name}/stream.m3u8"), "").status == 200
    });
    newest(); // the muxer is running
    let threads = || server.status_kib("Threads:");
    let before = threads();
    let mut sockets: Vec<std::net::TcpStream> =
        (0..1000).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
    // Each asks for the playlist two segments past the newest: allowed,
    // so held.
    let request = format!(
        "GET /live/{name}/stream.m3u8?_HLS_msn={} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        newest() + 2
    );
    for socket in &mut sockets {
        socket.set_read_timeout(Some(WAIT)).unwrap();
        socket.write_all(request.as_bytes()).unwrap();
    }
    let answers: Vec<String> = sockets
        .into_iter()
        .map(|mut socket| {
            let mut answer = Vec::new();
            let _ = socket.read_to_end(&mut answer);
            String::from_utf8_lossy(&answer).into_owned()
        })
        .collect();
    let turned_away = answers.iter().filter(|a| a.contains("too many requests held")).count();
    // 32 may wait per address (README); the rest are turned away at once.
    assert_eq!(turned_away, 1000 - 32, "{:.300}", answers[0]);
    // The held ones were let go: with the playlist, or when the wait ran
    // out (three segment targets).
    let released = |a: &&String| a.starts_with("HTTP/1.1 200") || a.contains("not there in time");
    let held: Vec<&String> = answers
        .iter()
        .filter(|a| !a.contains("too many requests held"))
        .collect();
    assert!(held.iter().all(released), "{:?}", held.first());
    // Their connections were closed: their threads are gone.
    let back = common::binary::within(std::time::Duration::from_secs(5), || threads() <= before + 4);
    assert!(back, "{} threads, {before} before", threads());
    assert!(server.log_bytes() < 256 * 1024, "{} log bytes", server.log_bytes());
    assert_eq!(
        http::call(addr, "GET", &format!("/live/{name}/stream.m3u8"), "").status,
        200
    );
    server.assert_unharmed(canary);
}

/// An H.264 sequence header (the avcC of a small High profile SPS): what
/// HLS needs for an init segment.
fn avc_sequence_header() -> Vec<u8> {
    const SPS: &[u8] = &[
        0x67, 0x64, 0x00, 0x0D, 0xAC, 0xD9, 0x41, 0x41, 0xFB, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00,
        0x03, 0x03, 0x20, 0xF1, 0x42, 0x99, 0x60,
    ];
    let mut body = vec![0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x0D, 0xFF, 0xE1, 0, SPS.len() as u8];
    body.extend_from_slice(SPS);
    body.extend_from_slice(&[1, 0, 4, 0x68, 0xEB, 0xE3, 0xCB]);
    body
}

#[test]
fn f14_hls_of_a_stream_whose_keyframes_stop_holds_at_most_its_budget() {
    let scratch = Scratch::new("f14");
    let root = scratch.path("");
    // Files make every published stream muxed, asked or not.
    let args = ["--hls-dir", root.to_str().unwrap(), "--hls-max-mb", "16"];
    let mut server = Binary::start(&args);
    let canary = server.canary();
    let before = server.peak_kib();
    let name = unique("nokey");
    let mut source = RawClient::handshake(server.addr);
    source.connect("live");
    assert_eq!(source.publish(&name), "NetStream.Publish.Start");
    source.socket.set_write_timeout(Some(WAIT)).unwrap();
    source.send(2, 0, 0, &Message::SetChunkSize(65_536));
    let mut video = |ms: u32, body: Vec<u8>| source.try_send(7, 1, ms, &Message::Video(body)).is_ok();
    assert!(video(0, avc_sequence_header()));
    // A keyframe, then 300 inter frames of 1 MiB: one segment that would
    // never end.
    for i in 0..301u32 {
        let mut frame = vec![if i == 0 { 0x17 } else { 0x27 }, 1, 0, 0, 0];
        frame.resize(1 << 20, i as u8);
        assert!(video(i, frame), "the publisher was cut off at frame {i}");
    }
    // Then a second of small frames between two keyframes, and one after
    // (a frame is muxed once the next gives its duration): once that
    // segment is on disk, the muxer has taken everything before it.
    for (i, ms) in (1000..=2080).step_by(40).enumerate() {
        let key = i == 0 || ms == 2040;
        assert!(video(
            ms,
            vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0, 0, 0, 0, 1, 0x65]
        ));
    }
    let playlist = scratch.path(&format!("live/{name}/stream.m3u8"));
    wait_until("a segment on disk after the big frames", || {
        std::fs::read_to_string(&playlist).is_ok_and(|text| text.contains(".m4s"))
    });
    let grown = server.peak_kib() - before;
    eprintln!("f14: peak grew {grown} KiB for 300 MiB in one GOP");
    // The HLS budget (16 MiB), the GOP cache (64 MiB), the muxer's queue
    // as a player (32 MiB), a frame being assembled, with room for the
    // allocator; a segment grown without end would hold all 300 MiB.
    assert!(grown <= 192 * MIB, "peak grew {grown} KiB");
    server.assert_unharmed(canary);
}

#[test]
fn f15_http_connections_have_their_own_limits_and_cannot_crowd_out_rtmp() {
    use std::io::Read;
    let mut server = Binary::start(&[
        "--http-bind",
        "127.0.0.1",
        "--http-port",
        "0",
        "--max-connections",
        "40",
        "--http-max-connections",
        "300",
    ]);
    let addr = http_addr(&server);
    let canary = server.canary();
    // 256 connections from one address, the default per-address limit,
    // each holding a request head open.
    let held: Vec<std::net::TcpStream> = (0..256)
        .map(|_| http::send(addr, b"GET /live/x.flv HTTP/1.1\r\n"))
        .collect();
    let refused_one = || {
        let mut extra = http::send(addr, b"GET / HTTP/1.1\r\n");
        let mut byte = [0u8; 1];
        matches!(extra.read(&mut byte), Ok(0) | Err(_))
    };
    wait_until("the 257th from one address to be closed at once", refused_one);
    // The log is read on a thread of the test's: wait for the line.
    server.wait_for_log("http-max-connections-per-ip");
    // 256 HTTP connections are more than --max-connections 40, and RTMP
    // still takes publishers and players.
    server.assert_unharmed(canary);
    drop(held);
}

/// Threads of `server` whose name starts with `prefix`.
fn threads_named(server: &Binary, prefix: &str) -> usize {
    let tasks = std::fs::read_dir(format!("/proc/{}/task", server.pid())).unwrap();
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with(prefix))
        .count()
}

#[test]
fn f16_plays_of_invented_names_wait_bounded_and_start_few_pulls() {
    use std::io::Read;
    let mut server = Binary::start(&[
        "--http-bind",
        "127.0.0.1",
        "--http-port",
        "0",
        // An edge whose origin never answers: every play would pull.
        "--pull",
        "rtmp://127.0.0.1:9/origin",
        "--pull-max",
        "20",
    ]);
    let addr = http_addr(&server);
    let canary = server.canary();
    let threads = || server.status_kib("Threads:");
    let before = threads();
    let sockets: Vec<std::net::TcpStream> = (0..200)
        .map(|i| http::send(addr, &http::get_request(&format!("/live/invented{i}.flv"), 1)))
        .collect();
    let answers: Vec<std::thread::JoinHandle<String>> = sockets
        .into_iter()
        .map(|mut socket| {
            std::thread::spawn(move || {
                socket
                    .set_read_timeout(Some(std::time::Duration::from_secs(2)))
                    .unwrap();
                let mut answer = [0u8; 256];
                let n = socket.read(&mut answer).unwrap_or(0);
                String::from_utf8_lossy(&answer[..n]).into_owned()
                // dropped here: the client leaves
            })
        })
        .collect();
    let answers: Vec<String> = answers.into_iter().map(|a| a.join().unwrap()).collect();
    let turned_away = answers.iter().filter(|a| a.starts_with("HTTP/1.1 503")).count();
    // 32 may wait per address (README); the rest are answered at once.
    assert_eq!(
        turned_away,
        200 - 32,
        "{:?}",
        answers.iter().find(|a| !a.starts_with("HTTP/1.1 503"))
    );
    let pulls = threads_named(&server, "pull-");
    eprintln!("f16: {turned_away} turned away, {pulls} pull threads, threads before {before}");
    assert!(pulls <= 20, "{pulls} pull threads");
    server.wait_for_log("pull-max");
    // The 32 that waited left after 2 s: their threads end within a
    // second of it, long before the 30 s wait is up.
    wait_until("the waiting requests' threads to end", || {
        threads() <= before + pulls as u64 + 2
    });
    let streams = http::call(addr, "GET", "/api/v1/streams", "");
    let listed = String::from_utf8_lossy(&streams.body).matches("invented").count();
    assert!(
        listed <= 20,
        "{listed} invented streams listed (only pulled ones may be)"
    );
    server.assert_unharmed(canary);
}
