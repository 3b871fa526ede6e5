//! `Registry`: the live streams by `(app, name)`, and the RAII handles that
//! keep a publisher or player registered exactly as long as they live.
//!
//! Lock order is registry, then stream; never the reverse.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::config::StreamSettings;
use crate::media::{Frame, StreamKey};
use crate::server::stream::cache::CacheError;
use crate::server::stream::events::{Event, Events};
use crate::server::stream::kind::ConnId;
use crate::server::stream::live_stream::{Start, Stream};
use crate::server::stream::outlet::Outlet;
use crate::server::stream::stats::{PublisherInfo, StreamStats};

/// All streams with a publisher or a player.
pub(crate) struct Registry {
    config: StreamSettings,
    /// The chunk size every stream chunks its frames at: the one the
    /// sessions announce (`Config::rtmp.session`).
    chunk_size: u32,
    events: Events,
    /// The next stream's number, for the API.
    next_id: AtomicU64,
    /// The next connection's number: every connection, HLS viewer and
    /// in-process player or publisher takes one (`new_conn_id`).
    next_conn_id: AtomicU64,
    /// Slow players disconnected from streams already forgotten.
    forgotten_slow: AtomicU64,
    streams: Mutex<HashMap<StreamKey, Arc<Stream>>>,
}

/// A connection's right to publish on a stream; dropping it ends the publish.
pub(crate) struct Publishing {
    registry: Arc<Registry>,
    stream: Arc<Stream>,
    id: ConnId,
}

/// A connection's place among a stream's players; dropping it leaves.
pub(crate) struct Playing {
    registry: Arc<Registry>,
    stream: Arc<Stream>,
    id: ConnId,
}

impl Registry {
    pub(crate) fn new(config: StreamSettings, chunk_size: u32, events: Events) -> Registry {
        Registry {
            config,
            chunk_size,
            events,
            next_id: AtomicU64::new(1),
            next_conn_id: AtomicU64::new(1),
            forgotten_slow: AtomicU64::new(0),
            streams: Mutex::new(HashMap::new()),
        }
    }

    /// A number for a new connection, unique in this server's life.
    pub(crate) fn new_conn_id(&self) -> ConnId {
        self.next_conn_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Runs `f` on the stream for `key`, creating it if needed, under the
    /// registry lock so that `release` cannot drop it in between.
    fn with_stream<T>(&self, key: &StreamKey, f: impl FnOnce(&Stream) -> T) -> (Arc<Stream>, T) {
        let mut streams = self.streams.lock();
        let stream = streams
            .entry(key.clone())
            .or_insert_with(|| {
                let id = self.next_id.fetch_add(1, Ordering::Relaxed);
                Arc::new(Stream::new(
                    id,
                    key.clone(),
                    (self.config, self.chunk_size),
                    self.events.clone(),
                ))
            })
            .clone();
        let out = f(&stream);
        (stream, out)
    }

    /// Starts publishing `key` for connection `id`; `None` when another
    /// publisher holds it.
    pub(crate) fn publish(self: &Arc<Self>, key: &StreamKey, id: ConnId, info: PublisherInfo) -> Option<Publishing> {
        self.publish_or_take_over(key, id, info, false)
            .map(|(publishing, _)| publishing)
    }

    /// `publish`, or with `takeover`, in place of the live publisher,
    /// whose number comes back to be closed.
    pub(crate) fn publish_or_take_over(
        self: &Arc<Self>,
        key: &StreamKey,
        id: ConnId,
        info: PublisherInfo,
        takeover: bool,
    ) -> Option<(Publishing, Option<ConnId>)> {
        let (stream, started) = self.with_stream(key, |s| s.start_publish(id, info, takeover));
        let replaced = match started {
            Start::Taken => return None,
            Start::Started => None,
            Start::TookOver(old) => Some(old),
        };
        self.events.emit(Event::PublishStarted { id, key: key.clone() });
        let publishing = Publishing {
            registry: self.clone(),
            stream,
            id,
        };
        Some((publishing, replaced))
    }

    /// Adds connection `id` as a player of `key`, whether or not it is
    /// published yet.
    pub(crate) fn play(self: &Arc<Self>, key: &StreamKey, id: ConnId, outlet: Arc<Outlet>) -> Playing {
        let kind = outlet.player_kind();
        let stream = self.subscribe(key, id, outlet);
        let key = key.clone();
        self.events.emit(Event::PlayStarted { id, key, kind });
        Playing {
            registry: self.clone(),
            stream,
            id,
        }
    }

    /// Adds player `id` to `key`'s stream (made if missing).
    // Never inlined into `play`: its frame (3 KiB, the stream's caches
    // handed to the player) would then sit under the event's emission, and
    // every player's thread would touch one more page of stack for it:
    // 4 KiB of RSS per player (bench: HTTP-FLV 24 against 18 KiB).
    #[inline(never)]
    fn subscribe(&self, key: &StreamKey, id: ConnId, outlet: Arc<Outlet>) -> Arc<Stream> {
        self.with_stream(key, |s| s.subscribe(id, outlet)).0
    }

    /// Whether `key` has a publisher.
    pub(crate) fn is_live(&self, key: &StreamKey) -> bool {
        self.streams.lock().get(key).is_some_and(|s| s.is_live())
    }

    /// Players of `key` who watch (not recorders or push relays).
    pub(crate) fn audience(&self, key: &StreamKey) -> usize {
        self.streams.lock().get(key).map_or(0, |s| s.audience())
    }

    /// Takes player `id` off `key`'s players (its queue closes once taken).
    pub(crate) fn unsubscribe(&self, key: &StreamKey, id: ConnId) {
        if let Some(stream) = self.streams.lock().get(key) {
            stream.unsubscribe(id);
        }
    }

    /// Sends StreamEOF to every player of every stream.
    pub(crate) fn end_all(&self) {
        let streams: Vec<Arc<Stream>> = self.streams.lock().values().cloned().collect();
        for stream in streams {
            stream.end_for_players();
        }
    }

    /// Statistics of every stream, sorted by key.
    pub(crate) fn stats(&self) -> Vec<StreamStats> {
        let streams: Vec<Arc<Stream>> = self.streams.lock().values().cloned().collect();
        let mut stats: Vec<StreamStats> = streams.iter().map(|s| s.stats()).collect();
        stats.sort_by(|a, b| a.key.cmp(&b.key));
        stats
    }

    /// Counts `bytes` sent for `key` past its players' queues (HLS files
    /// served to viewers), if the stream is still known.
    pub(crate) fn count_sent(&self, key: &StreamKey, bytes: u64) {
        let stream = self.streams.lock().get(key).cloned();
        if let Some(stream) = stream {
            stream.count_sent(bytes);
        }
    }

    /// Forgets `stream` if nobody uses it any more.
    fn release(&self, stream: &Stream) {
        let mut streams = self.streams.lock();
        if stream.is_idle() && streams.remove(stream.key()).is_some() {
            let slow = stream.stats().slow_disconnected;
            self.forgotten_slow.fetch_add(slow, Ordering::Relaxed);
        }
    }

    /// Slow players disconnected from streams already forgotten; the live
    /// streams' own counts make up the rest.
    pub(crate) fn forgotten_slow(&self) -> u64 {
        self.forgotten_slow.load(Ordering::Relaxed)
    }
}

impl Publishing {
    /// Adds a frame for the stream's players; `flush` sends it. An error
    /// says why the publisher must be closed.
    pub(crate) fn push(&self, frame: Frame) -> Result<(), CacheError> {
        self.stream.push(self.id, frame)
    }

    /// Sends the players what `push` added, or with merged writes, once it
    /// has waited long enough. Called after each read.
    pub(crate) fn flush(&self) {
        self.stream.flush_if_due();
    }

    /// Sends the players what `push` added, at once.
    pub(crate) fn flush_now(&self) {
        self.stream.flush_pending(std::time::Duration::ZERO);
    }
}

impl Drop for Publishing {
    fn drop(&mut self) {
        self.stream.end_publish(self.id);
        let key = self.stream.key().clone();
        self.registry.events.emit(Event::PublishStopped { id: self.id, key });
        self.registry.release(&self.stream);
    }
}

impl Playing {
    /// Whether the stream has a publisher now.
    pub(crate) fn is_live(&self) -> bool {
        self.stream.is_live()
    }

    /// Why the stream cannot be played as fMP4, if it cannot.
    pub(crate) fn fmp4_refusal(&self) -> Option<String> {
        self.stream.fmp4_refusal()
    }
}

impl Drop for Playing {
    fn drop(&mut self) {
        self.stream.unsubscribe(self.id);
        let key = self.stream.key().clone();
        self.registry.events.emit(Event::PlayStopped { id: self.id, key });
        self.registry.release(&self.stream);
    }
}
