//! The SRT door: MPEG-TS over SRT (live mode), published into the same
//! streams as RTMP and read out of them.
//!
//! The thread-per-connection shape over UDP: one socket thread
//! (`router`) answers INDUCTIONs itself (a SYN cookie, no state) and
//! routes every other datagram, by the peer's address and socket id, over
//! a bounded queue to the thread of its connection (`session`), which
//! runs the state machine (`session::srt::Connection`) and its timers,
//! asks the one admission path before anything starts, and publishes the
//! demuxed frames or reads the stream's shared TS `feed`.

mod feed;
mod router;
mod routes;
mod session;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::thread::JoinHandle;

use crate::server::control::admission::Admission;
use crate::server::control::connections::Connections;
use crate::server::control::live::Current;
use crate::server::control::started::OnPublishes;
use crate::server::net::log_limit::PeerWarnings;
use crate::server::stream::registry::Registry;

pub(crate) use feed::Feeds;

/// What the SRT door needs of the rest of the server, which
/// `server/mod.rs` hands it.
pub(crate) struct Srt {
    /// The settings in force; each connection keeps those of its start.
    pub(crate) current: Current,
    pub(crate) registry: Arc<Registry>,
    pub(crate) admission: Arc<Admission>,
    /// Counts each SRT connection against the limits, lists and kicks it.
    pub(crate) connections: Arc<Connections>,
    pub(crate) on_publish: OnPublishes,
    pub(crate) warnings: Arc<PeerWarnings>,
    pub(crate) feeds: Arc<Feeds>,
    /// Set at shutdown: the socket thread stops routing.
    pub(crate) stopping: AtomicBool,
    /// Payload bytes all SRT connections hold (to play in order, or for
    /// retransmission), against `limits.max_total_buffered_bytes`.
    pub(crate) held: AtomicUsize,
}

/// Binds `addr` (UDP) and starts the socket thread; the address bound.
pub(crate) fn start(door: Arc<Srt>, addr: SocketAddr) -> io::Result<(SocketAddr, JoinHandle<()>)> {
    let socket = UdpSocket::bind(addr)?;
    let local = socket.local_addr()?;
    let thread = router::start(socket, door)?;
    log::info!("listening for SRT on {local} (UDP)");
    Ok((local, thread))
}
