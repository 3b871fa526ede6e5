//! HLS for a stream, muxed on demand: the first request for a stream's
//! playlist starts a muxer, one per stream however many viewers there
//! are, if the stream is published or being pulled (a name nobody
//! publishes gets a 404, not a muxer), and the muxer ends once nobody has
//! asked for anything for `hls.idle`. With `--hls-dir`, a publish starts it too, and it writes
//! the files (`hls_files`) while the stream is published.
//!
//! The muxer is one more player of the stream (a socketless outlet, see
//! `local`) on a thread of its own: it takes the stream's frames as they
//! are, makes the init segment from the sequence headers and one fMP4 fragment
//! per frame (`fmp4::Fragmenter`), or with `--hls-variant mpegts` one PES
//! per frame (`ts::Muxer`, the program tables before each segment), and
//! cuts them into parts and segments (`media::hls`), kept in memory
//! within a byte budget all muxers share. HTTP connection threads read
//! those under a lock held only to copy out `Arc`s, and a blocking
//! playlist or part request waits on a condition variable that releases
//! the lock: it holds its own thread and nothing media needs.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use log::{debug, info, warn};
use parking_lot::{Condvar, Mutex};

use crate::config::THREAD_STACK;
use crate::media::fmp4::{self, Fragment, Fragmenter, Track, VIDEO_TRACK};
use crate::media::hls::{Ready, Segmenter, Timing, Variant, multivariant_playlist};
use crate::media::ts;
use crate::media::{Frame, FrameKind, StreamKey};
use crate::protocol::escape::Escaped;
use crate::server::control::clients::ClientStats;
use crate::server::control::live::Live;
use crate::server::control::started::{OnPublish, Started};
use crate::server::hls::files::{Batch, Files};
use crate::server::stream::StreamStats;
use crate::server::stream::kind::ClientKind;
use crate::server::stream::kind::ConnId;
use crate::server::stream::local::{Item, LocalPlayer};
use crate::server::stream::registry::Registry;

/// One stream's HLS: its init segment, segments and parts, and who waits.
pub(crate) struct Hls {
    pub(crate) id: ConnId,
    pub(crate) key: StreamKey,
    pub(crate) variant: Variant,
    timing: Timing,
    state: Mutex<State>,
    changed: Condvar,
    born: Instant,
    /// The first segment's number, and the first init segment's: the Unix
    /// time it started, so a muxer started again never reuses a URL.
    first_msn: u64,
    /// When a request last came, in ms since `born`.
    last_request_ms: AtomicU64,
    /// Requests waiting now: the muxer is not idle while any waits.
    waiting: AtomicUsize,
    /// What all muxers hold, in bytes, and the most they may.
    total: Arc<AtomicUsize>,
    max_total: usize,
    /// Viewers by address and `User-Agent` (hashed), at most
    /// `MAX_VIEWERS`, pruned of the quiet ones by the muxer.
    viewers: Mutex<HashMap<(IpAddr, u64), Viewer>>,
    ended: AtomicBool,
}

/// An init segment (fMP4), or what stands for one (MPEG-TS, where the
/// segments carry their own tables): the codecs of the segments.
pub(crate) struct Init {
    /// Its number: a new one when the codecs change.
    pub(crate) version: u32,
    /// Empty for MPEG-TS.
    pub(crate) bytes: Arc<[u8]>,
    /// The tracks' codec strings, for the multivariant playlist.
    pub(crate) codecs: String,
    /// When it was made, in seconds since 1970.
    pub(crate) made: u64,
}

/// Seconds since 1970, now.
fn unix_now() -> u64 {
    crate::server::net::calendar::since_1970().as_secs()
}

/// What the muxer made so far.
#[derive(Default)]
struct State {
    init: Option<Init>,
    segmenter: Option<Segmenter>,
}

/// A viewer counts for this long after its last request.
const VIEWER_WINDOW: Duration = Duration::from_secs(10);
/// Viewers told apart per stream; past this, new ones go uncounted.
const MAX_VIEWERS: usize = 10_000;

/// An HLS viewer: the requests of one address with one `User-Agent`, the
/// session SRS calls `hls-play` (HLS has no connection to count).
struct Viewer {
    /// Its number among the server's clients.
    id: ConnId,
    first: Instant,
    last: Instant,
    /// Body bytes sent to it.
    sent: u64,
}

impl Hls {
    /// Marks a request: the muxer stays while they come.
    pub(crate) fn touched(&self) {
        let now = self.born.elapsed().as_millis() as u64;
        self.last_request_ms.store(now, Ordering::Relaxed);
    }

    /// Counts `sent` bytes answered to the viewer at `ip` with `agent`.
    pub(crate) fn viewed(&self, registry: &Registry, ip: IpAddr, agent: &str, sent: usize) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        agent.hash(&mut hasher);
        let mut viewers = self.viewers.lock();
        let full = viewers.len() >= MAX_VIEWERS;
        let now = Instant::now();
        let viewer = match viewers.entry((ip, hasher.finish())) {
            Entry::Occupied(viewer) => viewer.into_mut(),
            Entry::Vacant(_) if full => return,
            Entry::Vacant(slot) => slot.insert(Viewer {
                id: registry.new_conn_id(),
                first: now,
                last: now,
                sent: 0,
            }),
        };
        viewer.last = now;
        viewer.sent += sent as u64;
    }

    /// Forgets the viewers quiet for longer than the window.
    fn prune_viewers(&self) {
        self.viewers.lock().retain(|_, v| v.last.elapsed() < VIEWER_WINDOW);
    }

    /// The viewers, as the API lists clients (`hls-play`).
    pub(crate) fn sessions(&self) -> Vec<ClientStats> {
        let viewers = self.viewers.lock();
        (viewers.iter().filter(|(_, v)| v.last.elapsed() < VIEWER_WINDOW))
            .map(|(&(ip, _), v)| ClientStats {
                id: v.id,
                addr: std::net::SocketAddr::new(ip, 0),
                kind: ClientKind::HlsPlay,
                stream: Some(self.key.clone()),
                flash_ver: String::new(),
                tc_url: String::new(),
                alive: v.first.elapsed(),
                recv_bytes: 0,
                send_bytes: v.sent,
                srt: None,
            })
            .collect()
    }

    /// The segment target, the unit of blocking requests' timeouts.
    pub(crate) fn target(&self) -> Duration {
        self.timing
            .segment
            .max(self.timing.part)
            .max(Duration::from_millis(100))
    }

    /// How long until the muxer has run for `n` segment targets (zero
    /// once it has).
    pub(crate) fn until_run_for(&self, n: u32) -> Duration {
        (self.target() * n).saturating_sub(self.born.elapsed())
    }

    /// Viewers that asked within the last ten seconds.
    pub(crate) fn viewers(&self) -> usize {
        self.viewers
            .lock()
            .values()
            .filter(|v| v.last.elapsed() < VIEWER_WINDOW)
            .count()
    }

    /// Waits until `ready` says so, the muxer ends or `timeout` passes;
    /// what `ready` said last.
    pub(crate) fn wait(&self, timeout: Duration, ready: impl Fn(&Segmenter) -> Ready) -> Ready {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let answer = self.wait_for(timeout, ready);
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let now = self.born.elapsed().as_millis() as u64;
        self.last_request_ms.store(now, Ordering::Relaxed);
        answer
    }

    fn wait_for(&self, timeout: Duration, ready: impl Fn(&Segmenter) -> Ready) -> Ready {
        let deadline = Instant::now() + timeout;
        let mut state = self.state.lock();
        loop {
            let now = match state.segmenter.as_ref().map(&ready) {
                Some(Ready::Later) | None => Ready::Later,
                Some(other) => other,
            };
            if now != Ready::Later || self.ended.load(Ordering::Relaxed) {
                return now;
            }
            if self.changed.wait_until(&mut state, deadline).timed_out() {
                return state.segmenter.as_ref().map_or(Ready::Later, ready);
            }
        }
    }

    /// Runs `f` on the segmenter and the init segment, if there are.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Segmenter, &Init) -> T) -> Option<T> {
        let state = self.state.lock();
        Some(f(state.segmenter.as_ref()?, state.init.as_ref()?))
    }
}

/// Muxers at most, server-wide: each is a thread, started by a request
/// for a stream that is published or pulled, so only live streams count.
const MAX_MUXERS: usize = 1000;

/// Why a request finds no HLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoHls {
    /// No muxer runs, and none may start: the request is no playlist, or
    /// nothing publishes or pulls the stream.
    NotLive,
    /// `MAX_MUXERS` run.
    TooMany,
}

/// Every stream's HLS muxer while requests come (or, with `--hls-dir`,
/// while published), which this wing owns.
pub(crate) struct Muxers {
    registry: Arc<Registry>,
    running: Mutex<HashMap<StreamKey, Arc<Hls>>>,
    /// Bytes of segments and parts all muxers hold.
    bytes: Arc<AtomicUsize>,
    /// HLS requests answered, by what they asked for: playlists, init
    /// segments, segments, parts.
    requests: [AtomicU64; 4],
}

impl Muxers {
    pub(crate) fn new(registry: Arc<Registry>) -> Muxers {
        Muxers {
            registry,
            running: Mutex::new(HashMap::new()),
            bytes: Arc::default(),
            requests: Default::default(),
        }
    }

    /// Counts a request for HLS (`HlsFile::counted` says which kind).
    pub(crate) fn count_request(&self, kind: usize) {
        self.requests[kind].fetch_add(1, Ordering::Relaxed);
    }

    /// HLS requests answered so far, by kind.
    pub(crate) fn requests(&self) -> [u64; 4] {
        self.requests.each_ref().map(|n| n.load(Ordering::Relaxed))
    }

    /// The HLS of `key` for a request: the running one, or with `fed` (a
    /// playlist request for a stream published or being pulled) a new one,
    /// if fewer than `MAX_MUXERS` run. A name nobody publishes
    /// starts nothing: a muxer is a thread and a player, which a request for
    /// an invented name must not cost. The request counts under the muxers'
    /// lock, which a muxer takes to decide it is idle: none ends under a
    /// request.
    pub(crate) fn for_stream(self: &Arc<Self>, live: &Live, key: &StreamKey, fed: bool) -> Result<Arc<Hls>, NoHls> {
        let mut all = self.running.lock();
        if let Some(hls) = all.get(key).filter(|h| !h.ended.load(Ordering::Relaxed)) {
            hls.touched();
            return Ok(hls.clone());
        }
        if !fed {
            return Err(NoHls::NotLive);
        }
        if all.len() >= MAX_MUXERS {
            return Err(NoHls::TooMany);
        }
        let hls = self.start_muxer(live, key, &mut all);
        hls.touched();
        Ok(hls)
    }

    /// With `--hls-dir`, starts muxing `key`, just published, for the files:
    /// the muxer then lives while the stream is published (and while asked
    /// over HTTP).
    fn for_publish(self: &Arc<Self>, live: &Live, key: &StreamKey) {
        if !live.config.hls.enabled || live.config.hls.dir.is_none() {
            return;
        }
        let mut all = self.running.lock();
        let running = all.get(key).is_some_and(|h| !h.ended.load(Ordering::Relaxed));
        if !running && all.len() < MAX_MUXERS {
            self.start_muxer(live, key, &mut all);
        }
    }

    /// Starts a muxer for `key` and lists it in `all`, the muxers' map, held.
    fn start_muxer(self: &Arc<Self>, live: &Live, key: &StreamKey, all: &mut HashMap<StreamKey, Arc<Hls>>) -> Arc<Hls> {
        let config = &live.config;
        let player = LocalPlayer::join(&self.registry, &config.players, key, ClientKind::Hls);
        let id = player.id;
        let variant = config.hls.variant;
        let hls = Arc::new(Hls {
            id,
            key: key.clone(),
            variant,
            timing: config.hls.timing,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            born: Instant::now(),
            first_msn: unix_now(),
            last_request_ms: AtomicU64::new(0),
            waiting: AtomicUsize::new(0),
            viewers: Mutex::new(HashMap::new()),
            total: self.bytes.clone(),
            max_total: config.hls.max_bytes,
            ended: AtomicBool::new(false),
        });
        all.insert(key.clone(), hls.clone());
        let (muxer, idle) = (hls.clone(), config.hls.idle);
        let weak = Arc::downgrade(self);
        let root = config.hls.dir.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("hls-{id}"))
            .stack_size(THREAD_STACK)
            .spawn(move || {
                info!("hls#{} of {} started", muxer.id, Escaped(&muxer.key.app));
                let files = root.and_then(|root| match Files::open(&root, &muxer.key) {
                    Ok(files) => Some(files),
                    Err(e) => {
                        warn!("hls#{}: no files under {}: {e}", muxer.id, root.display());
                        None
                    }
                });
                muxer.run(&player, idle, &weak, files);
                drop(player);
                if let Some(segmenter) = muxer.state.lock().segmenter.as_ref() {
                    muxer.total.fetch_sub(segmenter.held_bytes(), Ordering::Relaxed);
                }
                muxer.ended.store(true, Ordering::Relaxed);
                muxer.changed.notify_all();
                info!("hls#{} of {} stopped", muxer.id, Escaped(&muxer.key.app));
            });
        if let Err(e) = spawned {
            warn!("cannot start an HLS muxer thread: {e}");
            hls.ended.store(true, Ordering::Relaxed);
        }
        hls
    }

    /// The viewers of every muxer, as the API's clients.
    pub(crate) fn sessions(&self) -> Vec<ClientStats> {
        self.running.lock().values().flat_map(|hls| hls.sessions()).collect()
    }

    /// Fills in how many watch each of `streams` over HLS.
    pub(crate) fn count_viewers(&self, streams: &mut [StreamStats]) {
        let running = self.running.lock();
        for stream in streams {
            stream.players_by_protocol.hls = running.get(&stream.key).map_or(0, |h| h.viewers());
        }
    }
}

impl OnPublish for Muxers {
    fn started(self: Arc<Self>, publish: &Started<'_>) {
        self.for_publish(publish.live, publish.key);
    }
}

/// What the muxer keeps between frames.
#[derive(Default)]
struct Muxing {
    /// The main tracks' sequence headers: video, audio.
    headers: [Option<Vec<u8>>; 2],
    packing: Packing,
}

/// What makes the fragments: fMP4, or MPEG-TS.
enum Packing {
    Fmp4(Fragmenter),
    Ts(Fragmenter<ts::Muxer>),
}

impl Default for Packing {
    fn default() -> Packing {
        Packing::Fmp4(Fragmenter::default())
    }
}

impl Packing {
    fn push(&mut self, kind: FrameKind, body: &[u8], decode_time: u64) -> Option<Fragment> {
        match self {
            Packing::Fmp4(f) => f.push(kind, body, decode_time),
            Packing::Ts(f) => f.push(kind, body, decode_time),
        }
    }

    fn flush(&mut self) -> Vec<Fragment> {
        match self {
            Packing::Fmp4(f) => f.flush(),
            Packing::Ts(f) => f.flush(),
        }
    }

    /// Gives `fragment` to `segmenter`; a transport stream's segment opens
    /// with the program tables.
    fn segment(&mut self, segmenter: &mut Segmenter, mut fragment: Fragment) -> bool {
        if let Packing::Ts(f) = self
            && segmenter.starts_segment(&fragment)
        {
            let mut bytes = f.packer.tables();
            bytes.append(&mut fragment.bytes);
            fragment.bytes = bytes;
        }
        segmenter.push(fragment, unix_now())
    }
}

impl Hls {
    fn run(
        self: &Arc<Self>,
        player: &LocalPlayer,
        idle: Duration,
        muxers: &std::sync::Weak<Muxers>,
        mut files: Option<Files>,
    ) {
        let mut muxing = Muxing::default();
        let mut failed = false;
        let mut pruned = Instant::now();
        loop {
            if pruned.elapsed() >= VIEWER_WINDOW {
                self.prune_viewers();
                pruned = Instant::now();
            }
            match player.media.recv_timeout(Duration::from_secs(1)) {
                Ok(queued) => {
                    let completed = match player.taken(&queued) {
                        Some(Item::Frame(frame)) => {
                            if files.is_some() {
                                // Files are muxed while published, asked or not.
                                let now = self.born.elapsed().as_millis() as u64;
                                self.last_request_ms.store(now, Ordering::Relaxed);
                            }
                            self.take(&mut muxing, frame)
                        }
                        // The publisher left: its last frames end their
                        // parts, and the last segment.
                        Some(Item::StreamEnd) => self.flush(&mut muxing),
                        None => false,
                    };
                    if completed
                        && let Some(files) = files.as_mut()
                        && let Some(batch) = self.batch(files)
                        && let Err(e) = files.write(batch)
                        && !std::mem::replace(&mut failed, true)
                    {
                        warn!("hls#{}: cannot write its files: {e}", self.id);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if self.idle_for(idle) && self.leave(muxers, idle) {
                return;
            }
        }
    }

    /// Whether nobody asked for `idle` and nobody waits.
    fn idle_for(&self, idle: Duration) -> bool {
        let last = Duration::from_millis(self.last_request_ms.load(Ordering::Relaxed));
        self.waiting.load(Ordering::Relaxed) == 0 && self.born.elapsed().saturating_sub(last) >= idle
    }

    /// Leaves the muxers if still idle, under their lock (see
    /// `for_stream`); true when it left.
    fn leave(self: &Arc<Self>, muxers: &std::sync::Weak<Muxers>, idle: Duration) -> bool {
        let Some(muxers) = muxers.upgrade() else { return true };
        let mut all = muxers.running.lock();
        if !self.idle_for(idle) {
            return false;
        }
        self.ended.store(true, Ordering::Relaxed);
        if all.get(&self.key).is_some_and(|h| Arc::ptr_eq(h, self)) {
            all.remove(&self.key);
        }
        debug!("hls#{}: no request for {idle:?}", self.id);
        true
    }

    /// Takes a frame; true when a part or segment was completed.
    fn take(&self, muxing: &mut Muxing, frame: &Frame) -> bool {
        let Some(tag) = frame.tag() else { return false };
        if tag.track != 0 {
            return false; // fMP4 carries the main track of each kind
        }
        let slot = usize::from(frame.kind == FrameKind::Audio);
        if frame.is_sequence_header() {
            if muxing.headers[slot].as_ref() != Some(&frame.payload) {
                muxing.headers[slot] = Some(frame.payload.clone());
                self.new_init(muxing);
            }
            return false;
        }
        let Some(fragment) = muxing
            .packing
            .push(frame.kind, &frame.payload, u64::from(frame.timestamp.0))
        else {
            return false;
        };
        let mut state = self.state.lock();
        let Some(segmenter) = state.segmenter.as_mut() else {
            return false;
        };
        let before = segmenter.held_bytes();
        let completed = muxing.packing.segment(segmenter, fragment);
        self.account(segmenter, before);
        drop(state);
        if completed {
            self.changed.notify_all();
        }
        completed
    }

    /// Muxes the frames held and ends the growing segment; true.
    fn flush(&self, muxing: &mut Muxing) -> bool {
        let mut state = self.state.lock();
        if let Some(segmenter) = state.segmenter.as_mut() {
            let before = segmenter.held_bytes();
            for fragment in muxing.packing.flush() {
                muxing.packing.segment(segmenter, fragment);
            }
            segmenter.finish();
            self.account(segmenter, before);
        }
        drop(state);
        self.changed.notify_all();
        true
    }

    /// Brings the muxers' total up to date with what `segmenter` holds
    /// now (it held `before`), then, while the total is past the
    /// server-wide limit, gives up this stream's oldest segments.
    fn account(&self, segmenter: &mut Segmenter, before: usize) {
        let now = segmenter.held_bytes();
        if now >= before {
            self.total.fetch_add(now - before, Ordering::Relaxed);
        } else {
            self.total.fetch_sub(before - now, Ordering::Relaxed);
        }
        let mut shed = 0;
        while self.total.load(Ordering::Relaxed) > self.max_total {
            let freed = segmenter.shed();
            if freed == 0 {
                break;
            }
            self.total.fetch_sub(freed, Ordering::Relaxed);
            shed += 1;
        }
        if shed > 0 {
            debug!("hls#{}: {shed} segments given up, the muxers hold too much", self.id);
        }
    }

    /// What `files` lacks: segments completed since it was last written
    /// (with the init segment, when it is new), and the playlists.
    fn batch(&self, files: &mut Files) -> Option<Batch> {
        let state = self.state.lock();
        let (segmenter, init) = (state.segmenter.as_ref()?, state.init.as_ref()?);
        let extension = self.variant.extension();
        let fresh: Vec<_> = (segmenter.segments())
            .filter(|s| files.newest.is_none_or(|newest| s.msn > newest))
            .collect();
        let newest = fresh.last()?.msn;
        let mut batch = Batch::default();
        let init_name = format!("init{}.mp4", init.version);
        if self.variant == Variant::Fmp4 && files.init != Some(init.version) {
            batch.files.push((init_name.clone(), vec![init.bytes.clone()]));
            files.init = Some(init.version);
        }
        for segment in fresh {
            batch
                .files
                .push((format!("seg{}.{extension}", segment.msn), segment.pieces()));
        }
        files.newest = Some(newest);
        batch.playlist = segmenter.plain_playlist(&init_name);
        batch.listed = segmenter
            .segments()
            .map(|s| format!("seg{}.{extension}", s.msn))
            .collect();
        let bandwidth = segmenter.peak_bandwidth();
        batch.multivariant = multivariant_playlist(self.variant, bandwidth, &init.codecs, "stream.m3u8");
        Some(batch)
    }

    /// Makes the init segment from the sequence headers; a new one starts
    /// the segments again.
    fn new_init(&self, muxing: &mut Muxing) {
        let kinds = [FrameKind::Video, FrameKind::Audio];
        let mut tracks: Vec<Track> = (kinds.iter().zip(&muxing.headers))
            .filter_map(|(kind, header)| fmp4::track(*kind, header.as_deref()?).ok().flatten())
            .collect();
        let packing = match self.variant {
            Variant::Fmp4 => Packing::Fmp4(Fragmenter::default()),
            Variant::MpegTs => {
                let [video, audio] = [0, 1].map(|slot| {
                    let header = muxing.headers[slot].as_deref()?;
                    fmp4::configuration(kinds[slot], header).ok().flatten()
                });
                let muxer = ts::Muxer::new(video, audio);
                tracks.retain(|t| muxer.carries(t.id));
                Packing::Ts(Fragmenter::new(muxer))
            }
        };
        if tracks.is_empty() {
            return;
        }
        let codecs: Vec<&str> = tracks.iter().map(|t| t.codec.as_str()).collect();
        let codecs = codecs.join(",");
        let bytes: Arc<[u8]> = match self.variant {
            Variant::Fmp4 => fmp4::init_segment(&tracks).into(),
            Variant::MpegTs => Arc::new([]),
        };
        let has_video = tracks.iter().any(|t| t.id == VIDEO_TRACK);
        let mut state = self.state.lock();
        // (MPEG-TS has no init segment to compare: a header that changed
        // changes the tables.)
        if self.variant == Variant::Fmp4 && state.init.as_ref().is_some_and(|init| init.bytes == bytes) {
            return;
        }
        let version = (state.init.as_ref()).map_or(self.first_msn as u32, |init| init.version.wrapping_add(1));
        debug!("hls#{} init segment {version}: {codecs}", self.id);
        state.init = Some(Init {
            version,
            bytes,
            codecs,
            made: unix_now(),
        });
        match state.segmenter.as_mut() {
            Some(segmenter) => {
                let before = segmenter.held_bytes();
                segmenter.restart(has_video);
                self.account(segmenter, before);
            }
            None => {
                let segmenter = Segmenter::new(self.timing, self.variant, has_video, self.first_msn);
                state.segmenter = Some(segmenter);
            }
        }
        muxing.packing = packing;
        drop(state);
        self.changed.notify_all();
    }
}
