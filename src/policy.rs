//! `Policy`: a program that embeds the server decides who connects,
//! publishes and plays, and under which name. The server asks it after
//! its own access rules (`Access`) have let a request through.
//!
//! ```no_run
//! use std::sync::Arc;
//! use rustic_rtmp::{Config, Decision, Policy, PolicyRequest, Server};
//!
//! /// Only `live/cam*` may publish; `live/tv` plays `live/cam1`.
//! #[derive(Debug)]
//! struct Studio;
//!
//! impl Policy for Studio {
//!     fn publish(&self, request: &PolicyRequest<'_>) -> Decision {
//!         match request.name.starts_with("cam") {
//!             true => Decision::Allow,
//!             false => Decision::Deny(format!("{} is not a camera", request.name)),
//!         }
//!     }
//!
//!     fn play(&self, request: &PolicyRequest<'_>) -> Decision {
//!         match request.name {
//!             "tv" => Decision::Rename("cam1".into()),
//!             _ => Decision::Allow,
//!         }
//!     }
//! }
//!
//! let mut config = Config {
//!     policy: Some(Arc::new(Studio)),
//!     ..Config::default()
//! };
//! config.rtmp.bind = "127.0.0.1:1935".parse().unwrap();
//! let server = Server::start(config).unwrap();
//! ```

use std::fmt::Debug;
use std::net::SocketAddr;

use crate::media::StreamKey;

/// What a request asks, for a `Policy` to decide.
#[derive(Debug, Clone, Copy)]
pub struct PolicyRequest<'a> {
    /// The connection's number (as in the API and the events).
    pub id: u64,
    /// The peer's address.
    pub addr: SocketAddr,
    /// The application.
    pub app: &'a str,
    /// The stream name, without its query; empty for `connect`.
    pub name: &'a str,
    /// The query of the stream name (or, for `connect`, of the app).
    pub query: &'a str,
    /// The `flashVer` the client sent with `connect`; empty over HTTP.
    pub flash_ver: &'a str,
    /// The `tcUrl` the client sent with `connect`; empty over HTTP.
    pub tc_url: &'a str,
}

/// A `Policy`'s answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Go on.
    Allow,
    /// Refuse, saying why: RTMP clients get `NetConnection.Connect.Rejected`,
    /// `NetStream.Publish.Denied` or `NetStream.Play.Failed` with this
    /// description, HTTP players a 403.
    Deny(String),
    /// Publish or play this name (in the same application) instead. A
    /// `connect` cannot be renamed: it goes on.
    Rename(String),
    /// Go on, relayed through this `rtmp://` URL (nginx-rtmp's 3xx to a
    /// URL): a publish is pushed there as well, and a play of a stream
    /// nobody publishes here pulls it from there. A `connect` goes on.
    Relay(String),
}

/// Where an allowed publish or play goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Routed {
    pub(crate) key: StreamKey,
    /// A URL to push the publish to, or pull the play from.
    pub(crate) relay: Option<String>,
}

impl Decision {
    /// Where a publish or play of `key` goes, or why it is denied.
    pub(crate) fn route(self, key: &StreamKey) -> Result<Routed, String> {
        let (key, relay) = match self {
            Decision::Allow => (key.clone(), None),
            Decision::Rename(name) => (StreamKey::new(key.app.clone(), name), None),
            Decision::Relay(url) => (key.clone(), Some(url)),
            Decision::Deny(why) => return Err(why),
        };
        Ok(Routed { key, relay })
    }
}

/// Decides connects, publishes and plays. Every method allows by default.
/// Calls come from connection threads, so keep them quick: a slow answer
/// holds up that connection only, not the others.
pub trait Policy: Send + Sync + Debug {
    /// An RTMP `connect`.
    fn connect(&self, request: &PolicyRequest<'_>) -> Decision {
        let _ = request;
        Decision::Allow
    }

    /// A `publish`.
    fn publish(&self, request: &PolicyRequest<'_>) -> Decision {
        let _ = request;
        Decision::Allow
    }

    /// A `play`, over RTMP or HTTP.
    fn play(&self, request: &PolicyRequest<'_>) -> Decision {
        let _ = request;
        Decision::Allow
    }
}
