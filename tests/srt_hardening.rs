//! Bad input on the SRT port, each checked on the real binary from
//! outside: its thread count, peak memory (`VmHWM`) and log bytes stay
//! bounded, and afterwards a real ffmpeg still publishes over SRT to an
//! RTMP player. Garbage datagrams, floods of INDUCTIONs and of
//! CONCLUSIONs with wrong cookies, connections that go silent (past the
//! per-address limit), a publisher stopped mid-stream, and a TS whose
//! continuity is broken.

mod common;

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::binary::{Binary, within};
use common::*;
use rustic_rtmp::protocol::srt::{Control, ControlPacket, Extension, Handshake, HandshakeType, Packet, SocketId};

const MIB: u64 = 1024;
/// Log bytes a flood may cost: the socket thread's warnings about
/// datagrams it drops are rate-limited to a line or two.
const FLOOD_LOG_BYTES: usize = 4096;

/// The binary with SRT on a free loopback port, and that port's address.
fn srt_binary(args: &[&str]) -> (Binary, SocketAddr) {
    let server = Binary::start(&[&["--srt-port", "0"], args].concat());
    let line = server.wait_for_log("listening for SRT on ");
    let addr = line
        .split("listening for SRT on ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no SRT address in {line:?}"));
    (server, addr)
}

fn threads(server: &Binary) -> u64 {
    server.status_kib("Threads:")
}

/// xorshift64: a fixed sequence, so a failure reproduces.
fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

fn loopback_socket() -> UdpSocket {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    socket
}

/// A handshake captured from ffmpeg, as a value.
fn captured(bytes: &[u8]) -> Handshake {
    match Packet::parse(bytes) {
        Ok(Packet::Control(ControlPacket {
            body: Control::Handshake(hs),
            ..
        })) => hs,
        other => panic!("the capture is not a handshake: {other:?}"),
    }
}

fn encode(handshake: Handshake) -> Vec<u8> {
    let mut out = Vec::new();
    Packet::Control(ControlPacket {
        timestamp: 0,
        dest: SocketId(0),
        body: Control::Handshake(handshake),
    })
    .encode(&mut out);
    out
}

/// ffmpeg's INDUCTION, from caller socket `id`.
fn induction(id: u32) -> Vec<u8> {
    let mut hs = captured(include_bytes!("data/srt-induction-ffmpeg.bin"));
    hs.socket_id = SocketId(id);
    encode(hs)
}

/// ffmpeg's CONCLUSION, from caller socket `id`, echoing `cookie` and
/// asking for `stream_id`.
fn conclusion(id: u32, cookie: u32, stream_id: &str) -> Vec<u8> {
    let mut hs = captured(include_bytes!("data/srt-conclusion-ffmpeg.bin"));
    hs.socket_id = SocketId(id);
    hs.syn_cookie = cookie;
    for extension in &mut hs.extensions {
        if let Extension::StreamId(sid) = extension {
            *sid = stream_id.to_owned();
        }
    }
    encode(hs)
}

/// The next handshake `socket` receives, with the socket id it was sent
/// to; None if none comes within its read timeout.
fn answer(socket: &UdpSocket) -> Option<(SocketId, Handshake)> {
    let mut buf = [0u8; 1500];
    let n = socket.recv(&mut buf).ok()?;
    match Packet::parse(&buf[..n]) {
        Ok(Packet::Control(ControlPacket {
            dest,
            body: Control::Handshake(hs),
            ..
        })) => Some((dest, hs)),
        // Keepalives and ACKs of an open connection: not what is waited for.
        _ => answer(socket),
    }
}

/// The cookie the server hands `socket` for an INDUCTION.
fn cookie(socket: &UdpSocket, srt: SocketAddr, id: u32) -> u32 {
    socket.send_to(&induction(id), srt).unwrap();
    let (dest, hs) = answer(socket).expect("an INDUCTION is answered");
    assert_eq!((dest, hs.kind), (SocketId(id), HandshakeType::Induction));
    hs.syn_cookie
}

/// Waits until the socket thread has read everything sent before: it
/// answers in order, so an answered INDUCTION comes after them all. Sent
/// again while unanswered: behind a flood, the kernel may drop it.
fn wait_for_router(srt: SocketAddr) {
    let socket = loopback_socket();
    socket.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    wait_until("the SRT socket thread to answer", || {
        socket.send_to(&induction(0x7777), srt).unwrap();
        answer(&socket).is_some()
    });
}

/// `Sample::ShortAudioVideo` as MPEG-TS, what an SRT encoder sends.
fn ts_sample(scratch: &Scratch) -> PathBuf {
    let ts = scratch.path("sample.ts");
    let out = run(ffmpeg()
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(Sample::ShortAudioVideo.path())
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(&ts));
    assert!(out.status.success(), "{}", stderr(&out));
    ts
}

fn srt_url(srt: SocketAddr, name: &str) -> String {
    format!("srt://{srt}?streamid=publish:live/{name}")
}

/// ffmpeg publishing `ts` in real time over SRT, `input` before `-i`;
/// lingering, so that libsrt sends its last packets before it closes.
fn publish_srt(input: &[&str], ts: &Path, srt: SocketAddr, name: &str) -> Proc {
    spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re"])
            .args(input)
            .arg("-i")
            .arg(ts)
            .args(["-c", "copy", "-f", "mpegts"])
            .arg(format!("{}&linger=10", srt_url(srt, name)))
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// An RTMP player of `live/<name>`, started and counted by the server.
fn player(server: &Binary, name: &str, out: &Path) -> Proc {
    let plays = server.count_lines("play start");
    let player = play(&server.url(&format!("live/{name}")), out);
    server.wait_for_lines("play start", plays + 1);
    player
}

/// The server still serves: ffmpeg publishes `ts` (2 s, 50 video frames)
/// over SRT and an RTMP player gets it.
fn assert_srt_publish_plays(server: &mut Binary, srt: SocketAddr, ts: &Path, scratch: &Scratch) {
    server.assert_alive();
    let name = unique("after");
    let out = scratch.path(&format!("{name}.flv"));
    let mut player = player(server, &name, &out);
    let mut publisher = publish_srt(&[], ts, srt, &name);
    assert!(publisher.wait().success(), "ffmpeg published over SRT");
    player.wait();
    let got = probe(&out);
    assert!(
        got.video().len() >= 45 && !got.audio().is_empty(),
        "the RTMP player got {} video and {} audio packets of an SRT publish",
        got.video().len(),
        got.audio().len()
    );
    server.assert_alive();
}

#[test]
fn garbage_datagrams_start_no_thread_and_cost_little_memory_and_log() {
    let (mut server, srt) = srt_binary(&[]);
    let scratch = Scratch::new("srt-garbage");
    let ts = ts_sample(&scratch);
    wait_for_router(srt);
    let (threads_before, peak_before, log_before) = (threads(&server), server.peak_kib(), server.log_bytes());
    let socket = loopback_socket();
    let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
    let mut most_threads = threads_before;
    for i in 0..20_000 {
        let len = (next() % 1501) as usize;
        let mut datagram: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        // Half go to socket 0, which the socket thread parses; half of
        // those look like handshakes, so the handshake parser sees them.
        if i % 2 == 0 && len >= 16 {
            datagram[12..16].fill(0);
            if i % 4 == 0 {
                datagram[..2].copy_from_slice(&[0x80, 0x00]);
            }
        }
        socket.send_to(&datagram, srt).unwrap();
        if i % 500 == 0 {
            most_threads = most_threads.max(threads(&server));
        }
    }
    wait_for_router(srt);
    most_threads = most_threads.max(threads(&server));
    let grown = server.peak_kib() - peak_before;
    let logged = server.log_bytes() - log_before;
    eprintln!("garbage: threads {threads_before} -> at most {most_threads}, peak grew {grown} KiB, {logged} log bytes");
    assert_eq!(most_threads, threads_before, "garbage started threads");
    assert!(grown < 4 * MIB, "peak grew {grown} KiB");
    assert!(
        logged < FLOOD_LOG_BYTES,
        "20,000 garbage datagrams logged {logged} bytes"
    );
    assert_eq!(server.count_lines("srt publish start"), 0);
    assert_srt_publish_plays(&mut server, srt, &ts, &scratch);
}

#[test]
fn induction_and_wrong_cookie_floods_keep_no_state() {
    let (mut server, srt) = srt_binary(&[]);
    let scratch = Scratch::new("srt-handshake-flood");
    let ts = ts_sample(&scratch);
    wait_for_router(srt);
    let (threads_before, peak_before, log_before) = (threads(&server), server.peak_kib(), server.log_bytes());
    let sockets: Vec<UdpSocket> = (0..8).map(|_| loopback_socket()).collect();
    let mut most_threads = threads_before;
    // 20,000 INDUCTIONs from 8 source ports, in batches small enough for
    // the socket buffers; every answer is an INDUCTION to its caller.
    let (mut sent, mut answered) = (0u32, 0u32);
    let mut cookies = vec![0u32; sockets.len()];
    for round in 0..50u32 {
        for (s, socket) in sockets.iter().enumerate() {
            let first = 1 + (round * 8 + s as u32) * 50;
            for id in first..first + 50 {
                socket.send_to(&induction(id), srt).unwrap();
                sent += 1;
            }
            for _ in 0..50 {
                let Some((dest, hs)) = answer(socket) else { break };
                assert_eq!(hs.kind, HandshakeType::Induction);
                assert!((first..first + 50).contains(&dest.0), "answered to {dest:?}");
                cookies[s] = hs.syn_cookie;
                answered += 1;
            }
        }
        most_threads = most_threads.max(threads(&server));
    }
    let induction_peak = server.peak_kib() - peak_before;
    let induction_log = server.log_bytes() - log_before;
    // 5,000 CONCLUSIONs echoing a cookie that is not theirs: the next
    // socket's, or a random one.
    let mut next = xorshift(0x2545_f491_4f6c_dd1d);
    for i in 0..5_000u32 {
        let s = i as usize % sockets.len();
        let wrong = match i % 2 {
            0 => cookies[(s + 1) % sockets.len()],
            _ => next() as u32,
        };
        let datagram = conclusion(100_000 + i, wrong, &format!("publish:live/forged{i}"));
        sockets[s].send_to(&datagram, srt).unwrap();
        if i % 500 == 0 {
            most_threads = most_threads.max(threads(&server));
        }
    }
    wait_for_router(srt);
    most_threads = most_threads.max(threads(&server));
    for socket in &sockets {
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        assert!(
            answer(socket).is_none(),
            "a CONCLUSION with a wrong cookie was answered"
        );
    }
    let grown = server.peak_kib() - peak_before;
    let logged = server.log_bytes() - log_before;
    eprintln!(
        "handshake flood: {answered}/{sent} INDUCTIONs answered; threads {threads_before} -> at most \
         {most_threads}; peak grew {induction_peak} KiB after INDUCTIONs, {grown} KiB in all; log \
         {induction_log} bytes after INDUCTIONs, {logged} in all"
    );
    assert_eq!(answered, sent, "every INDUCTION is answered");
    let distinct: std::collections::HashSet<u32> = cookies.iter().copied().collect();
    assert_eq!(distinct.len(), sockets.len(), "each source port has its own cookie");
    assert_eq!(most_threads, threads_before, "the flood started threads");
    assert!(grown < 4 * MIB, "peak grew {grown} KiB");
    assert!(logged < FLOOD_LOG_BYTES, "the flood logged {logged} bytes");
    assert_eq!(
        server.count_lines("srt publish start"),
        0,
        "a forged CONCLUSION connected"
    );
    assert_srt_publish_plays(&mut server, srt, &ts, &scratch);
}

#[test]
fn silent_connections_are_capped_per_address_and_dropped_when_idle() {
    const LIMIT: usize = 20;
    let (mut server, srt) = srt_binary(&["--max-connections-per-ip", &LIMIT.to_string()]);
    let scratch = Scratch::new("srt-silent");
    let ts = ts_sample(&scratch);
    wait_for_router(srt);
    let threads_before = threads(&server);
    let sockets: Vec<UdpSocket> = (0..=LIMIT).map(|_| loopback_socket()).collect();
    let mut kinds = Vec::new();
    for (i, socket) in sockets.iter().enumerate() {
        let id = 1000 + i as u32;
        let cookie = cookie(socket, srt, id);
        socket
            .send_to(&conclusion(id, cookie, &format!("publish:live/silent{i}")), srt)
            .unwrap();
        let (dest, hs) = answer(socket).expect("a CONCLUSION with a fresh cookie is answered");
        assert_eq!(dest, SocketId(id));
        kinds.push(hs.kind);
    }
    let opened = Instant::now();
    let open_threads = threads(&server);
    eprintln!("silent: threads {threads_before} -> {open_threads} with {LIMIT} open");
    for (i, kind) in kinds.iter().enumerate().take(LIMIT) {
        assert_eq!(*kind, HandshakeType::Conclusion, "connection {i} was not accepted");
    }
    assert!(
        kinds[LIMIT].rejection().is_some(),
        "connection {} past the limit of {LIMIT} got {:?}, not a rejection",
        LIMIT + 1,
        kinds[LIMIT]
    );
    assert!(
        (threads_before + LIMIT as u64..=threads_before + LIMIT as u64 + 2).contains(&open_threads),
        "{open_threads} threads for {LIMIT} connections over {threads_before}"
    );
    // More callers from the refused address, each a new caller socket
    // with a fresh cookie: each refused, none kept.
    let (peak_before, log_before) = (server.peak_kib(), server.log_bytes());
    let (lines_before, flood_start) = (server.log_lines().len(), Instant::now());
    let over = &sockets[LIMIT];
    let fresh = cookie(over, srt, 5000);
    let (mut refused, mut most_threads) = (0, open_threads);
    for batch in 0..40u32 {
        let first = 10_000 + batch * 50;
        for id in first..first + 50 {
            over.send_to(&conclusion(id, fresh, &format!("publish:live/over{id}")), srt)
                .unwrap();
        }
        for _ in 0..50 {
            let Some((_, hs)) = answer(over) else { break };
            refused += usize::from(hs.kind.rejection().is_some());
        }
        most_threads = most_threads.max(threads(&server));
    }
    let grown = server.peak_kib() - peak_before;
    let logged = server.log_bytes() - log_before;
    let (lines, seconds) = (server.log_lines().len() - lines_before, flood_start.elapsed().as_secs());
    eprintln!(
        "silent: {lines} lines in {seconds} s; 2000 more CONCLUSIONs past the limit: {refused} refused, threads at most \
         {most_threads}, peak grew {grown} KiB, {logged} log bytes"
    );
    assert_eq!(refused, 2000, "every CONCLUSION past the limit is refused");
    assert_eq!(most_threads, open_threads, "a refused CONCLUSION started a thread");
    assert!(grown < 4 * MIB, "peak grew {grown} KiB");
    // Each refusal is a warning, of the server's 20 a second (README);
    // a window opened before the flood may end during it.
    let allowed = 20 * (seconds as usize + 2);
    assert!(lines <= allowed, "{lines} log lines in {seconds} s");
    assert!(logged <= 256 * allowed, "refusals logged {logged} bytes");
    // Silent, each is gone after the 5 s idle timeout.
    assert!(
        within(Duration::from_secs(12), || threads(&server) <= threads_before),
        "{} threads 12 s after the connections went silent, {threads_before} before",
        threads(&server)
    );
    let dropped_after = opened.elapsed();
    eprintln!("silent: back to {} threads after {dropped_after:?}", threads(&server));
    assert!(
        dropped_after >= Duration::from_secs(4),
        "dropped after {dropped_after:?}, not idle"
    );
    // The log reader may be behind the threads' ends.
    server.wait_for_lines("srt closed (Some(TimedOut))", LIMIT);
    assert_eq!(server.count_lines("srt closed (Some(TimedOut))"), LIMIT);
    assert_srt_publish_plays(&mut server, srt, &ts, &scratch);
}

fn signal(pid: u32, signal: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{signal} {pid}");
}

#[test]
fn a_stopped_publisher_is_dropped_after_the_idle_timeout() {
    let (mut server, srt) = srt_binary(&["--http-bind", "127.0.0.1", "--http-port", "0"]);
    let line = server.wait_for_log("listening for HTTP on");
    let http: SocketAddr = line.rsplit(' ').next().unwrap().parse().unwrap();
    let live = |name: &str| {
        let streams = http::call(http, "GET", "/api/v1/streams", "");
        assert_eq!(streams.status, 200);
        String::from_utf8_lossy(&streams.body).contains(name)
    };
    let scratch = Scratch::new("srt-stopped");
    let ts = ts_sample(&scratch);
    let name = unique("stopped");
    let out = scratch.path("stopped.flv");
    let mut player = player(&server, &name, &out);
    let publisher = publish_srt(&["-stream_loop", "-1"], &ts, srt, &name);
    wait_until("the SRT publish to be live", || live(&name));
    // Media flows before the publisher stops.
    wait_until("the player to get media", || {
        std::fs::metadata(&out).is_ok_and(|m| m.len() > 20_000)
    });
    signal(publisher.id(), "STOP");
    let stopped = Instant::now();
    server.wait_for_log("srt closed (Some(TimedOut))");
    let dropped_after = stopped.elapsed();
    eprintln!("stopped publisher: dropped after {dropped_after:?}");
    assert!(
        (Duration::from_secs(4)..Duration::from_secs(10)).contains(&dropped_after),
        "dropped after {dropped_after:?}, the idle timeout is 5 s"
    );
    wait_until("the stream to end", || !live(&name));
    signal(publisher.id(), "CONT");
    drop(publisher);
    player.wait();
    assert!(
        probe(&out).video().len() >= 10,
        "the player got the stream before it stopped"
    );
    assert_srt_publish_plays(&mut server, srt, &ts, &scratch);
}

#[test]
fn a_ts_with_lost_packets_still_plays() {
    let (mut server, srt) = srt_binary(&[]);
    let scratch = Scratch::new("srt-broken-ts");
    let ts = ts_sample(&scratch);
    // Every 50th TS packet lost. ffmpeg remuxing this would write fresh
    // continuity counters, hiding the loss; srt-live-transmit sends the
    // bytes as they are.
    let whole = std::fs::read(&ts).unwrap();
    let broken: Vec<u8> = (whole.chunks(188).enumerate())
        .filter(|(i, _)| i % 50 != 49)
        .flat_map(|(_, packet)| packet.to_vec())
        .collect();
    let name = unique("broken");
    let out = scratch.path("broken.flv");
    let mut player = player(&server, &name, &out);
    let publishes = server.count_lines("srt publish start");
    let mut sender = spawn(
        Command::new("srt-live-transmit")
            .args(["-a:no", "file://con", &srt_url(srt, &name)])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    // srt-live-transmit drops what it reads before it is connected.
    server.wait_for_lines("srt publish start", publishes + 1);
    let mut stdin = sender.child_mut().stdin.take().unwrap();
    for second in broken.chunks(whole.len() / 2) {
        stdin.write_all(second).unwrap();
        stdin.flush().unwrap();
        // At about the rate it plays, as an encoder sends.
        std::thread::sleep(Duration::from_millis(900));
    }
    server.wait_for_log("lost packets: continuity counter");
    player.wait();
    drop(stdin);
    drop(sender);
    let got = probe(&out);
    eprintln!("broken TS: the player got {} video frames of 50", got.video().len());
    assert!(
        got.video().len() >= 25,
        "the player got {} video frames of 50",
        got.video().len()
    );
    got.assert_monotonic();
    assert_srt_publish_plays(&mut server, srt, &ts, &scratch);
}
