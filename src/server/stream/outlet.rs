//! `Outlet`: the write side of one player: its socket and its media
//! queue, shared by its connection thread and the thread publishing the
//! stream it plays.
//!
//! Waking a player's thread for every frame costs a signal or futex wake,
//! two context switches and a wait per frame per player, several times
//! the `send` itself (measured in issue 5's profile). So when a player's
//! thread owes nothing and nothing is queued for it, the publishing thread
//! hands the frame to the kernel itself with a non-blocking send, as an
//! event-loop server would. Whatever the socket cannot take at once goes to
//! the player's queue, the player's thread is woken (see `waker`), and it
//! writes the queue out as the socket takes it until the queue is empty
//! again.
//!
//! Order is kept by `turn`: the connection thread holds it from before it
//! takes anything off its queue until what it took is written or kept
//! aside (counted in `queued` until written), and the publisher writes
//! only while holding it with nothing queued or owed.

use std::io::{self, IoSlice};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError, unbounded};
use parking_lot::{Mutex, MutexGuard};

use crate::server::net::waker::Waker;
use crate::server::stream::kind::ClientKind;
use crate::server::stream::wire::{Form, Queued, Wire};

/// Frames one write carries at most, well under IOV_MAX (1024): a direct
/// send queues the rest of a longer batch, a stream flushes its pending
/// frames at this many and the connection thread drains this many at a
/// time.
pub(crate) const MAX_BATCH: usize = 64;

pub(crate) struct Outlet {
    /// The connection's one socket; `None` for a player inside the
    /// embedding program (see `local`), whose thread takes everything
    /// from the queue.
    socket: Option<Arc<TcpStream>>,
    /// The form of the frames it takes.
    form: Form,
    /// What takes them: a player over a protocol, one inside the process,
    /// or a recorder.
    kind: ClientKind,
    /// Media for the connection thread. Unbounded so that an idle player costs
    /// no preallocated slots; `try_queue` keeps it to `capacity`.
    queue: Sender<Queued>,
    /// Frames sent to `queue` and not yet written. Counted here rather than
    /// asked of the channel, whose head and tail sit on two other cache
    /// lines: the fan-out reads this for every player and frame (issue 5's
    /// profile). Raised before a send and lowered after the write, so it
    /// never reads less than what is queued.
    queued: AtomicUsize,
    /// Bytes of the frames counted in `queued`, in the form it takes.
    queued_bytes: AtomicUsize,
    /// Frames the queue may hold before the player counts as slow...
    capacity: usize,
    /// ...and bytes: frames are shared between players, but a publisher
    /// sending large frames to a player that does not read would otherwise
    /// pin `capacity` of them.
    max_bytes: usize,
    turn: Mutex<()>,
    /// The connection thread has control messages to write first.
    owed: AtomicBool,
    waker: Waker,
    /// Set by the stream when this player fell too far behind.
    hang_up: AtomicBool,
    /// Set by the stream when it will queue nothing more: an HTTP body
    /// ends once the queue is written.
    finished: AtomicBool,
    /// When the outlet was made; `last_write_ms` counts from it.
    born: Instant,
    /// When the connection thread last wrote, in ms since `born`.
    last_write_ms: AtomicU64,
    /// Frames dropped for want of room since the thread last wrote: tells
    /// a player that reads slowly from one that does not read at all.
    drops_since_write: AtomicU64,
    /// Bytes written to the socket, by either thread.
    sent: AtomicU64,
}

impl Outlet {
    /// `socket` is the connection's socket, left blocking.
    /// Returns the outlet and the receiving end of its queue, for the
    /// connection thread.
    pub(crate) fn new(
        socket: Arc<TcpStream>,
        form: Form,
        capacity: usize,
        max_bytes: usize,
    ) -> (Arc<Outlet>, Receiver<Queued>) {
        Outlet::with(Some(socket), form, form.player_kind(), capacity, max_bytes)
    }

    /// An outlet with no socket: everything goes through the queue, to a
    /// thread that takes the frames themselves (see `local`). Its queue's
    /// bytes are counted as an RTMP player's.
    pub(crate) fn local(kind: ClientKind, capacity: usize, max_bytes: usize) -> (Arc<Outlet>, Receiver<Queued>) {
        Outlet::with(None, Form::Rtmp, kind, capacity, max_bytes)
    }

    fn with(
        socket: Option<Arc<TcpStream>>,
        form: Form,
        kind: ClientKind,
        capacity: usize,
        max_bytes: usize,
    ) -> (Arc<Outlet>, Receiver<Queued>) {
        let (queue, media) = unbounded();
        let outlet = Outlet {
            socket,
            form,
            kind,
            queue,
            queued: AtomicUsize::new(0),
            queued_bytes: AtomicUsize::new(0),
            capacity,
            max_bytes,
            turn: Mutex::new(()),
            owed: AtomicBool::new(false),
            waker: Waker::default(),
            hang_up: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            born: Instant::now(),
            last_write_ms: AtomicU64::new(0),
            drops_since_write: AtomicU64::new(0),
            sent: AtomicU64::new(0),
        };
        (Arc::new(outlet), media)
    }

    /// Whether a socket takes its bytes (not a player inside the process).
    pub(crate) fn has_socket(&self) -> bool {
        self.socket.is_some()
    }

    /// What the API and the events call its player.
    pub(crate) fn player_kind(&self) -> ClientKind {
        self.kind
    }

    /// Counts bytes written to the socket.
    pub(crate) fn count_sent(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Bytes written to the socket so far.
    pub(crate) fn sent_bytes(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    pub(crate) fn form(&self) -> Form {
        self.form
    }

    /// Tells the connection thread that nothing more will be queued.
    pub(crate) fn finish(&self) {
        self.finished.store(true, Ordering::Release);
        self.waker.wake();
    }

    /// Whether the stream will queue nothing more.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished.load(Ordering::Acquire)
    }

    pub(crate) fn waker(&self) -> &Waker {
        &self.waker
    }

    /// The connection thread's turn: held while it drains its queue and
    /// writes.
    pub(crate) fn turn(&self) -> MutexGuard<'_, ()> {
        self.turn.lock()
    }

    /// Whether the connection thread has control messages to write before
    /// any media.
    pub(crate) fn set_owed(&self, owed: bool) {
        self.owed.store(owed, Ordering::Release);
    }

    /// Tells the connection thread to close: it fell too far behind.
    pub(crate) fn hang_up(&self) {
        self.hang_up.store(true, Ordering::Relaxed);
        self.waker.wake();
    }

    pub(crate) fn is_hung_up(&self) -> bool {
        self.hang_up.load(Ordering::Relaxed)
    }

    /// Counts what the connection thread has just written: `n` queued
    /// frames of `bytes` bytes (none when it wrote only control messages).
    /// The player is reading.
    pub(crate) fn media_written(&self, n: usize, bytes: usize) {
        self.queued.fetch_sub(n, Ordering::AcqRel);
        self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
        let now = self.born.elapsed().as_millis() as u64;
        self.last_write_ms.store(now, Ordering::Relaxed);
        self.drops_since_write.store(0, Ordering::Relaxed);
    }

    /// Counts a frame dropped because the queue was full.
    pub(crate) fn count_drop(&self) {
        self.drops_since_write.fetch_add(1, Ordering::Relaxed);
    }

    /// The frames dropped since the thread last wrote, if there are more
    /// than `max_drops` and it wrote nothing for `min_stall` either: the
    /// player has stopped reading. A publisher faster than real time drops
    /// hundreds of frames in milliseconds for a player that reads fine.
    /// `None` for a kind the stream never drops (`dropped_when_stalled`).
    pub(crate) fn stalled(&self, max_drops: u64, min_stall: Duration) -> Option<u64> {
        let drops = self.drops_since_write.load(Ordering::Relaxed);
        if drops <= max_drops || !self.kind.dropped_when_stalled() {
            return None;
        }
        let silent_ms =
            (self.born.elapsed().as_millis() as u64).saturating_sub(self.last_write_ms.load(Ordering::Relaxed));
        (Duration::from_millis(silent_ms) >= min_stall).then_some(drops)
    }

    /// Reads what `write_or_queue` reads first, so that it is cached by
    /// then; does nothing else.
    pub(crate) fn warm(&self) {
        std::hint::black_box(self.queued.load(Ordering::Relaxed) + self.owed.load(Ordering::Relaxed) as usize);
        std::hint::black_box(self.turn.is_locked());
    }

    /// Frames queued for the connection thread and not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Frames the queue can still take.
    pub(crate) fn room(&self) -> usize {
        self.capacity.saturating_sub(self.queued())
    }

    /// Queues `item` for the connection thread unless the queue is at
    /// its capacity in frames or in bytes (of the form it takes).
    pub(crate) fn try_queue(&self, item: Queued) -> Result<(), TrySendError<Queued>> {
        let len = item.bytes(self.form).len();
        if self.room() == 0 || self.queued_bytes.load(Ordering::Acquire) + len > self.max_bytes {
            return Err(TrySendError::Full(item));
        }
        self.send(item, len)
            .map_err(|e| TrySendError::Disconnected(e.into_inner()))?;
        self.waker.wake_if_parked();
        Ok(())
    }

    /// Queues `item`, of `len` bytes in the form it takes.
    fn send(&self, item: Queued, len: usize) -> Result<(), crossbeam_channel::SendError<Queued>> {
        self.queued.fetch_add(1, Ordering::AcqRel);
        self.queued_bytes.fetch_add(len, Ordering::AcqRel);
        self.queue.send(item).inspect_err(|_| {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            self.queued_bytes.fetch_sub(len, Ordering::AcqRel);
        })
    }

    /// Writes `batch` to the socket from the calling thread if the
    /// connection thread is not writing and nothing is queued or owed, and
    /// the socket takes it without waiting; whatever is not written is
    /// queued, in order, and the connection thread woken for it.
    pub(crate) fn write_or_queue(&self, batch: &[Arc<Wire>]) {
        let mut written = 0;
        let _turn = match (&self.socket, self.turn.try_lock()) {
            (Some(socket), Some(turn)) if self.queued() == 0 && !self.owed.load(Ordering::Acquire) => {
                let mut slices = [IoSlice::new(&[]); MAX_BATCH];
                let n = batch.len().min(MAX_BATCH);
                for (slice, wire) in slices.iter_mut().zip(batch) {
                    *slice = IoSlice::new(wire.bytes(self.form));
                }
                // An error (a dead peer) is left for the connection thread
                // to meet.
                written = send_now(socket, &slices[..n]).unwrap_or(0);
                self.count_sent(written);
                Some(turn)
            }
            _ => None,
        };
        let mut queued = false;
        for wire in batch {
            let bytes = wire.bytes(self.form);
            let (len, rest) = if written >= bytes.len() {
                written -= bytes.len();
                continue;
            } else if written > 0 {
                // The socket took part of it: queue a copy of the rest (rare;
                // the socket is full).
                let rest = bytes[std::mem::take(&mut written)..].to_vec();
                (rest.len(), Queued::Own(Box::new(rest)))
            } else {
                (bytes.len(), Queued::Frame(wire.clone()))
            };
            // Disconnected: the thread is gone and the connection's cleanup
            // unsubscribes this player.
            queued |= self.send(rest, len).is_ok();
        }
        if queued {
            self.waker.wake_if_parked();
        }
    }
}

/// One non-blocking vectored send: the bytes the kernel took, 0 when the
/// socket buffer is full. std has no per-call non-blocking send, and the
/// socket stays blocking for the handshake.
pub(crate) fn send_now(socket: &TcpStream, slices: &[IoSlice<'_>]) -> io::Result<usize> {
    let flags = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    match socket2::SockRef::from(socket).send_vectored_with_flags(slices, flags) {
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => Ok(0),
        sent => sent,
    }
}
