//! A connection's socket as every door reads it: how a connection ends
//! (`End`), a read that tells silence from a peer gone, and a failed
//! write read the same way.

use std::fmt;
use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Duration;

/// Why a connection ended.
pub(crate) enum End {
    /// The peer closed its side or reset.
    PeerLeft,
    /// The session decided to close (a refused publish, say).
    Closed(&'static str),
    /// The peer broke the protocol or a limit.
    Misbehaved(String),
    /// The stream hung up on a player that fell too far behind.
    TooSlow,
    /// The peer took no bytes for this long while we had some to send.
    NotReading(Duration),
    /// A write failed.
    WriteFailed(io::Error),
    /// Any other socket error.
    Io(io::Error),
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::PeerLeft => write!(f, "peer left"),
            End::Closed(why) => write!(f, "{why}"),
            End::Misbehaved(why) => write!(f, "{why}"),
            End::TooSlow => write!(f, "too slow a player"),
            End::NotReading(d) => write!(f, "took nothing we sent for {d:?}"),
            End::WriteFailed(e) => write!(f, "write failed: {e}"),
            End::Io(e) => write!(f, "socket error: {e}"),
        }
    }
}

/// Reads with `Interrupted` retried and the peer leaving made an `End`;
/// `Ok(None)` when the read timeout passed with nothing to read.
pub(crate) fn read(socket: &mut &TcpStream, buf: &mut [u8]) -> Result<Option<usize>, End> {
    loop {
        return match socket.read(buf) {
            // Ok(0): the peer closed its sending side.
            Ok(0) => Err(End::PeerLeft),
            Ok(n) => Ok(Some(n)),
            // A signal interrupted the call: try again.
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if peer_gone(&e) => Err(End::PeerLeft),
            // The read timeout: the caller decides what silence means.
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Ok(None),
            Err(e) => Err(End::Io(e)),
        };
    }
}

/// Why a write failed: a peer that left, or a socket error.
pub(crate) fn write_failed(e: io::Error) -> End {
    if peer_gone(&e) {
        End::PeerLeft
    } else {
        End::WriteFailed(e)
    }
}

/// Reset, aborted or a closed pipe: the peer is gone, nothing more to
/// say. One list for reads and writes.
fn peer_gone(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe
    )
}
