//! The HTTP side: live streams for players that speak HTTP (HTTP-FLV,
//! live fMP4), the JSON API (`api`) and the dashboard page.
//!
//! The HTTP listener shares the RTMP side's `Shared`: the same connection
//! limits, access rules, registry and shutdown. Each accepted socket gets
//! a thread (`connection`) that reads a request head (`request`: parsing
//! and routing, pure), answers it (`response`: heads and framing, pure),
//! and for a stream subscribes an `Outlet` of the stream's form, so an
//! HTTP player is a player like an RTMP one: same queue, same slow-player
//! policy, same write-through from the publishing thread.

pub(crate) mod api;
mod calls;
pub(crate) mod connection;
mod dashboard;
mod figures;
mod held;
mod hls;
mod hls_token;
pub(crate) mod metrics;
mod names;
pub(crate) mod operations;
mod player;
mod process;
pub(crate) mod request;
pub(crate) mod response;
mod routes;
mod send;
mod srt_stats;
pub(crate) mod stat;
pub(crate) mod trust;

use std::sync::Arc;

use crate::server::control::admission::Admission;
use crate::server::control::live::Current;
use crate::server::hls::muxer::Muxers;
use crate::server::net::log_limit::PeerWarnings;
use crate::server::relay::pull::Pulls;
use crate::server::stream::registry::Registry;
use held::Places;
use operations::Operations;

/// What the HTTP door needs of the rest of the server, which
/// `server/mod.rs` hands it.
pub(crate) struct Http {
    /// The settings in force; each request takes those of its start.
    pub(crate) current: Current,
    pub(crate) registry: Arc<Registry>,
    pub(crate) admission: Arc<Admission>,
    pub(crate) muxers: Arc<Muxers>,
    /// Whether a stream is being pulled (HLS starts muxing it).
    pub(crate) pulls: Arc<Pulls>,
    pub(crate) warnings: Arc<PeerWarnings>,
    /// The process's own secret: signs HLS tokens (`hls_token.rs`) and
    /// keys the stand-ins of hidden stream names (`names.rs`). Drawn once,
    /// so that a reload of the settings leaves viewers' tokens valid and
    /// stand-ins the same.
    pub(crate) secret: [u8; 32],
    /// Requests held waiting (LL-HLS reloads, plays of a name not live).
    pub(crate) held: Places,
    /// What the API reads and changes.
    pub(crate) server: Arc<dyn Operations>,
}
