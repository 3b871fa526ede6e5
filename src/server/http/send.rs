//! Writing an answer the connection owes: whole, or a refusal, after
//! which the connection lingers a moment so that the client reads it.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::server::control::clients::Client;
use crate::server::net::socket::{End, read, write_failed};

/// After a refusal, how long and how much of what the client still sends
/// is read and dropped before the close: closing a socket with unread
/// input resets the connection, and the client may lose the answer.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 256 * 1024;

/// Writes a whole answer; `Some` when the connection ends with it.
pub(crate) fn reply(socket: &TcpStream, client: &Client, answer: &[u8], keep_alive: bool) -> Option<End> {
    match client.counting(socket).write_all(answer) {
        Ok(()) => (!keep_alive).then_some(End::Closed("answered")),
        Err(e) => Some(write_failed(e)),
    }
}

/// Writes a refusal, then lingers (see `LINGER`) until the client closes.
pub(crate) fn refuse(socket: &TcpStream, client: &Client, response: &[u8]) {
    let mut socket = socket;
    if client.counting(socket).write_all(response).is_err() || socket.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + LINGER;
    let mut drained = 0;
    let mut buf = [0u8; 4096];
    while drained < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match read(&mut socket, &mut buf) {
            Ok(Some(n)) => drained += n,
            _ => return,
        }
    }
}
