//! `Fanout`: writing one batch of frames to the players that take it
//! directly, shared with helper threads when a stream has many players.
//!
//! The publishing thread writes the batch to each player in turn, 5-8 us a
//! player, so with 2000 players the last one waited about 15 ms a frame.
//! Past `PLAYERS_PER_SHARE` players, the list is cut into contiguous
//! shares, one per core up to `MAX_SHARES`: the stream's helper threads
//! write all shares but the first while the publishing thread writes the
//! first. It returns once every share is written, so the next batch, or
//! the StreamEOF that ends a publish, never overtakes this one on any
//! player's socket.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use log::warn;

use crate::config::THREAD_STACK;
use crate::server::stream::outlet::Outlet;
use crate::server::stream::wire::{FORMS, Wire};

/// Players a share has at least: below this, waking a helper costs more
/// than it saves.
const PLAYERS_PER_SHARE: usize = 500;
/// Shares at most, however many cores.
const MAX_SHARES: usize = 4;

/// A batch taken from a stream's pending frames, for each form a player
/// takes (indexed by `Form`: the frames that have bytes in it), and the
/// players that take all of it and had nothing queued: written to outside
/// the stream's lock.
#[must_use]
pub(crate) struct Flush {
    pub(crate) batches: [Vec<Arc<Wire>>; FORMS],
    pub(crate) direct: Vec<Arc<Outlet>>,
}

impl Flush {
    fn write_to(&self, range: Range<usize>) {
        let players = &self.direct[range];
        // Each outlet is its own allocation, and the kernel's send path
        // evicts it between one frame and the next: reading it was a cache
        // miss after every send. Touching the next 16 with plain loads lets
        // the CPU fetch them together (perf, 1000 players: this loop 6.0%
        // -> 2.9% of the server's CPU).
        const AHEAD: usize = 16;
        for (i, outlet) in players.iter().enumerate() {
            if i % AHEAD == 0 {
                for next in players.iter().skip(i + AHEAD).take(AHEAD) {
                    next.warm();
                }
            }
            outlet.write_or_queue(&self.batches[outlet.form() as usize]);
        }
    }
}

/// A share for a helper, and the sender whose drop says it is written.
type Job = (Arc<Flush>, Range<usize>, Sender<()>);

/// One stream's helper threads, started the first time a batch goes to
/// enough players (`None` if none could start); they end when the stream
/// is dropped.
pub(crate) struct Fanout {
    helpers: OnceLock<Option<Sender<Job>>>,
    players_per_share: usize,
    shares: usize,
}

impl Fanout {
    pub(crate) fn new() -> Fanout {
        // Asked once per process: std reads the cgroup's CPU quota from
        // files each time, and a stream is made for every new name.
        static CORES: OnceLock<usize> = OnceLock::new();
        let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        Fanout::with(PLAYERS_PER_SHARE, cores.min(MAX_SHARES))
    }

    fn with(players_per_share: usize, shares: usize) -> Fanout {
        Fanout {
            helpers: OnceLock::new(),
            players_per_share,
            shares,
        }
    }

    /// Writes `flush` to its players and returns once all are written.
    pub(crate) fn write(&self, flush: Flush) {
        let players = flush.direct.len();
        let shares = (players / self.players_per_share).min(self.shares);
        if shares < 2 {
            return flush.write_to(0..players);
        }
        let Some(jobs) = self.helpers.get_or_init(|| start_helpers(self.shares - 1)) else {
            return flush.write_to(0..players);
        };
        let flush = Arc::new(flush);
        let share = |i: usize| players * i / shares..players * (i + 1) / shares;
        let (written, all_written) = bounded::<()>(0);
        for i in 1..shares {
            if let Err(e) = jobs.send((flush.clone(), share(i), written.clone())) {
                // No helper left (they only end with the stream): write it here.
                let (flush, range, _) = e.into_inner();
                flush.write_to(range);
            }
        }
        drop(written);
        flush.write_to(share(0));
        // Every job's sender dropped: each share is written (or its helper
        // is gone, which also drops it).
        let _ = all_written.recv();
    }
}

/// Starts `n` helpers on one queue of jobs; `None` if none could start.
fn start_helpers(n: usize) -> Option<Sender<Job>> {
    let (jobs, queue) = unbounded::<Job>();
    let started = (0..n).filter(|i| spawn_helper(*i, queue.clone())).count();
    (started > 0).then_some(jobs)
}

fn spawn_helper(i: usize, queue: Receiver<Job>) -> bool {
    let spawned = std::thread::Builder::new()
        .name(format!("rtmp-fanout-{i}"))
        .stack_size(THREAD_STACK)
        .spawn(move || {
            for (flush, range, written) in queue {
                flush.write_to(range);
                drop((flush, written));
            }
        });
    if let Err(e) = &spawned {
        warn!("cannot start a fan-out helper thread: {e}; the publishing thread writes alone");
    }
    spawned.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{Frame, FrameKind};
    use crate::protocol::time::RtmpTime;
    use crate::server::stream::wire::Form;
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};
    use std::time::Duration;

    #[test]
    fn every_share_is_written_before_write_returns_and_batches_keep_their_order() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let (outlets, mut far): (Vec<Arc<Outlet>>, Vec<TcpStream>) = (0..7)
            .map(|_| {
                let near = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
                let (far, _) = listener.accept().unwrap();
                far.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                (Outlet::new(Arc::new(near), Form::Rtmp, 16, 1 << 20).0, far)
            })
            .unzip();
        // Three shares of two or three players: two go to helpers.
        let fanout = Fanout::with(2, 3);
        let flush = |batch: [u8; 2]| Flush {
            batches: std::array::from_fn(|form| match form {
                0 => batch.iter().map(|b| wire(vec![*b; 3])).collect(),
                _ => Vec::new(),
            }),
            direct: outlets.clone(),
        };
        fanout.write(flush([1, 2]));
        for (i, socket) in far.iter_mut().enumerate() {
            // Loopback sends land in the peer's queue at once: whatever a
            // helper had not written yet would be missing here.
            socket.set_nonblocking(true).unwrap();
            let mut got = [0u8; 16];
            let n = socket.read(&mut got).unwrap_or(0);
            assert_eq!(&got[..n], &[1, 1, 1, 2, 2, 2], "player {i}");
            socket.set_nonblocking(false).unwrap();
        }
        fanout.write(flush([3, 4]));
        for (i, socket) in far.iter_mut().enumerate() {
            let mut got = [0u8; 6];
            socket.read_exact(&mut got).unwrap();
            assert_eq!(got, [3, 3, 3, 4, 4, 4], "player {i}");
        }
        assert!(fanout.helpers.get().is_some_and(|h| h.is_some()), "helpers started");
    }

    /// A frame whose RTMP form is `rtmp`: bytes the test tells apart.
    fn wire(rtmp: Vec<u8>) -> Arc<Wire> {
        let frame = Frame {
            kind: FrameKind::Video,
            timestamp: RtmpTime(0),
            payload: Vec::new(),
        };
        Wire::new(frame, rtmp.into(), None)
    }
}
