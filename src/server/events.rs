//! `Event`s for a program that embeds the server: connections, publishes,
//! plays, slow players dropped. They go into one bounded channel with
//! `try_send`: a program that reads them late loses the newest, and one
//! that never reads costs the server nothing but the channel's room.

use std::net::SocketAddr;
use std::path::PathBuf;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::clients::ClientKind;
use crate::media::StreamKey;

/// Events kept for a reader that is behind; past this the newest are lost.
const CAPACITY: usize = 4096;

/// Something that happened on the server (`ServerHandle::events`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A connection was accepted (RTMP or HTTP).
    Opened {
        /// The connection's number.
        id: u64,
        /// The peer's address.
        addr: SocketAddr,
    },
    /// A connection closed.
    Closed {
        /// The connection's number.
        id: u64,
    },
    /// A connection started publishing `key`.
    PublishStarted {
        /// The connection's number.
        id: u64,
        /// The stream.
        key: StreamKey,
    },
    /// The publish by `id` ended.
    PublishStopped {
        /// The connection's number.
        id: u64,
        /// The stream.
        key: StreamKey,
    },
    /// A connection started playing `key`.
    PlayStarted {
        /// The connection's number.
        id: u64,
        /// The stream.
        key: StreamKey,
        /// How it plays: `RtmpPlay`, `FlvPlay` or `Mp4Play`.
        kind: ClientKind,
    },
    /// The play by `id` ended.
    PlayStopped {
        /// The connection's number.
        id: u64,
        /// The stream.
        key: StreamKey,
    },
    /// A recorded file is complete.
    RecordingDone {
        /// The publishing connection's number.
        id: u64,
        /// Its address.
        addr: SocketAddr,
        /// The stream.
        key: StreamKey,
        /// The file.
        path: PathBuf,
    },
    /// A player fell too far behind and was disconnected.
    SlowPlayerDropped {
        /// The connection's number.
        id: u64,
        /// The stream.
        key: StreamKey,
    },
}

/// The sending side, shared by every part of the server.
#[derive(Clone)]
pub(crate) struct Events {
    sender: Sender<Event>,
    receiver: Receiver<Event>,
    /// Workers of the server's own that act on events (webhooks, exec).
    listeners: Vec<Sender<Event>>,
}

impl Events {
    pub(crate) fn new() -> Events {
        let (sender, receiver) = bounded(CAPACITY);
        Events {
            sender,
            receiver,
            listeners: Vec::new(),
        }
    }

    /// A channel of its own for a worker of the server's, which gets every
    /// event emitted from here on (by this `Events` and its clones made
    /// after).
    pub(crate) fn listen(&mut self) -> Receiver<Event> {
        let (listener, worker) = bounded(CAPACITY);
        self.listeners.push(listener);
        worker
    }

    /// Sends `event` to each channel that has room.
    pub(crate) fn emit(&self, event: Event) {
        for listener in &self.listeners {
            let _ = listener.try_send(event.clone());
        }
        let _ = self.sender.try_send(event);
    }

    /// The receiving side.
    pub(crate) fn receiver(&self) -> Receiver<Event> {
        self.receiver.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_channel_drops_the_newest_without_blocking() {
        let events = Events::new();
        for id in 0..CAPACITY as u64 + 10 {
            events.emit(Event::Closed { id });
        }
        let got: Vec<Event> = events.receiver().try_iter().collect();
        assert_eq!(got.len(), CAPACITY);
        assert_eq!(
            got.last(),
            Some(&Event::Closed {
                id: CAPACITY as u64 - 1
            })
        );
    }
}
