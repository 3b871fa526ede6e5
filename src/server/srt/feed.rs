//! A stream as MPEG-TS for its SRT readers, muxed once however many read:
//! the first reader of a stream starts its feed, a player of the stream
//! inside the process (`LocalPlayer`, kind `srt-feed`) that turns each
//! frame into TS packets (`ts::Muxer`, the program tables before each
//! keyframe) and hands the same bytes to every reader's queue. The feed
//! ends once no reader is left.
//!
//! A reader starts at a keyframe, tables first. Each reader's queue is
//! bounded in bytes (`players.queue_max_bytes`): a reader that falls
//! behind loses what does not fit and starts again at the next keyframe,
//! as a slow RTMP player skips to one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};
use log::debug;
use parking_lot::Mutex;

use crate::config::{PlayerSettings, THREAD_STACK};
use crate::media::fmp4::{self, Fragment, Fragmenter, VIDEO_TRACK};
use crate::media::{Frame, FrameKind, StreamKey, ts};
use crate::server::stream::kind::ClientKind;
use crate::server::stream::local::{Item, LocalPlayer};
use crate::server::stream::registry::Registry;
use crate::server::stream::stats::StreamStats;

/// Audio-only streams get the tables again after this many frames, so
/// that a reader can start.
const AUDIO_TABLES_EVERY: u32 = 50;

/// TS packets for readers: whole 188-byte packets of one frame.
pub(crate) struct Chunk {
    /// A reader may start here: the tables, then a keyframe (or, without
    /// video, an audio frame).
    pub(crate) start: bool,
    pub(crate) bytes: Vec<u8>,
}

/// Every stream's feed while it has readers.
pub(crate) struct Feeds {
    registry: Arc<Registry>,
    running: Mutex<HashMap<StreamKey, Arc<Feed>>>,
}

/// One stream's feed.
struct Feed {
    readers: Mutex<Vec<Queue>>,
    ended: AtomicBool,
}

/// A reader's queue, as the feed sees it.
struct Queue {
    chunks: Sender<Arc<Chunk>>,
    held: Arc<AtomicUsize>,
    /// Lost a chunk: waits for the next start.
    skipping: bool,
}

impl Queue {
    /// Whether its reader dropped its end (`Reading` holds the other
    /// count).
    fn gone(&self) -> bool {
        Arc::strong_count(&self.held) == 1
    }
}

/// A reader's end of its feed; dropping it leaves.
pub(crate) struct Reading {
    pub(crate) chunks: Receiver<Arc<Chunk>>,
    held: Arc<AtomicUsize>,
}

impl Reading {
    /// Counts `chunk` as taken off the queue.
    pub(crate) fn taken(&self, chunk: &Chunk) {
        self.held.fetch_sub(chunk.bytes.len(), Ordering::Relaxed);
    }
}

impl Feeds {
    pub(crate) fn new(registry: Arc<Registry>) -> Feeds {
        Feeds {
            registry,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Joins `key`'s feed, starting it if it runs for nobody yet.
    pub(crate) fn read(self: &Arc<Self>, players: &PlayerSettings, key: &StreamKey) -> std::io::Result<Reading> {
        let (chunks, receiver) = unbounded();
        let held = Arc::new(AtomicUsize::new(0));
        let queue = Queue {
            chunks,
            held: held.clone(),
            skipping: true,
        };
        let mut running = self.running.lock();
        if let Some(feed) = running.get(key).filter(|feed| !feed.ended.load(Ordering::Relaxed)) {
            feed.readers.lock().push(queue);
            return Ok(Reading { chunks: receiver, held });
        }
        let feed = Arc::new(Feed {
            readers: Mutex::new(vec![queue]),
            ended: AtomicBool::new(false),
        });
        let player = LocalPlayer::join(&self.registry, players, key, ClientKind::SrtFeed);
        let (thread_feed, feeds, key_owned) = (feed.clone(), Arc::downgrade(self), key.clone());
        let limit = players.queue_max_bytes;
        std::thread::Builder::new()
            .name(format!("srt-feed-{}", player.id))
            .stack_size(THREAD_STACK)
            .spawn(move || {
                thread_feed.run(&player, limit);
                thread_feed.ended.store(true, Ordering::Relaxed);
                forget(&feeds, &key_owned, &thread_feed);
            })?;
        running.insert(key.clone(), feed);
        Ok(Reading { chunks: receiver, held })
    }
}

impl Feeds {
    /// Fills in how many read each of `streams` over SRT.
    pub(crate) fn count_readers(&self, streams: &mut [StreamStats]) {
        let running = self.running.lock();
        for stream in streams {
            stream.players_by_protocol.srt = running.get(&stream.key).map_or(0, |feed| feed.readers.lock().len());
        }
    }
}

/// Takes an ended feed off the table, unless another took its place.
fn forget(feeds: &Weak<Feeds>, key: &StreamKey, feed: &Arc<Feed>) {
    let Some(feeds) = feeds.upgrade() else { return };
    let mut running = feeds.running.lock();
    if running.get(key).is_some_and(|f| Arc::ptr_eq(f, feed)) {
        running.remove(key);
    }
}

impl Feed {
    fn run(&self, player: &LocalPlayer, limit: usize) {
        let mut muxing = Muxing::default();
        loop {
            match player.media.recv_timeout(Duration::from_secs(1)) {
                Ok(queued) => match player.taken(&queued) {
                    Some(Item::Frame(frame)) => {
                        for chunk in muxing.take(frame) {
                            self.hand_out(Arc::new(chunk), limit);
                        }
                    }
                    Some(Item::StreamEnd) => muxing = Muxing::default(),
                    None => {}
                },
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            // Under the table's lock a reader could join: checked again
            // by `read`, which starts a new feed once this one has ended.
            let mut readers = self.readers.lock();
            readers.retain(|queue| !queue.gone());
            if readers.is_empty() {
                self.ended.store(true, Ordering::Relaxed);
                debug!("srt-feed#{}: no reader left", player.id);
                return;
            }
        }
    }

    /// Queues `chunk` for every reader it fits.
    fn hand_out(&self, chunk: Arc<Chunk>, limit: usize) {
        let mut readers = self.readers.lock();
        readers.retain_mut(|queue| {
            if queue.gone() {
                return false;
            }
            if queue.skipping && !chunk.start {
                return true;
            }
            let len = chunk.bytes.len();
            if queue.held.load(Ordering::Relaxed) + len > limit {
                queue.skipping = true;
                return true;
            }
            queue.skipping = false;
            queue.held.fetch_add(len, Ordering::Relaxed);
            queue.chunks.send(chunk.clone()).is_ok()
        });
    }
}

/// What the feed keeps between frames.
#[derive(Default)]
struct Muxing {
    /// The sequence headers: video, audio.
    headers: [Option<Vec<u8>>; 2],
    packing: Option<Fragmenter<ts::Muxer>>,
    has_video: bool,
    since_tables: u32,
}

impl Muxing {
    /// Takes a frame; the chunks it completes.
    fn take(&mut self, frame: &Frame) -> Vec<Chunk> {
        let Some(tag) = frame.tag() else { return Vec::new() };
        if tag.track != 0 {
            return Vec::new(); // MPEG-TS carries the main track of each kind
        }
        let slot = usize::from(frame.kind == FrameKind::Audio);
        if frame.is_sequence_header() {
            if self.headers[slot].as_ref() != Some(&frame.payload) {
                self.headers[slot] = Some(frame.payload.clone());
                self.restart();
            }
            return Vec::new();
        }
        let Some(packing) = self.packing.as_mut() else {
            return Vec::new();
        };
        let Some(fragment) = packing.push(frame.kind, &frame.payload, u64::from(frame.timestamp.0)) else {
            return Vec::new();
        };
        vec![self.chunk(fragment)]
    }

    /// A new muxer for new sequence headers: the tables change.
    fn restart(&mut self) {
        let kinds = [FrameKind::Video, FrameKind::Audio];
        let [video, audio] = [0, 1].map(|slot| {
            let header = self.headers[slot].as_deref()?;
            fmp4::configuration(kinds[slot], header).ok().flatten()
        });
        let muxer = ts::Muxer::new(video, audio);
        self.has_video = muxer.carries(VIDEO_TRACK);
        self.packing = Some(Fragmenter::new(muxer));
        self.since_tables = AUDIO_TABLES_EVERY;
    }

    fn chunk(&mut self, fragment: Fragment) -> Chunk {
        let packing = self.packing.as_mut().expect("a fragment came from it");
        self.since_tables += 1;
        let start = match self.has_video {
            true => fragment.keyframe,
            false => self.since_tables >= AUDIO_TABLES_EVERY,
        };
        let mut bytes = Vec::new();
        if start {
            self.since_tables = 0;
            bytes = packing.packer.tables();
        }
        bytes.extend_from_slice(&fragment.bytes);
        Chunk { start, bytes }
    }
}
