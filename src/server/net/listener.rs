//! The accept loop: every accepted socket goes to the door's `accepted`,
//! which starts its thread.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use log::{debug, error, warn};

use crate::config::HttpBind;
use crate::error::Error;
use crate::server::net::log_limit::LogLimit;

/// The first pause after a failed accept; it doubles while accepts keep
/// failing (out of file descriptors, say), up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Connections the kernel queues for a listener before `accept` takes
/// them. std listens with 128: a flash crowd (a thousand viewers joining
/// in a second) overflows that faster than one thread accepts, and each
/// connection the kernel drops waits a second for its SYN to be sent
/// again. nginx uses 511; the kernel caps it at `net.core.somaxconn`.
const BACKLOG: i32 = 1024;

/// A listener on `addr` with `BACKLOG`, address reuse on as std has it.
/// Binds `bind` with `open`. An address the command chose by default
/// (`required` false) may be taken by another program: then a warning
/// says the server runs without `what`, and there is nothing to serve.
pub(crate) fn optional<T>(
    bind: HttpBind,
    what: &str,
    open: impl FnOnce(SocketAddr) -> std::io::Result<T>,
) -> Result<Option<T>, Error> {
    match open(bind.addr) {
        Ok(opened) => Ok(Some(opened)),
        Err(source) if bind.required => Err(Error::Bind {
            addr: bind.addr,
            source,
        }),
        Err(e) => {
            warn!(
                "cannot listen for {what} on {} ({e}); running without {what}",
                bind.addr
            );
            Ok(None)
        }
    }
}

pub(crate) fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Accepts until `stopping` is set (and a connection wakes it), handing
/// each socket and its peer's address to `accepted`.
pub(crate) fn run(listener: TcpListener, stopping: &AtomicBool, mut accepted: impl FnMut(Arc<TcpStream>, SocketAddr)) {
    let mut backoff = FIRST_BACKOFF;
    let mut accept_errors = LogLimit::new(1, Duration::from_secs(10));
    for incoming in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
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
        accepted(socket, peer);
    }
}
