//! A lossy UDP relay for loss tests: a client (an SRT caller) dials
//! [`LossyRelay::addr`] instead of the server, and every datagram between
//! them is dropped, delayed or held back as an [`Impairment`] says, in
//! each direction on its own, as on a real path.
//!
//! In scope: random loss, a fixed one-way delay, reordering (some
//! datagrams held a few ms more, so later ones overtake them), a bound on
//! the datagrams in flight, counters readable while it runs.
//! Out of scope: bandwidth limits, jitter beyond the reordering hold,
//! duplication, more than one client at a time (replies go to the client
//! last heard from).
//!
//! Every decision comes from a seeded xorshift generator, one per
//! direction, so a failing run replays the same losses. Delayed datagrams
//! wait in one heap ordered by due time, so a 100 ms delay adds latency
//! without slowing throughput. Dropping the relay stops its threads: each
//! socket read times out every [`POLL`], and the sender waits no longer.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Datagrams waiting for their due time, both directions together; past
/// it, new ones are dropped and counted as overflowed.
pub const MAX_IN_FLIGHT: usize = 8192;
/// How long a thread blocks before it looks at the stop flag again.
const POLL: Duration = Duration::from_millis(50);
/// A reordered datagram waits this much more than the others, at most.
const MAX_REORDER_HOLD_MS: u64 = 10;
/// The largest UDP payload.
const MAX_DATAGRAM: usize = 65_535;

/// What the relay does to each datagram, in both directions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    /// Chance, in percent, that a datagram is dropped.
    pub loss_percent: f64,
    /// Chance, in percent, that a datagram is held 1 to 10 ms more than
    /// `delay`, so the ones after it overtake it.
    pub reorder_percent: f64,
    /// Added to every datagram's one-way trip.
    pub delay: Duration,
    /// Seeds the generators: the same seed drops the same datagrams.
    pub seed: u64,
}

impl Impairment {
    /// A relay that forwards everything at once, in order.
    pub fn none() -> Impairment {
        Impairment {
            loss_percent: 0.0,
            reorder_percent: 0.0,
            delay: Duration::ZERO,
            seed: 1,
        }
    }
}

impl Default for Impairment {
    fn default() -> Impairment {
        Impairment::none()
    }
}

/// What happened to the datagrams going one way.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DirectionCounts {
    /// Sent on after their delay.
    pub forwarded: u64,
    /// Dropped by the loss roll.
    pub dropped: u64,
    /// Held back for reordering (whether or not a later one overtook).
    pub reordered: u64,
    /// Dropped because [`MAX_IN_FLIGHT`] datagrams were already waiting.
    pub overflowed: u64,
    /// Refused by the socket when their turn came (none on loopback).
    pub send_failed: u64,
}

/// Both directions' counts at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Client to upstream.
    pub to_upstream: DirectionCounts,
    /// Upstream back to the client.
    pub to_client: DirectionCounts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Direction {
    ToUpstream,
    ToClient,
}

#[derive(Default)]
struct Counters {
    forwarded: AtomicU64,
    dropped: AtomicU64,
    reordered: AtomicU64,
    overflowed: AtomicU64,
    send_failed: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> DirectionCounts {
        DirectionCounts {
            forwarded: self.forwarded.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            reordered: self.reordered.load(Ordering::Relaxed),
            overflowed: self.overflowed.load(Ordering::Relaxed),
            send_failed: self.send_failed.load(Ordering::Relaxed),
        }
    }
}

/// xorshift64: a fixed sequence per seed, no `rand` crate.
struct XorShift(u64);

impl XorShift {
    /// Starts from `seed` scrambled by splitmix64: xorshift from a small
    /// seed such as 2 rolls near zero for its first outputs, so every
    /// small seed would drop its first datagram.
    fn new(seed: u64) -> XorShift {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // Zero is xorshift's one fixed point: it would never leave it.
        XorShift(if z == 0 { 0x9E37_79B9_7F4A_7C15 } else { z })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A roll in [0, 100), to compare with a percentage.
    fn percent(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 100.0
    }
}

/// One datagram waiting for its due time; `seq` keeps equal due times in
/// arrival order, so without reordering nothing overtakes.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Queued {
    due: Instant,
    seq: u64,
    direction: Direction,
    data: Vec<u8>,
}

/// State the reader threads and the sender share.
struct Shared {
    stop: AtomicBool,
    queue: Mutex<BinaryHeap<Reverse<Queued>>>,
    queued: Condvar,
    next_seq: AtomicU64,
    /// Where replies go: the address the client last sent from.
    client: Mutex<Option<SocketAddr>>,
    to_upstream: Counters,
    to_client: Counters,
}

impl Shared {
    fn counters(&self, direction: Direction) -> &Counters {
        match direction {
            Direction::ToUpstream => &self.to_upstream,
            Direction::ToClient => &self.to_client,
        }
    }
}

/// A running relay; dropping it stops and joins its threads.
pub struct LossyRelay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl LossyRelay {
    /// Listens on a free 127.0.0.1 UDP port and relays to `upstream`, a
    /// server on this machine.
    pub fn start(upstream: SocketAddr, impairment: Impairment) -> io::Result<LossyRelay> {
        let client_side = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        let upstream_side = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))?;
        client_side.set_read_timeout(Some(POLL))?;
        upstream_side.set_read_timeout(Some(POLL))?;
        let addr = client_side.local_addr()?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            queue: Mutex::new(BinaryHeap::new()),
            queued: Condvar::new(),
            next_seq: AtomicU64::new(0),
            client: Mutex::new(None),
            to_upstream: Counters::default(),
            to_client: Counters::default(),
        });
        // Each direction rolls its own sequence, so which datagrams one way
        // loses does not depend on how the two ways interleave.
        let from_client = Impair {
            impairment,
            rng: XorShift::new(impairment.seed),
            direction: Direction::ToUpstream,
        };
        let from_upstream = Impair {
            impairment,
            rng: XorShift::new(impairment.seed ^ 0xD1B5_4A32_D192_ED03),
            direction: Direction::ToClient,
        };
        let sender = Sender {
            client_side: client_side.try_clone()?,
            upstream_side: upstream_side.try_clone()?,
            upstream,
        };
        let mut threads = Vec::new();
        let mut spawn = |name: &str, body: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(body)
                .map(|handle| threads.push(handle))
        };
        let s = shared.clone();
        spawn(
            "relay-client",
            Box::new(move || read_client(client_side, from_client, &s)),
        )?;
        let s = shared.clone();
        spawn(
            "relay-upstream",
            Box::new(move || read_upstream(upstream_side, upstream, from_upstream, &s)),
        )?;
        let s = shared.clone();
        spawn("relay-send", Box::new(move || sender.run(&s)))?;
        Ok(LossyRelay { addr, shared, threads })
    }

    /// The address a client dials instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The counts so far, read while the relay runs.
    pub fn counts(&self) -> Counts {
        Counts {
            to_upstream: self.shared.to_upstream.snapshot(),
            to_client: self.shared.to_client.snapshot(),
        }
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.queued.notify_all();
        // Each thread sees the flag within one POLL.
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// One direction's impairment and its generator.
struct Impair {
    impairment: Impairment,
    rng: XorShift,
    direction: Direction,
}

impl Impair {
    /// Drops `data`, or queues it for its due time.
    fn take(&mut self, data: &[u8], shared: &Shared) {
        // Three rolls for every datagram, used or not, so a change to one
        // percentage leaves the other decisions as they were.
        let loss = self.rng.percent();
        let reorder = self.rng.percent();
        let hold_ms = 1 + self.rng.next() % MAX_REORDER_HOLD_MS;
        let counters = shared.counters(self.direction);
        if loss < self.impairment.loss_percent {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let mut due = Instant::now() + self.impairment.delay;
        if reorder < self.impairment.reorder_percent {
            due += Duration::from_millis(hold_ms);
            counters.reordered.fetch_add(1, Ordering::Relaxed);
        }
        let mut queue = shared.queue.lock().unwrap();
        if queue.len() >= MAX_IN_FLIGHT {
            counters.overflowed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        queue.push(Reverse(Queued {
            due,
            seq: shared.next_seq.fetch_add(1, Ordering::Relaxed),
            direction: self.direction,
            data: data.to_vec(),
        }));
        drop(queue);
        shared.queued.notify_one();
    }
}

/// Reads until stopped, skipping timeouts and the errors a UDP read can
/// return for an earlier send (an ICMP port unreachable).
fn read_loop(socket: &UdpSocket, shared: &Shared, mut on_datagram: impl FnMut(&[u8], SocketAddr)) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !shared.stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => on_datagram(&buf[..n], from),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

fn read_client(socket: UdpSocket, mut impair: Impair, shared: &Shared) {
    read_loop(&socket, shared, |data, from| {
        *shared.client.lock().unwrap() = Some(from);
        impair.take(data, shared);
    });
}

fn read_upstream(socket: UdpSocket, upstream: SocketAddr, mut impair: Impair, shared: &Shared) {
    read_loop(&socket, shared, |data, from| {
        // Only the upstream may answer through this port.
        if from == upstream {
            impair.take(data, shared);
        }
    });
}

/// Sends each queued datagram when it falls due.
struct Sender {
    client_side: UdpSocket,
    upstream_side: UdpSocket,
    upstream: SocketAddr,
}

impl Sender {
    fn run(&self, shared: &Shared) {
        let mut due_now = Vec::new();
        while !shared.stop.load(Ordering::Relaxed) {
            let mut queue = shared.queue.lock().unwrap();
            let now = Instant::now();
            while queue.peek().is_some_and(|Reverse(q)| q.due <= now) {
                due_now.push(queue.pop().expect("peeked").0);
            }
            if due_now.is_empty() {
                let wait = queue.peek().map_or(POLL, |Reverse(q)| (q.due - now).min(POLL));
                // A spurious or early wake only loops: nothing leaves before
                // its due time.
                drop(shared.queued.wait_timeout(queue, wait).unwrap());
                continue;
            }
            drop(queue);
            let client = *shared.client.lock().unwrap();
            for queued in due_now.drain(..) {
                let sent = match queued.direction {
                    Direction::ToUpstream => self.upstream_side.send_to(&queued.data, self.upstream),
                    Direction::ToClient => match client {
                        Some(client) => self.client_side.send_to(&queued.data, client),
                        // The upstream learns this port only from a client's
                        // datagram, so this is a stranger on the upstream's
                        // address: nowhere to send it.
                        None => Err(io::ErrorKind::NotConnected.into()),
                    },
                };
                let counters = shared.counters(queued.direction);
                match sent {
                    Ok(_) => counters.forwarded.fetch_add(1, Ordering::Relaxed),
                    Err(_) => counters.send_failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }
    }
}
