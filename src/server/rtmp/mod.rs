//! The RTMP door: one thread per RTMP or RTMPS connection, running the
//! session state machine over its socket.

pub(crate) mod connection;
pub(crate) mod rtmps;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use crate::server::control::admission::Admission;
use crate::server::control::connections::Connections;
use crate::server::control::live::Current;
use crate::server::control::started::OnPublishes;
use crate::server::net::log_limit::PeerWarnings;
use crate::server::stream::registry::Registry;
use crate::tls::Certificates;

/// What the RTMP door needs of the rest of the server, which
/// `server/mod.rs` hands it.
pub(crate) struct Rtmp {
    /// The settings in force; each connection keeps those of its start.
    pub(crate) current: Current,
    pub(crate) registry: Arc<Registry>,
    pub(crate) admission: Arc<Admission>,
    /// To take over a publisher's stream (its connection is closed).
    pub(crate) connections: Arc<Connections>,
    pub(crate) on_publish: OnPublishes,
    pub(crate) warnings: Arc<PeerWarnings>,
    /// Bytes of unfinished messages all connections hold (see
    /// `Config::limits.max_total_buffered_bytes`).
    pub(crate) buffered: AtomicUsize,
    /// The RTMPS certificate, when RTMPS is on.
    pub(crate) tls: Option<Certificates>,
}
