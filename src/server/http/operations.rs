//! `Operations`: what the API reads and changes, which are the operations
//! `ServerHandle` offers an embedding program (streams, clients, pushes,
//! recordings, kicks, drains), written once in `server/mod.rs` over the
//! wings and given to the HTTP door as this trait, so that the door never
//! imports what composes it.

use std::net::SocketAddr;
use std::time::Instant;

use crate::config::Record;
use crate::media::StreamKey;
use crate::server::control::clients::ClientStats;
use crate::server::control::live::Live;
use crate::server::http::metrics::Totals;
use crate::server::relay::push::{NotAdded, PushStats};
use crate::server::stream::StreamStats;
use crate::server::stream::kind::ConnId;

pub(crate) trait Operations: Send + Sync {
    /// Every stream's statistics, with its HLS viewers.
    fn streams(&self) -> Vec<StreamStats>;
    /// Every open connection and HLS viewer, by number.
    fn clients(&self) -> Vec<ClientStats>;
    /// Every push relay.
    fn pushes(&self) -> Vec<PushStats>;
    /// Server-wide figures: connections, bytes, failures.
    fn totals(&self) -> Totals;
    /// When the server started, and an id for this start (the API's
    /// `service`).
    fn started(&self) -> (Instant, &str);
    /// Where RTMP clients connect.
    fn rtmp_addr(&self) -> SocketAddr;
    /// Pushes `key` to `url` too, within the API's bounds.
    fn add_push(&self, live: &Live, key: &StreamKey, url: String) -> Result<(), NotAdded>;
    /// Stops pushing `key` to `url`; false when it was not.
    fn remove_push(&self, key: &StreamKey, url: &str) -> bool;
    /// Records `key`, published by `publisher` from `addr`, with
    /// `settings`, unless it is recorded already.
    fn record(&self, live: &Live, key: &StreamKey, publisher: (ConnId, SocketAddr), settings: Record);
    /// Stops recording `key`; false when it was not.
    fn stop_record(&self, key: &StreamKey) -> bool;
    /// Closes connection `id`; false when there is none.
    fn kick(&self, id: ConnId) -> bool;
    /// Starts or ends a drain.
    fn drain(&self, draining: bool);
}
