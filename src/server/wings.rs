//! `Wings`: what this server is made of, as `Server::start` built it,
//! and the API's operations over them (`Operations`), written once for the
//! API and `ServerHandle`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use super::control::admission::Admission;
use super::control::clients::ClientStats;
use super::control::connections::{Connections, Door};
use super::control::live::{Current, Live};
use super::control::started::OnPublishes;
use super::http::metrics::Totals;
use super::http::operations::Operations;
use super::net::log_limit::PeerWarnings;
use super::relay::push::{NotAdded, PushStats};
use super::stream::StreamStats;
use super::stream::events::Events;
use super::stream::kind::ConnId;
use super::stream::registry::Registry;
use super::{hls, record, relay, srt};
use crate::config::Record;
use crate::media::StreamKey;

/// The wings this server is composed of, as `Server::start` built them:
/// what the accept threads, `ServerHandle` and the API's operations reach.
/// No wing sees it; each was handed what it needs.
pub(super) struct Wings {
    /// The settings of this start or of the last reload.
    pub(super) live: Current,
    /// Where RTMP clients connect (the real port when `config.rtmp.bind` asked
    /// for 0), for the API.
    pub(super) rtmp_addr: SocketAddr,
    /// What embedding programs hear of (`ServerHandle::events`).
    pub(super) events: Events,
    /// When the server started, and an id for this start (the API's
    /// `service`).
    pub(super) started: Instant,
    pub(super) service: String,
    pub(super) registry: Arc<Registry>,
    pub(super) stopping: AtomicBool,
    /// The one admission path, with its drain.
    pub(super) admission: Arc<Admission>,
    /// Told when a publish starts: recordings, pushes, HLS files.
    pub(super) on_publish: OnPublishes,
    /// Every push relay running.
    pub(super) pushes: Arc<relay::push::Pushes>,
    /// Every pull running.
    pub(super) pulls: Arc<relay::pull::Pulls>,
    /// Each stream's HLS muxer, and its SRT feed.
    pub(super) muxers: Arc<hls::muxer::Muxers>,
    pub(super) feeds: Arc<srt::Feeds>,
    /// Every recording under way.
    pub(super) recorders: Arc<record::Recorders>,
    /// Warnings about peers, server-wide.
    pub(super) warnings: Arc<PeerWarnings>,
    /// Every open connection.
    pub(super) connections: Arc<Connections>,
}

/// The API's operations are `ServerHandle`'s.
impl Operations for Wings {
    fn streams(&self) -> Vec<StreamStats> {
        let mut streams = self.registry.stats();
        self.muxers.count_viewers(&mut streams);
        self.feeds.count_readers(&mut streams);
        streams
    }

    fn clients(&self) -> Vec<ClientStats> {
        let mut clients = self.connections.stats();
        clients.extend(self.muxers.sessions());
        clients.sort_by_key(|c| c.id);
        clients
    }

    fn pushes(&self) -> Vec<PushStats> {
        self.pushes.stats()
    }

    fn totals(&self) -> Totals {
        let open = self.connections.figures();
        let refused = |door: Door, which: usize| open.refused[door as usize][which];
        Totals {
            connections: open.open,
            accepted: open.accepted,
            refused: vec![
                // SRT's connections count against RTMP's limits.
                ("max_connections", refused(Door::Rtmp, 0) + refused(Door::Srt, 0)),
                ("max_connections_per_ip", refused(Door::Rtmp, 1) + refused(Door::Srt, 1)),
                ("http_max_connections", refused(Door::Http, 0)),
                ("http_max_connections_per_ip", refused(Door::Http, 1)),
            ],
            recv_bytes: open.recv_bytes,
            send_bytes: open.send_bytes,
            slow_players_disconnected: self.registry.forgotten_slow(),
            record_errors: self.recorders.errors(),
            hook_events_dropped: self.events.dropped(),
            hls_requests: self.muxers.requests(),
        }
    }

    fn started(&self) -> (Instant, &str) {
        (self.started, &self.service)
    }

    fn rtmp_addr(&self) -> SocketAddr {
        self.rtmp_addr
    }

    fn add_push(&self, live: &Live, key: &StreamKey, url: String) -> Result<(), NotAdded> {
        self.pushes.add(live, key, url)
    }

    fn remove_push(&self, key: &StreamKey, url: &str) -> bool {
        self.pushes.stop(key, url)
    }

    fn record(&self, live: &Live, key: &StreamKey, (id, addr): (ConnId, SocketAddr), settings: Record) {
        if !self.recorders.records(key) {
            self.recorders.start_with(live, key, id, addr, settings);
        }
    }

    fn stop_record(&self, key: &StreamKey) -> bool {
        self.recorders.stop(key)
    }

    fn kick(&self, id: ConnId) -> bool {
        self.connections.kick(id)
    }

    fn drain(&self, draining: bool) {
        self.admission.drain(draining);
    }
}
