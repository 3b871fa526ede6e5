//! `Event`s for a program that embeds the server and for the server's own
//! workers (webhooks, exec): connections, publishes, plays, slow players
//! dropped, recordings done.
//!
//! The program's channel is bounded and filled with `try_send`: a program
//! that reads it late loses the newest, and one that never reads costs
//! the server nothing but the channel's room. A worker's queue never
//! loses an end (a connection closed, a publish or play stopped, a
//! recording done), since a lost `publish_done` would leave an
//! `exec_publish` command running for ever; past `CAPACITY` queued it
//! loses the other events instead, counted for the metrics. Ends stay
//! few even then: each follows a connection or a start, and a worker
//! passes over one whose start it never saw without calling anyone.
//! At shutdown the workers' queues close, and each worker ends once it
//! has handled what was queued.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use parking_lot::RwLock;

use crate::media::StreamKey;
use crate::server::stream::kind::ClientKind;

/// Events kept for a reader that is behind; past this the newest are
/// lost (for a worker, all but ends).
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

impl Event {
    /// An end of something a worker may have started on (a command, a
    /// timer) or must tell of: never dropped from a worker's queue.
    fn is_end(&self) -> bool {
        match self {
            Event::Closed { .. }
            | Event::PublishStopped { .. }
            | Event::PlayStopped { .. }
            | Event::RecordingDone { .. } => true,
            Event::Opened { .. }
            | Event::PublishStarted { .. }
            | Event::PlayStarted { .. }
            | Event::SlowPlayerDropped { .. } => false,
        }
    }
}

/// The sending side, shared by every part of the server.
#[derive(Clone)]
pub(crate) struct Events {
    sender: Sender<Event>,
    receiver: Receiver<Event>,
    /// The queue of each worker of the server's own that acts on events
    /// (webhooks, exec); emptied by `close_workers`.
    workers: Arc<RwLock<Vec<Sender<Event>>>>,
    /// Events a worker had no room for.
    dropped: Arc<AtomicU64>,
}

impl Events {
    pub(crate) fn new() -> Events {
        let (sender, receiver) = bounded(CAPACITY);
        Events {
            sender,
            receiver,
            workers: Arc::default(),
            dropped: Arc::default(),
        }
    }

    /// A queue of its own for a worker of the server's, which gets every
    /// event emitted from here on, by this `Events` and all its clones.
    /// It is unbounded only for ends: see the module's doc.
    pub(crate) fn listen(&self) -> Receiver<Event> {
        let (queue, worker) = unbounded();
        self.workers.write().push(queue);
        worker
    }

    /// Sends `event` to every worker (an end always, anything else if
    /// there is room) and to the program's channel if there is room.
    pub(crate) fn emit(&self, event: Event) {
        let end = event.is_end();
        for queue in self.workers.read().iter() {
            if end || queue.len() < CAPACITY {
                let _ = queue.send(event.clone());
            } else {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        let _ = self.sender.try_send(event);
    }

    /// Closes the workers' queues: each worker gets what is queued, then
    /// the end of its queue. Events emitted after go to the program only.
    pub(crate) fn close_workers(&self) {
        self.workers.write().clear();
    }

    /// Events the workers had no room for, since the start.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
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

    #[test]
    fn a_full_worker_queue_drops_starts_counted_but_never_an_end() {
        let events = Events::new();
        let worker = events.listen();
        let key = StreamKey::new("live", "cam");
        for id in 0..CAPACITY as u64 + 10 {
            events.emit(Event::PublishStarted { id, key: key.clone() });
        }
        assert_eq!(events.dropped(), 10, "the starts past the room");
        let end = Event::PublishStopped { id: 0, key };
        events.emit(end.clone());
        assert_eq!(events.dropped(), 10, "the end is not dropped");
        let got: Vec<Event> = worker.try_iter().collect();
        assert_eq!(got.len(), CAPACITY + 1);
        assert_eq!(got.last(), Some(&end));
    }

    #[test]
    fn closed_worker_queues_hand_over_what_was_queued_then_end() {
        let events = Events::new();
        let worker = events.listen();
        let clone = events.clone();
        clone.emit(Event::Closed { id: 1 });
        events.close_workers();
        clone.emit(Event::Closed { id: 2 });
        assert_eq!(worker.recv(), Ok(Event::Closed { id: 1 }));
        assert!(worker.recv().is_err(), "the queue ended");
        assert_eq!(events.receiver().len(), 2, "the program still hears of both");
    }
}
