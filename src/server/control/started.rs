//! "A publish started": what the wings that start work for every publish
//! (recording, push relays, HLS) register for, as nginx-rtmp's modules
//! chain on `publish`. A door or a pull that starts a publish tells
//! `OnPublishes` and names none of them; `server/mod.rs` lists them.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::media::StreamKey;
use crate::server::control::live::Live;
use crate::server::control::trail::Came;
use crate::server::stream::kind::ConnId;

/// A publish that has just started, whoever publishes (a connection, the
/// embedding program, a pull).
pub(crate) struct Started<'a> {
    /// The settings in force for it.
    pub(crate) live: &'a Live,
    pub(crate) key: &'a StreamKey,
    /// The publisher's connection number and address.
    pub(crate) id: ConnId,
    pub(crate) addr: SocketAddr,
    /// One more destination a webhook relayed the publish to.
    pub(crate) extra: Option<&'a str>,
    /// Where the stream came from (a relay trail), so that it is never
    /// pushed back there.
    pub(crate) came: &'a Came,
}

/// A wing that starts work of its own for each publish.
pub(crate) trait OnPublish: Send + Sync {
    fn started(self: Arc<Self>, publish: &Started<'_>);
}

/// Every wing told when a publish starts, in the order listed.
#[derive(Clone)]
pub(crate) struct OnPublishes(Arc<[Arc<dyn OnPublish>]>);

impl OnPublishes {
    pub(crate) fn new(wings: Vec<Arc<dyn OnPublish>>) -> OnPublishes {
        OnPublishes(wings.into())
    }

    /// Tells each wing, in turn, that `publish` started.
    pub(crate) fn tell(&self, publish: &Started<'_>) {
        for wing in self.0.iter() {
            wing.clone().started(publish);
        }
    }
}
