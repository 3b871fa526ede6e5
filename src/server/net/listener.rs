//! The accept loop: one thread per accepted socket.

use std::net::{TcpListener, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use log::{debug, error};

use crate::config::THREAD_STACK;
use crate::server::control::clients::Client;
use crate::server::net::log_limit::LogLimit;
use crate::server::{Door, Shared};

/// Removes a connection from the open set when dropped.
struct Registered<'a> {
    shared: &'a Shared,
    id: crate::server::stream::kind::ConnId,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.shared.unregister(self.id);
    }
}

/// The first pause after a failed accept; it doubles while accepts keep
/// failing (out of file descriptors, say), up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What serves an accepted socket on its own thread until it closes.
pub(crate) type Serve = fn(Arc<TcpStream>, Arc<Client>, Arc<Shared>);

/// Accepts until `shared.stopping` is set (and a connection wakes it),
/// serving each socket with `serve` on a thread named `{kind}-{id}`.
pub(crate) fn run(listener: TcpListener, shared: Arc<Shared>, (kind, door): (&'static str, Door), serve: Serve) {
    let mut backoff = FIRST_BACKOFF;
    let mut accept_errors = LogLimit::new(1, Duration::from_secs(10));
    for incoming in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let socket = match incoming {
            Ok(socket) => Arc::new(socket),
            Err(e) => {
                // Out of file descriptors and the like: the server's own
                // trouble. Back off instead of spinning, and say so now
                // and then rather than for every try.
                if let Some(left_out) = accept_errors.allow(Instant::now()) {
                    error!("accept failed: {e} ({left_out} more failures since the last report); retrying");
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = FIRST_BACKOFF;
        let peer = match socket.peer_addr() {
            Ok(peer) => peer,
            Err(e) => {
                debug!("accepted a socket without a peer address: {e}");
                continue;
            }
        };
        let client = match shared.register(&socket, peer, door) {
            Ok(client) => client,
            Err(why) => {
                shared.warnings.warn(None, format_args!("{peer} refused: {why}"));
                continue; // dropping the socket closes it
            }
        };
        let id = client.id();
        let worker = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("{kind}-{id}"))
            .stack_size(THREAD_STACK)
            .spawn(move || {
                // Unregistered however the thread ends, panic included.
                let _registered = Registered { shared: &worker, id };
                let served = panic::catch_unwind(AssertUnwindSafe(|| serve(socket, client, worker.clone())));
                if served.is_err() {
                    // A bug, not the peer's fault: the guards of the
                    // connection (publish, play) were dropped while unwinding.
                    error!("conn#{id} {peer} thread panicked; connection closed");
                }
            });
        if let Err(e) = spawned {
            error!("conn#{id} {peer} cannot start a thread: {e}");
            shared.unregister(id);
        }
    }
}
