//! The accept loop: one reader thread per accepted socket.

use std::net::TcpListener;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use log::{error, warn};

use super::Shared;
use super::connection::{self, THREAD_STACK};

/// Removes a connection from the open set when dropped.
struct Registered<'a> {
    shared: &'a Shared,
    id: super::stream::ConnId,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.shared.unregister(self.id);
    }
}

/// Accepts until `shared.stopping` is set (and a connection wakes it).
pub(crate) fn run(listener: TcpListener, shared: Arc<Shared>) {
    for incoming in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let socket = match incoming {
            Ok(socket) => socket,
            Err(e) => {
                // Out of file descriptors and the like: the server's own
                // trouble. Back off a little instead of spinning.
                error!("accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let peer = match socket.peer_addr() {
            Ok(peer) => peer,
            Err(e) => {
                warn!("accepted a socket without a peer address: {e}");
                continue;
            }
        };
        let open = shared.sockets.lock().len();
        if open >= shared.config.max_connections {
            shared.warn_peer(
                None,
                format_args!("{peer} refused: {open} connections open, the limit (max-connections)"),
            );
            continue; // dropping the socket closes it
        }
        let id = shared.register(&socket);
        let worker = shared.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("rtmp-r-{id}"))
            .stack_size(THREAD_STACK)
            .spawn(move || {
                // Unregistered however the thread ends, panic included.
                let _registered = Registered { shared: &worker, id };
                let served =
                    panic::catch_unwind(AssertUnwindSafe(|| connection::serve(socket, id, peer, worker.clone())));
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
