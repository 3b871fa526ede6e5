//! The lossy relay the SRT loss tests put between caller and server,
//! proven from outside over real sockets: numbered, timestamped datagrams
//! go from a client through the relay to an upstream that echoes them
//! back, and what arrives is checked against the relay's own counts.

mod common;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
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
    Run {
        sent: u64::from(n),
        at_upstream: upstream.arrivals(),
        at_client: client.arrivals(),
        counts: relay.counts(),
        elapsed: start.elapsed(),
    }
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
