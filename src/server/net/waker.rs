//! How a connection thread sleeps on its one socket, and how the thread
//! publishing a stream wakes it.
//!
//! A connection thread waits in `ppoll(2)` on its socket: for input, and
//! for room to write when it owes the peer bytes. The only other thing
//! that can give it work is its media queue, which the publishing thread
//! fills when it could not write to the socket itself (see `outlet`). It
//! then wakes the player with a signal, SIGURG, sent to that one thread
//! (`pthread_kill`), and only when the thread sleeps with nothing queued:
//! once per time the queue goes from empty to non-empty, not per frame.
//!
//! SIGURG is blocked in connection threads except inside `ppoll`, which
//! unblocks it atomically, so a wake-up sent just before the thread sleeps
//! stays pending and ends the sleep at once: none is lost. SIGURG because
//! its default action is to do nothing, and the kernel raises it only for
//! sockets with an owner set (`F_SETOWN`), which the server never sets.
//! A signal costs no file descriptor, where an eventfd or a pipe would
//! add one or two per connection.

use std::io;
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, ppoll};
use nix::sys::pthread::{Pthread, pthread_kill, pthread_self};
use nix::sys::signal::{SigSet, Signal};
use parking_lot::Mutex;

const WAKE_SIGNAL: Signal = Signal::SIGURG;

/// The wake-up side, kept in the player's `Outlet`.
#[derive(Default)]
pub(crate) struct Waker {
    /// The thread sleeps with nothing queued and needs a signal for new work.
    parked: AtomicBool,
    /// The thread to signal while it runs; `None` before and after, so
    /// that no signal goes to a thread that has ended.
    thread: Mutex<Option<Pthread>>,
}

impl Waker {
    /// Wakes the thread if it sleeps waiting for work; the caller has just
    /// queued some.
    pub(crate) fn wake_if_parked(&self) {
        // Pairs with the fence in `Sleeper::wait`: either the thread sees
        // the new work before it sleeps, or this sees it parked.
        fence(Ordering::SeqCst);
        if self.parked.load(Ordering::Relaxed) && self.parked.swap(false, Ordering::AcqRel) {
            self.wake();
        }
    }

    /// Wakes the thread whatever it waits for (it must stop).
    pub(crate) fn wake(&self) {
        // Held while signalling: the thread cannot end in between.
        if let Some(thread) = *self.thread.lock() {
            let _ = pthread_kill(thread, WAKE_SIGNAL);
        }
    }
}

/// The sleeping side, owned by the connection thread; dropping it
/// unregisters the thread from its `Waker`.
pub(crate) struct Sleeper<'a> {
    waker: &'a Waker,
    /// The thread's signal mask with the wake signal unblocked.
    while_asleep: SigSet,
}

impl<'a> Sleeper<'a> {
    /// Blocks the wake signal in the calling thread outside `wait` and
    /// registers the thread to be woken through `waker`.
    pub(crate) fn new(waker: &'a Waker) -> io::Result<Sleeper<'a>> {
        static HANDLER: OnceLock<io::Result<()>> = OnceLock::new();
        // A handler, however empty, is what makes the signal end ppoll:
        // an ignored signal is discarded.
        let handler = HANDLER.get_or_init(|| {
            let woken = Arc::new(AtomicBool::new(false));
            signal_hook::flag::register(WAKE_SIGNAL as i32, woken).map(|_| ())
        });
        if let Err(e) = handler {
            return Err(io::Error::new(e.kind(), format!("cannot handle {WAKE_SIGNAL}: {e}")));
        }
        let mut wake = SigSet::empty();
        wake.add(WAKE_SIGNAL);
        wake.thread_block()?;
        let mut while_asleep = SigSet::thread_get_mask()?;
        while_asleep.remove(WAKE_SIGNAL);
        *waker.thread.lock() = Some(pthread_self());
        Ok(Sleeper { waker, while_asleep })
    }

    /// Sleeps until `socket` has input, or room to write if `write`, or
    /// `timeout` passes, or the waker wakes it. Unless it waits to write,
    /// it does not sleep while `has_work()` says work was queued. True
    /// when the socket has input, or the peer closed or failed: read it.
    pub(crate) fn wait(
        &self,
        socket: &TcpStream,
        write: bool,
        has_work: impl Fn() -> bool,
        timeout: Duration,
    ) -> io::Result<bool> {
        let mut events = PollFlags::POLLIN;
        if write {
            events |= PollFlags::POLLOUT;
        } else {
            self.waker.parked.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if has_work() {
                self.waker.parked.store(false, Ordering::Relaxed);
                return Ok(false);
            }
        }
        let mut fds = [PollFd::new(socket.as_fd(), events)];
        let woke = ppoll(&mut fds, Some(timeout.into()), Some(self.while_asleep));
        self.waker.parked.store(false, Ordering::Relaxed);
        let revents = match woke {
            Ok(_) => fds[0].revents().unwrap_or(PollFlags::empty()),
            Err(nix::errno::Errno::EINTR) => PollFlags::empty(),
            Err(e) => return Err(e.into()),
        };
        Ok(revents.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR))
    }
}

impl Drop for Sleeper<'_> {
    fn drop(&mut self) {
        *self.waker.thread.lock() = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Instant;

    /// Runs `wait` on a fresh thread over an idle socket, with `work` as
    /// what it checks; returns the waker, the work flag and the thread,
    /// which gives back whether the socket was readable and how long the
    /// wait took.
    fn sleeping(work: bool) -> (Arc<Waker>, Arc<AtomicBool>, std::thread::JoinHandle<(bool, Duration)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let near = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let waker = Arc::new(Waker::default());
        let work = Arc::new(AtomicBool::new(work));
        let (thread_waker, thread_work) = (waker.clone(), work.clone());
        let thread = std::thread::spawn(move || {
            let _far = listener.accept().unwrap();
            let sleeper = Sleeper::new(&thread_waker).unwrap();
            let started = Instant::now();
            let has_work = || thread_work.load(Ordering::SeqCst);
            let readable = sleeper.wait(&near, false, has_work, Duration::from_secs(20)).unwrap();
            (readable, started.elapsed())
        });
        (waker, work, thread)
    }

    #[test]
    fn a_parked_thread_wakes_when_work_is_queued() {
        let (waker, work, thread) = sleeping(false);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !waker.parked.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the thread never parked");
            std::thread::sleep(Duration::from_millis(1));
        }
        work.store(true, Ordering::SeqCst);
        waker.wake_if_parked();
        let (readable, took) = thread.join().unwrap();
        assert!(!readable);
        assert!(took < Duration::from_secs(5), "woke after {took:?}, not at once");
        assert!(
            waker.thread.lock().is_none(),
            "unregistered when the sleeper is dropped"
        );
    }

    #[test]
    fn work_queued_before_the_thread_parks_is_seen_without_sleeping() {
        let (waker, _work, thread) = sleeping(true);
        let (readable, took) = thread.join().unwrap();
        assert!(!readable);
        assert!(took < Duration::from_secs(5), "slept {took:?} with work queued");
        assert!(!waker.parked.load(Ordering::SeqCst));
    }
}
