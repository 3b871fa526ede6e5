//! The one admission path: whether a connect, a publish or a play may
//! happen, whatever the door (RTMP, RTMPS, HTTP-FLV, fMP4, HLS). Each door
//! asks here before it starts any work (a muxer, a pull, a thread), so a
//! rule added here holds for every door at once.
//!
//! A connect: the logins of `authmod=adobe`, then the `on_connect` hook
//! and the `Policy`. A publish or a play, in order: a drain refuses
//! everything new; a name an exec hook or XML cannot carry is refused; a
//! publish by a push relay that this server's own pushes passed before is
//! a loop, refused; then the access rules (address lists, keys, the login
//! of the connect), the webhooks and the embedding program's `Policy`,
//! whose rename or relay carries on. An allowed play
//! of a stream nobody publishes here starts its pull from an origin.
//!
//! Out of scope: how each door carries the decision on (HLS's signed
//! URIs).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use log::info;

use crate::media::StreamKey;
use crate::policy::{Decision, PolicyRequest, Routed};
use crate::server::control::live::Live;
use crate::server::control::trail::Came;

/// Who asks: the connection and what it said of itself.
pub(crate) struct Asker<'a> {
    pub(crate) id: u64,
    pub(crate) addr: SocketAddr,
    /// RTMP's `flashVer` and `tcUrl`; empty for other doors.
    pub(crate) flash_ver: &'a str,
    pub(crate) tc_url: &'a str,
    /// Logged in with `authmod=adobe` (RTMP only).
    pub(crate) logged_in: bool,
}

impl Asker<'_> {
    /// An asker over HTTP, which says nothing of itself.
    pub(crate) fn http(id: u64, addr: SocketAddr) -> Asker<'static> {
        Asker {
            id,
            addr,
            flash_ver: "",
            tc_url: "",
            logged_in: false,
        }
    }

    fn request<'a>(&'a self, (app, name): (&'a str, &'a str), query: &'a str) -> PolicyRequest<'a> {
        PolicyRequest {
            id: self.id,
            addr: self.addr,
            app,
            name,
            query,
            flash_ver: self.flash_ver,
            tc_url: self.tc_url,
        }
    }
}

/// What an allowed play of a stream nobody publishes here starts: a pull
/// from an origin (`relay::pull`), which this path must not import, since
/// the relays use the settings and tables kept here.
pub(crate) trait Fetch: Send + Sync {
    /// Brings `routed.key` here, when nobody publishes it and a webhook
    /// relayed the play or its application has origins.
    fn for_play(self: Arc<Self>, live: &Live, routed: &Routed);
}

/// The admission path's own state: a drain, this server's id in relay
/// trails, and what fetches a stream for a play.
pub(crate) struct Admission {
    /// Set by a drain: no new publishers or players, `/healthz` says 503,
    /// those connected stay (`ServerHandle::drain`).
    draining: AtomicBool,
    relay_id: String,
    fetch: Arc<dyn Fetch>,
}

impl Admission {
    pub(crate) fn new(relay_id: String, fetch: Arc<dyn Fetch>) -> Admission {
        Admission {
            draining: AtomicBool::new(false),
            relay_id,
            fetch,
        }
    }

    /// Starts or ends a drain (`ServerHandle::drain`).
    pub(crate) fn drain(&self, draining: bool) {
        if self.draining.swap(draining, Ordering::Relaxed) != draining {
            info!(
                "{}",
                if draining {
                    "draining: no new publishers or players"
                } else {
                    "drain ended"
                }
            );
        }
    }

    /// Whether a drain is under way.
    pub(crate) fn draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Whether the server takes new publishers and players.
    fn open(&self, key: &StreamKey) -> Result<(), String> {
        if self.draining() {
            return Err("the server is draining: it takes no new publishers or players".into());
        }
        match key.fault() {
            Some(fault) => Err(format!("refused: {fault}")),
            None => Ok(()),
        }
    }

    /// May `asker` connect to `app` with `query`? The user it logged in as
    /// (`authmod=adobe`), or why not. Only RTMP has a connect step; a door
    /// without one asks for a publish or a play straight away. A drain
    /// lets connects through: what they ask next is refused.
    pub(crate) fn may_connect(
        &self,
        live: &Live,
        asker: &Asker<'_>,
        app: &str,
        query: &str,
    ) -> Result<Option<String>, String> {
        let user = live.gates.get(app).may_connect(query, asker.flash_ver)?;
        match live.decide(|p, r| p.connect(r), asker.request((app, ""), query)) {
            Decision::Deny(why) => Err(why),
            _ => Ok(user),
        }
    }

    /// May `asker` publish `key` with `query`? Where it goes (renamed, or
    /// relayed), or why not.
    pub(crate) fn may_publish(
        &self,
        live: &Live,
        asker: &Asker<'_>,
        key: &StreamKey,
        query: &str,
    ) -> Result<Routed, String> {
        self.open(key)?;
        if Came::from_publisher(asker.flash_ver, asker.addr).passed(&self.relay_id) {
            return Err("refused: a push loop: this stream was pushed out of this server".into());
        }
        let gate = live.gates.get(&key.app);
        gate.may_publish(asker.addr.ip(), key, query, asker.logged_in)?;
        live.decide(|p, r| p.publish(r), asker.request((&key.app, &key.name), query))
            .route(key)
    }

    /// May `asker` play `key` with `query`? The stream it plays (renamed,
    /// maybe, and fetched from an origin when it has one), or why not.
    pub(crate) fn may_play(
        &self,
        live: &Live,
        asker: &Asker<'_>,
        key: &StreamKey,
        query: &str,
    ) -> Result<StreamKey, String> {
        self.open(key)?;
        live.gates.get(&key.app).may_play(asker.addr.ip(), query)?;
        let routed = live
            .decide(|p, r| p.play(r), asker.request((&key.app, &key.name), query))
            .route(key)?;
        self.fetch.clone().for_play(live, &routed);
        Ok(routed.key)
    }
}

/// What an admitted publisher or player is doing, as `may_go_on` asks.
pub(crate) enum Doing {
    /// Publishing, logged in with `authmod=adobe` or not.
    Publishing {
        logged_in: bool,
    },
    Playing,
}

/// May what was admitted before go on under `live`'s access rules: an HLS
/// viewer at each file it asks for, a connection after a reload? Only the
/// address lists and keys are asked again; the hooks and the `Policy`
/// decided once, at the start, and a drain lets those admitted stay.
pub(crate) fn may_go_on(live: &Live, ip: IpAddr, key: &StreamKey, query: &str, doing: Doing) -> Result<(), String> {
    let gate = live.gates.get(&key.app);
    match doing {
        Doing::Publishing { logged_in } => gate.may_publish(ip, key, query, logged_in),
        Doing::Playing => gate.may_play(ip, query),
    }
}
