//! `Figures`: the server's streams, clients and pushes as one caller may
//! see them: the API, `/stat` and `/metrics` show a publish keys file's
//! stream names (which are credentials) only to a caller trusted to
//! change things.

use std::net::SocketAddr;

use super::request::Request;
use super::{Http, names, trust};
use crate::server::control::clients::ClientStats;
use crate::server::control::live::Live;
use crate::server::relay::push::PushStats;
use crate::server::stream::StreamStats;

/// The server's figures, as one caller may see them.
pub(crate) struct Figures {
    pub(crate) streams: Vec<StreamStats>,
    pub(crate) clients: Vec<ClientStats>,
    pub(crate) pushes: Vec<PushStats>,
}

impl Figures {
    /// The figures as they are.
    pub(crate) fn of(http: &Http) -> Figures {
        Figures {
            streams: http.server.streams(),
            clients: http.server.clients(),
            pushes: http.server.pushes(),
        }
    }

    /// The figures for `request`: under a publish keys file, whose names
    /// are credentials, with names hidden (`names`) from a caller that may
    /// not change things or that a page of another origin sent.
    pub(crate) fn as_seen_by(http: &Http, live: &Live, request: &Request, peer: SocketAddr) -> Figures {
        let mut figures = Figures::of(http);
        let foreign = trust::foreign_sender(request);
        let trusted = request.origin.is_none()
            && (live.gates.server())
                .may_change(peer.ip(), request.authorization.as_deref(), foreign)
                .is_ok();
        if live.config.names_are_secret() && !trusted {
            let Figures {
                streams,
                clients,
                pushes,
            } = &mut figures;
            names::hide(&http.secret, streams, clients, pushes);
        }
        figures
    }
}
