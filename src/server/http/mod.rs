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
pub(crate) mod connection;
mod held;
mod hls;
mod hls_token;
pub(crate) mod metrics;
mod names;
mod player;
mod process;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod stat;
pub(crate) mod trust;
