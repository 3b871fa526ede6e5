//! The lossy relay the SRT loss tests put between caller and server,
//! proven from outside over real sockets: numbered, timestamped datagrams
//! go from a client through the relay to an upstream that echoes them
//! back, and what arrives is checked against the relay's own counts.
//! Then real SRT (ffmpeg as caller, srt-live-transmit as listener) runs
//! through it at 2% loss and 100 ms delay.

mod common;

use std::fs::{self, File};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::lossy_relay::{Counts, DirectionCounts, Impairment, LossyRelay};
use common::*;

/// Datagrams on their way anywhere (relay, sockets, echo) at once. Kept
/// below what a default socket buffer holds, so the kernel never drops
/// one and every loss is the relay's, counted.
const WINDOW: u64 = 64;
/// Bytes per test datagram: sequence number, send time, padding.
const DATAGRAM: usize = 64;

/// Nanoseconds since the first call: the clock every datagram carries.
fn clock() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// One datagram received: its number and how long since it was sent.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    seq: u32,
    trip: Duration,
}

/// What an endpoint does with a datagram it receives.
#[derive(Clone, Copy)]
enum Reply {
    /// Sends it back to where it came from (the upstream).
    Echo,
    /// Only records it (the client).
    Record,
}

/// A UDP socket on 127.0.0.1 whose thread records every arrival.
struct Endpoint {
    socket: UdpSocket,
    arrivals: Arc<Mutex<Vec<Arrival>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Endpoint {
    fn start(reply: Reply) -> Endpoint {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (reader, log, stopped) = (socket.try_clone().unwrap(), arrivals.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stopped.load(Ordering::Relaxed) {
                let Ok((n, from)) = reader.recv_from(&mut buf) else {
                    continue; // a read timeout: look at the flag again
                };
                let now = clock();
                assert_eq!(n, DATAGRAM, "a test datagram arrives whole");
                let seq = u32::from_be_bytes(buf[..4].try_into().unwrap());
                let sent = u64::from_be_bytes(buf[4..12].try_into().unwrap());
                let trip = Duration::from_nanos(now - sent);
                log.lock().unwrap().push(Arrival { seq, trip });
                if let Reply::Echo = reply {
                    reader.send_to(&buf[..n], from).unwrap();
                }
            }
        });
        Endpoint {
            socket,
            arrivals,
            stop,
            thread: Some(thread),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    fn send(&self, seq: u32, to: SocketAddr) {
        let mut datagram = [0u8; DATAGRAM];
        datagram[..4].copy_from_slice(&seq.to_be_bytes());
        datagram[4..12].copy_from_slice(&clock().to_be_bytes());
        self.socket.send_to(&datagram, to).unwrap();
    }

    fn count(&self) -> u64 {
        self.arrivals.lock().unwrap().len() as u64
    }

    fn arrivals(&self) -> Vec<Arrival> {
        self.arrivals.lock().unwrap().clone()
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Polls `condition` every 100 µs (a window refills fast); panics after
/// [`WAIT`].
fn wait_briefly(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        std::thread::sleep(Duration::from_micros(100));
    }
}

/// What one run through the relay saw.
struct Run {
    sent: u64,
    at_upstream: Vec<Arrival>,
    /// The echoes, back at the client; `trip` is the round trip.
    at_client: Vec<Arrival>,
    counts: Counts,
    elapsed: Duration,
}

/// Sends `n` numbered datagrams from a client through a relay with
/// `impairment` to an echoing upstream, at most [`WINDOW`] unsettled at
/// once, and waits until each is echoed back or counted as dropped.
fn through_relay(impairment: Impairment, n: u32) -> Run {
    let upstream = Endpoint::start(Reply::Echo);
    let relay = LossyRelay::start(upstream.addr(), impairment).unwrap();
    let client = Endpoint::start(Reply::Record);
    // Settled: back at the client, or gone for a reason the relay counts.
    let settled = || {
        let c = relay.counts();
        let gone = |d: DirectionCounts| d.dropped + d.overflowed + d.send_failed;
        client.count() + gone(c.to_upstream) + gone(c.to_client)
    };
    let start = Instant::now();
    for seq in 0..n {
        wait_briefly("room in the window", || u64::from(seq) - settled() < WINDOW);
        client.send(seq, relay.addr());
    }
    wait_briefly("every datagram settled", || settled() == u64::from(n));
    let run = Run {
        sent: u64::from(n),
        at_upstream: upstream.arrivals(),
        at_client: client.arrivals(),
        counts: relay.counts(),
        elapsed: start.elapsed(),
    };
    // Its threads wake every 50 ms to look at the stop flag.
    let stopping = Instant::now();
    drop(relay);
    assert!(
        stopping.elapsed() < Duration::from_secs(1),
        "the relay took {:?} to stop",
        stopping.elapsed()
    );
    run
}

/// How many arrivals carry a lower number than one before them.
fn overtaken(arrivals: &[Arrival]) -> usize {
    let mut highest = None;
    let mut count = 0;
    for a in arrivals {
        if highest.is_some_and(|h| a.seq < h) {
            count += 1;
        }
        highest = highest.max(Some(a.seq));
    }
    count
}

#[test]
fn loss_drops_the_counted_share_each_way() {
    let run = through_relay(
        Impairment {
            loss_percent: 10.0,
            seed: 24,
            ..Impairment::none()
        },
        5000,
    );
    let (up, down) = (run.counts.to_upstream, run.counts.to_client);
    let at_upstream = run.at_upstream.len() as u64;
    let at_client = run.at_client.len() as u64;
    // Every datagram lost was lost by the relay's roll, and counted.
    assert_eq!(up.dropped, run.sent - at_upstream, "{:?}", run.counts);
    assert_eq!(up.forwarded, at_upstream, "{:?}", run.counts);
    assert_eq!(down.dropped, at_upstream - at_client, "{:?}", run.counts);
    assert_eq!(down.forwarded, at_client, "{:?}", run.counts);
    for d in [up, down] {
        assert_eq!(
            (d.overflowed, d.send_failed, d.reordered),
            (0, 0, 0),
            "{:?}",
            run.counts
        );
    }
    // Loss applies both ways, each near 10% for this seed.
    let up_ratio = at_upstream as f64 / run.sent as f64;
    let down_ratio = at_client as f64 / at_upstream as f64;
    println!(
        "10% loss: {at_upstream}/{} reached upstream ({up_ratio:.3}), {at_client}/{at_upstream} came back \
         ({down_ratio:.3}), {:?}",
        run.sent, run.elapsed
    );
    for ratio in [up_ratio, down_ratio] {
        assert!(
            (0.80..=0.95).contains(&ratio),
            "arrival ratio {ratio:.3} outside 0.80..=0.95"
        );
    }
    assert_eq!(overtaken(&run.at_upstream), 0, "loss alone reorders nothing");
}

#[test]
fn delay_holds_every_datagram_without_slowing_throughput() {
    let delay = Duration::from_millis(100);
    let n = 256;
    let run = through_relay(
        Impairment {
            delay,
            ..Impairment::none()
        },
        n,
    );
    assert_eq!(run.at_client.len() as u64, run.sent, "{:?}", run.counts);
    let one_way = run.at_upstream.iter().map(|a| a.trip).min().unwrap();
    let round_trip = run.at_client.iter().map(|a| a.trip).min().unwrap();
    println!(
        "100 ms delay: min one-way {one_way:?}, min round trip {round_trip:?}, {n} in {:?}",
        run.elapsed
    );
    assert!(one_way >= delay, "a datagram reached upstream after {one_way:?}");
    assert!(round_trip >= 2 * delay, "a datagram came back after {round_trip:?}");
    // One at a time, 256 round trips would take 51 s; the window allows
    // 64 at once, four round trips in all.
    assert!(
        run.elapsed < Duration::from_secs(5),
        "{n} datagrams took {:?}",
        run.elapsed
    );
}

#[test]
fn reordering_lets_later_datagrams_overtake() {
    let run = through_relay(
        Impairment {
            reorder_percent: 20.0,
            seed: 7,
            ..Impairment::none()
        },
        2000,
    );
    assert_eq!(
        run.at_client.len() as u64,
        run.sent,
        "reordering loses nothing: {:?}",
        run.counts
    );
    let overtaken = overtaken(&run.at_upstream);
    println!(
        "20% reorder: {overtaken} of {} overtaken, {} held",
        run.sent, run.counts.to_upstream.reordered
    );
    assert!(overtaken > 0, "nothing arrived out of order: {:?}", run.counts);
    assert!(run.counts.to_upstream.reordered > 0 && run.counts.to_client.reordered > 0);
}

#[test]
fn without_reordering_nothing_overtakes() {
    // A delay and losses, so the heap's order for equal delays is tested.
    let run = through_relay(
        Impairment {
            loss_percent: 10.0,
            delay: Duration::from_millis(5),
            seed: 7,
            ..Impairment::none()
        },
        2000,
    );
    assert_eq!(overtaken(&run.at_upstream), 0, "{:?}", run.counts);
    assert_eq!(overtaken(&run.at_client), 0, "{:?}", run.counts);
}

/// A UDP port on 127.0.0.1 the OS says is free right now.
fn free_udp_port() -> u16 {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The 188-byte packets in `ts` and how many continuity counters skip
/// (ISO/IEC 13818-1 §2.4.3.3: the counter steps by one per packet with
/// payload on each PID).
fn ts_packets_and_gaps(ts: &[u8]) -> (usize, usize) {
    let mut last_cc = std::collections::HashMap::new();
    let mut gaps = 0;
    let packets: Vec<&[u8]> = ts.chunks(188).collect();
    for p in &packets {
        assert!(p.len() == 188 && p[0] == 0x47, "a whole TS packet with its sync byte");
        let pid = u16::from_be_bytes([p[1] & 0x1f, p[2]]);
        let has_payload = p[3] & 0x10 != 0;
        let cc = p[3] & 0x0f;
        if !has_payload || pid == 0x1fff {
            continue;
        }
        if let Some(last) = last_cc.insert(pid, cc)
            && cc != (last + 1) % 16
        {
            gaps += 1;
        }
    }
    (packets.len(), gaps)
}

/// ffmpeg's arguments for 4 s of test video; the same every run (x264
/// is deterministic), so a file made with them counts what SRT must carry.
const SOURCE: [&str; 10] = [
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=320x240:rate=25",
    "-t",
    "4",
    "-c:v",
    "libx264",
    "-g",
    "25",
];

#[test]
fn srt_through_two_percent_loss_and_100ms_delay_loses_no_ts_packet() {
    let scratch = Scratch::new("lossy-srt");
    let reference = scratch.path("reference.ts");
    let out = run(ffmpeg()
        .args(["-loglevel", "error", "-y"])
        .args(SOURCE)
        .args(["-f", "mpegts"])
        .arg(&reference));
    assert!(out.status.success(), "ffmpeg reference: {}", stderr(&out));

    let port = free_udp_port();
    let received = scratch.path("received.ts");
    // -a:no: exit once the caller has gone, so its exit ends the wait.
    let mut listener = spawn(
        std::process::Command::new("srt-live-transmit")
            .args(["-a:no", &format!("srt://127.0.0.1:{port}?mode=listener"), "file://con"])
            .stdin(Stdio::null())
            .stdout(File::create(&received).unwrap())
            .stderr(Stdio::piped()),
    );
    wait_until("srt-live-transmit listening", || {
        UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_err()
    });
    let relay = LossyRelay::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Impairment {
            loss_percent: 2.0,
            delay: Duration::from_millis(100),
            // Drops the caller's 28th and 29th datagrams (two in a row)
            // and the listener's 31st and 48th: all within the handshake
            // and data every run sends, so each run has losses to repair.
            seed: 9,
            ..Impairment::none()
        },
    )
    .unwrap();

    let start = Instant::now();
    // latency is in microseconds: 400 ms, twice the relay's round trip.
    // Interop: libsrt 1.5.1 in live mode drops what is still unacknowledged
    // when the caller closes (linger defaults to 0 there), which loses
    // ffmpeg's last burst even without loss; linger waits for it.
    let srt_url = format!("srt://{}?latency=400000&linger=10", relay.addr());
    let out = run(ffmpeg()
        .args(["-loglevel", "error", "-re"])
        .args(SOURCE)
        .args(["-f", "mpegts", &srt_url]));
    assert!(out.status.success(), "ffmpeg srt caller: {}", stderr(&out));
    let status = listener.wait();
    let elapsed = start.elapsed();
    assert!(status.success(), "srt-live-transmit: {status}");

    let (sent, _) = ts_packets_and_gaps(&fs::read(&reference).unwrap());
    let (got, gaps) = ts_packets_and_gaps(&fs::read(&received).unwrap());
    let counts = relay.counts();
    println!(
        "srt at 2% loss, 100 ms: {got}/{sent} ts packets, {gaps} cc gaps, {elapsed:?}, \
         dropped {} caller->listener and {} back, forwarded {}/{}",
        counts.to_upstream.dropped, counts.to_client.dropped, counts.to_upstream.forwarded, counts.to_client.forwarded
    );
    assert!(
        counts.to_upstream.dropped >= 2,
        "the relay dropped data to repair: {counts:?}"
    );
    assert_eq!(gaps, 0, "continuity counter gaps in what srt-live-transmit wrote");
    assert_eq!(got, sent, "ts packets received vs written straight to a file");
}
