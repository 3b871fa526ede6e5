//! `Stream`: one live stream: who publishes it, the players joining it,
//! and each frame's way from the publisher to them. What it keeps for
//! joiners is in `cache`, the players' timestamps in `timeline`, an HTTP
//! player's first bytes in `first_bytes`, and its figures in `stats`.
//!
//! Each frame goes into one `Wire`, which keeps it and its RTMP chunks,
//! made once before the stream's lock is taken, and builds each other form
//! (FLV, fMP4) once for every player of that form. The publishing thread
//! writes a frame to each player with nothing queued itself, without
//! blocking and outside the stream's lock (see `outlet`); other players,
//! and those inside the process, get it through their queue: one `Arc` of
//! the wire per frame (`Queued`), and an explicit end when a publish ends.
//! A player whose queue is full is slow: it skips frames until the next
//! keyframe, then gets the current sequence headers and that keyframe, so
//! it never sees half a GOP or misses a codec change. The publisher never
//! waits for a player.
//!
//! Frames wait in `pending` until the end of the read that brought them,
//! or with merged writes on until the oldest is `merge_write` old; each
//! player then gets them in one write.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::TrySendError;
use log::{debug, warn};
use parking_lot::Mutex;

use crate::config::StreamSettings;
use crate::media::codec::{self, AudioDescription, VideoDescription};
use crate::media::flv::{self, Tracks};
use crate::media::tag::Packet;
use crate::media::{Frame, FrameKind, StreamKey};
use crate::protocol::escape::Escaped;
use crate::protocol::time::RtmpTime;
use crate::server::stream::cache::{Cache, CacheError};
use crate::server::stream::events::{Event, Events};
use crate::server::stream::fanout::{Fanout, Flush};
use crate::server::stream::first_bytes::{first_bytes, fmp4_init, track_bit};
use crate::server::stream::kind::ConnId;
use crate::server::stream::long_gop::LongGop;
use crate::server::stream::outlet::{MAX_BATCH, Outlet};
use crate::server::stream::rates::{Carried, Rates};
use crate::server::stream::stats::{PlayerCounts, PublisherInfo, PublisherStats, StreamStats, TrackStats};
use crate::server::stream::timeline::{Fragments, Timeline};
use crate::server::stream::wire::{FORMS, Form, Queued, Wire, rtmp_chunks, type_id_of};

struct Player {
    id: ConnId,
    outlet: Arc<Outlet>,
    /// Pending frames this player already had from the caches when it
    /// joined.
    joined_at: usize,
    /// Skipping frames until the next place a decoder can start.
    skipping: bool,
    dropped: u64,
    /// An HTTP player whose FLV header or fMP4 init segment is not queued
    /// yet: it goes before the first frame, once the tracks are known.
    needs_header: bool,
    /// The fMP4 tracks in the init segment this player got, as bits
    /// (`track_bit`); frames of other tracks are not sent to it.
    fmp4_tracks: u8,
}

#[derive(Default)]
struct State {
    publisher: Option<ConnId>,
    /// Who publishes, and since when.
    publisher_info: Option<(PublisherInfo, Instant)>,
    video: Option<VideoDescription>,
    audio: Option<AudioDescription>,
    recv_bytes: u64,
    /// Players disconnected for falling too far behind.
    slow_disconnected: u64,
    /// Counted where frames are handed over, some under a shared borrow.
    send_bytes: Cell<u64>,
    rates: Rates,
    /// Metadata, sequence headers and the GOP, for joining players.
    cache: Cache,
    has_video: bool,
    /// The tracks the metadata announced or media showed so far.
    tracks: Tracks,
    /// Why the last fMP4 player could not get an init segment.
    fmp4_refusal: Cell<Option<String>>,
    /// Where each fMP4 fragment sits.
    fragments: Fragments,
    /// The publisher's keyframe interval, told once when long.
    long_gop: LongGop,
    players: Vec<Player>,
    frames: u64,
    last_timestamp: RtmpTime,
    dropped: u64,
    /// Frames not yet handed to players (those of the current read, or
    /// of the merge window), with when the first came.
    pending: Vec<(Arc<Wire>, Role)>,
    pending_since: Option<Instant>,
}

/// What a frame is to a player deciding whether to take it.
#[derive(Clone, Copy)]
enum Role {
    /// Metadata or a sequence header: every player that is not skipping.
    Header,
    /// Media; `resume` marks where a skipping player can start.
    Frame { resume: bool },
}

impl State {
    /// Queues news of the stream (`Queued::Begin`, `Queued::End`) to every
    /// RTMP player and every player inside the process with room: HTTP
    /// players are let go instead (`end_http_players`).
    fn tell_players(&self, news: Queued) {
        for player in self.players.iter().filter(|p| p.outlet.form() == Form::Rtmp) {
            let _ = player.outlet.try_queue(news.clone());
        }
    }

    /// Forgets what the publisher configured: the next one's codecs may
    /// differ.
    fn forget_publisher(&mut self) {
        self.cache.forget();
        self.has_video = false;
        self.tracks = Tracks::default();
        self.fmp4_refusal.set(None);
        self.publisher_info = None;
        self.video = None;
        self.audio = None;
        self.fragments.forget_durations();
        self.long_gop = LongGop::default();
    }

    /// Lets go of every HTTP player: its body ends once what is queued is
    /// written, as an FLV file ends. A new publisher's stream may start
    /// with other codecs and timestamps, which a file cannot.
    fn end_http_players(&mut self) {
        self.players.retain(|p| {
            if p.outlet.form() == Form::Rtmp {
                return true;
            }
            p.outlet.finish();
            false
        });
    }
}

/// How a publish start went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    Started,
    /// Another publisher is live.
    Taken,
    /// It replaced the publisher with this number, which is to be closed.
    TookOver(ConnId),
}

/// One live stream.
pub(crate) struct Stream {
    /// The stream's number, for the API: one per registry entry.
    id: u64,
    key: StreamKey,
    config: StreamSettings,
    /// The chunk size its frames are chunked at.
    chunk_size: u32,
    /// When the stream was made: `Rates` count seconds from it.
    born: Instant,
    events: Events,
    state: Mutex<State>,
    /// Apart from `state`, so that a frame is chunked (with its players'
    /// timestamp) before the stream's lock is taken.
    timeline: Mutex<Timeline>,
    fanout: Fanout,
}

impl Stream {
    pub(crate) fn new(id: u64, key: StreamKey, (config, chunk_size): (StreamSettings, u32), events: Events) -> Stream {
        Stream {
            id,
            events,
            key,
            config,
            chunk_size,
            born: Instant::now(),
            state: Mutex::new(State::default()),
            timeline: Mutex::new(Timeline::default()),
            fanout: Fanout::new(),
        }
    }

    pub(crate) fn key(&self) -> &StreamKey {
        &self.key
    }

    /// Makes `id` the publisher unless another one is live, or, with
    /// `takeover`, in its place: the players stay and go on from the new
    /// publisher's sequence headers and keyframe, on the same timeline.
    pub(crate) fn start_publish(&self, id: ConnId, info: PublisherInfo, takeover: bool) -> Start {
        let mut state = self.state.lock();
        let started = match state.publisher {
            None => Start::Started,
            Some(_) if !takeover => return Start::Taken,
            Some(old) => Start::TookOver(old),
        };
        let flush = match started {
            Start::TookOver(_) => {
                // The old publisher's last frames go out first.
                let flush = self.flush(&mut state);
                state.forget_publisher();
                Some(flush)
            }
            _ => None,
        };
        state.publisher = Some(id);
        state.publisher_info = Some((info, Instant::now()));
        self.timeline.lock().start(id);
        // Players waiting from before, or from a previous publisher, hear
        // that the stream runs again.
        for player in &mut state.players {
            player.skipping = false;
        }
        if started == Start::Started {
            state.tell_players(Queued::Begin);
        }
        drop(state);
        if let Some(flush) = flush {
            self.fanout.write(flush);
        }
        started
    }

    /// Ends the publish by `id`: frames still pending go out, caches are
    /// cleared (the next publisher's codecs may differ) and players get
    /// StreamEOF but stay subscribed.
    pub(crate) fn end_publish(&self, id: ConnId) {
        let flush = {
            let mut state = self.state.lock();
            if state.publisher != Some(id) {
                return;
            }
            self.flush(&mut state)
        };
        // Written before StreamEOF is queued, which would queue them behind.
        self.fanout.write(flush);
        let mut state = self.state.lock();
        state.publisher = None;
        self.timeline.lock().publisher = None;
        state.forget_publisher();
        state.end_http_players();
        // Interop: StreamEOF, not Play.UnpublishNotify: ffmpeg and librtmp
        // players quit on the latter and would miss a republish.
        state.tell_players(Queued::End);
    }

    /// Tells every player the stream ended (server shutdown). Players
    /// inside the process are let go: their threads end once they have
    /// handed on what is queued.
    pub(crate) fn end_for_players(&self) {
        let mut state = self.state.lock();
        state.end_http_players();
        state.players.retain(|p| p.outlet.has_socket());
        state.tell_players(Queued::End);
    }

    /// A publisher is live.
    pub(crate) fn is_live(&self) -> bool {
        self.state.lock().publisher.is_some()
    }

    /// Players who watch: not recorders or push relays.
    pub(crate) fn audience(&self) -> usize {
        let state = self.state.lock();
        state
            .players
            .iter()
            .filter(|p| p.outlet.player_kind().watches())
            .count()
    }

    /// Why the stream cannot be played as fMP4 now, if it cannot.
    pub(crate) fn fmp4_refusal(&self) -> Option<String> {
        let state = self.state.lock();
        state.publisher?;
        let why = state.fmp4_refusal.take();
        state.fmp4_refusal.set(why.clone());
        why.or_else(|| fmp4_init(&state.cache.headers, None).err())
    }

    /// Adds a player; it gets the cached metadata, sequence headers and GOP
    /// at once, then live frames.
    pub(crate) fn subscribe(&self, id: ConnId, outlet: Arc<Outlet>) {
        let mut state = self.state.lock();
        let needs_header = outlet.form() != Form::Rtmp;
        let mut player = Player {
            id,
            outlet,
            joined_at: state.pending.len(),
            skipping: false,
            dropped: 0,
            needs_header,
            fmp4_tracks: 0,
        };
        let context = SendContext {
            tracks: state.tracks,
            headers: &state.cache.headers,
            refusal: &state.fmp4_refusal,
            sent: &state.send_bytes,
        };
        if let Some(metadata) = &state.cache.metadata {
            send(&mut player, metadata, &context);
        }
        if state.has_video && state.cache.gop.is_empty() {
            // No cached GOP to start from: wait for the next keyframe (it
            // brings the sequence headers along) rather than show a player
            // frames it cannot decode.
            player.skipping = true;
        } else {
            let headers = state.cache.headers.iter().map(|(_, wire)| wire);
            for wire in headers.chain(&state.cache.gop) {
                send(&mut player, wire, &context);
            }
        }
        state.players.push(player);
    }

    pub(crate) fn unsubscribe(&self, id: ConnId) {
        self.state.lock().players.retain(|p| p.id != id);
    }

    /// True when nobody publishes or plays: the registry may drop it.
    pub(crate) fn is_idle(&self) -> bool {
        let state = self.state.lock();
        state.publisher.is_none() && state.players.is_empty()
    }

    /// Counts `bytes` sent for the stream past its players' queues: HLS
    /// files served to viewers.
    pub(crate) fn count_sent(&self, bytes: u64) {
        let second = self.second();
        let mut state = self.state.lock();
        state.send_bytes.set(state.send_bytes.get() + bytes);
        state.rates.add(second, 0, bytes);
    }

    pub(crate) fn stats(&self) -> StreamStats {
        let second = self.second();
        let mut state = self.state.lock();
        let players = PlayerCounts::of(state.players.iter().map(|p| p.outlet.player_kind()));
        let (kbps_in, kbps_out) = state.rates.kbps(second, 60);
        let bw_10s = state.rates.bits_per_second(second, 10);
        let publisher = state
            .publisher
            .zip(state.publisher_info.as_ref())
            .map(|(id, (info, since))| PublisherStats::new(id, info, *since));
        let tracks = TrackStats::of(&state.cache.headers);
        StreamStats {
            id: self.id,
            key: self.key.clone(),
            publishing: state.publisher.is_some(),
            players: state.players.len(),
            frames: state.frames,
            last_timestamp: state.last_timestamp,
            dropped: state.dropped,
            player_drops: state.players.iter().map(|p| (p.id, p.dropped)).collect(),
            players_by_protocol: players,
            publisher,
            video: state.video.clone(),
            audio: state.audio.clone(),
            mse_type: state
                .cache
                .mse_codecs
                .as_ref()
                .map(|c| format!("video/mp4; codecs=\"{c}\"")),
            recv_bytes: state.recv_bytes,
            send_bytes: state.send_bytes.get(),
            kbps_in,
            kbps_out,
            slow_disconnected: state.slow_disconnected,
            bw_10s,
            gop_frames: state.cache.gop.len(),
            gop_bytes: state.cache.gop_bytes,
            tracks,
        }
    }

    /// Seconds since the stream was made.
    fn second(&self) -> u64 {
        self.born.elapsed().as_secs()
    }

    /// Chunks one frame from the publisher, caches it and adds it to the
    /// pending frames, which go to the players at `flush_if_due` (or here,
    /// once there are `MAX_BATCH` of them). Metadata or a sequence header
    /// that the caches cannot take is an error: the publisher is closed.
    pub(crate) fn push(&self, from: ConnId, mut frame: Frame) -> Result<(), CacheError> {
        let placed = self.timeline.lock().place(from, frame.kind, frame.timestamp);
        frame.timestamp = placed.ok_or(CacheError::Replaced)?;
        let tag = frame.tag();
        let is_keyframe = tag.is_some_and(|t| t.is_keyframe());
        let is_header = tag.is_some_and(|t| t.packet == Packet::Config);
        if is_keyframe {
            self.watch_keyframe(from, frame.timestamp);
        }
        let chunks = rtmp_chunks(&frame, self.chunk_size);
        let shown = match frame.kind {
            FrameKind::Metadata => flv::tracks_in_metadata(&frame.payload).unwrap_or_default(),
            kind => flv::track_of(type_id_of(kind), &frame.payload),
        };

        let second = self.second();
        let flush = {
            let mut state = self.state.lock();
            let state = &mut *state;
            state.frames += 1;
            state.recv_bytes += frame.payload.len() as u64;
            let carried = match frame.kind {
                FrameKind::Audio => Carried::Audio,
                FrameKind::Video => Carried::Video,
                FrameKind::Metadata => Carried::Other,
            };
            state.rates.received(second, frame.payload.len() as u64, carried);
            match frame.kind {
                FrameKind::Video if is_header || state.video.is_none() => {
                    state.video = codec::describe_video(&frame.payload).or(state.video.take());
                }
                FrameKind::Audio if is_header || state.audio.is_none() => {
                    state.audio = codec::describe_audio(&frame.payload).or(state.audio.take());
                }
                _ => {}
            }
            state.last_timestamp = frame.timestamp;
            if frame.kind == FrameKind::Video {
                state.has_video = true;
            }
            state.tracks = state.tracks.union(shown);
            let coded = frame.kind != FrameKind::Metadata && !is_header;
            let placement = coded
                .then(|| state.fragments.place(frame.kind, frame.timestamp))
                .flatten();
            let kind = frame.kind;
            let wire = Wire::new(frame, chunks, placement);
            let role = if kind == FrameKind::Metadata || is_header {
                state
                    .cache
                    .keep_header(kind, tag.map_or(0, |t| t.track), &wire, &self.config)?;
                Role::Header
            } else {
                state.cache.keep_in_gop(&wire, is_keyframe, &self.config);
                // Where a decoder can start: a keyframe, or any audio frame
                // of a stream without video.
                let resume = is_keyframe || (kind == FrameKind::Audio && !state.has_video);
                Role::Frame { resume }
            };
            state.pending.push((wire, role));
            state.pending_since.get_or_insert_with(Instant::now);
            if state.pending.len() < MAX_BATCH {
                return Ok(());
            }
            self.flush(state)
        };
        self.fanout.write(flush);
        Ok(())
    }

    /// Warns, once per publish, when the keyframe at `at` comes longer
    /// than `LONG_GOP` after the previous one. Keyframes only, a second or
    /// so apart: the lock is taken again here, not held over the log.
    fn watch_keyframe(&self, from: ConnId, at: RtmpTime) {
        let (gap, addr) = {
            let mut state = self.state.lock();
            let Some(gap) = state.long_gop.keyframe(at) else {
                return;
            };
            (gap, state.publisher_info.as_ref().map(|(info, _)| info.addr))
        };
        let who = addr.map_or(format!("conn#{from}"), |addr| format!("conn#{from} {addr}"));
        warn!(
            "{who} publish app={}: keyframes {:.1} s apart; HLS starts that late and players join up to that far \
             behind: set the encoder's keyframe interval to 1-2 s (OBS: Keyframe Interval 1 or 2; ffmpeg: -g twice \
             the frame rate)",
            Escaped(&self.key.app),
            gap.as_secs_f64()
        );
    }

    /// Hands the pending frames to every player once the oldest has waited
    /// `merge_write` (at once when that is zero). The publisher's
    /// connection calls this after each read: frames that arrived in one
    /// read (ffmpeg sends a video frame and its audio together, about 2.5
    /// frames a read) go to each player in one write, adding no latency.
    pub(crate) fn flush_if_due(&self) {
        self.flush_pending(self.config.merge_write);
    }

    /// Hands the pending frames to every player once the oldest has waited
    /// `at_least`.
    pub(crate) fn flush_pending(&self, at_least: Duration) {
        let flush = {
            let mut state = self.state.lock();
            match state.pending_since {
                Some(since) if since.elapsed() >= at_least => self.flush(&mut state),
                _ => return,
            }
        };
        self.fanout.write(flush);
    }

    /// Takes the pending frames and hands them to every player: queued
    /// where that must be, collected in the returned `Flush` for players
    /// the caller writes to once the lock is released.
    fn flush(&self, state: &mut State) -> Flush {
        let (wires, roles): (Vec<Arc<Wire>>, Vec<Role>) = std::mem::take(&mut state.pending).into_iter().unzip();
        state.pending_since = None;
        let sent_before = state.send_bytes.get();
        let context = SendContext {
            tracks: state.tracks,
            headers: &state.cache.headers,
            refusal: &state.fmp4_refusal,
            sent: &state.send_bytes,
        };
        let mut direct = Vec::new();
        let mut forms = [false; FORMS];
        let mut dropped = 0;
        for player in &mut state.players {
            let joined_at = std::mem::take(&mut player.joined_at);
            // An fMP4 player whose init segment lacks a track the stream
            // now has must not get that track's frames.
            let all_tracks = !player.outlet.form().is_fmp4() || player.fmp4_tracks == state.cache.fmp4_tracks;
            let takes_all = joined_at == 0 && !player.skipping && !player.needs_header && all_tracks;
            if takes_all && player.outlet.queued() == 0 {
                forms[player.outlet.form() as usize] = true;
                direct.push(player.outlet.clone());
                continue;
            }
            for (wire, role) in wires.iter().zip(&roles).skip(joined_at) {
                if !self.offer(player, wire, *role, &context) {
                    dropped += 1;
                }
            }
        }
        state.dropped += dropped;
        let (limit, min_stall) = (self.config.max_dropped_in_a_row, self.config.min_stall);
        let mut too_slow = 0;
        state.players.retain(|p| {
            let Some(drops) = p.outlet.stalled(limit, min_stall) else {
                return true;
            };
            too_slow += 1;
            let key = self.key.clone();
            self.events.emit(Event::SlowPlayerDropped { id: p.id, key });
            warn!(
                "conn#{} too slow for {}: {drops} frames dropped in a row; disconnecting",
                p.id,
                Escaped(&self.key.app)
            );
            p.outlet.hang_up();
            false
        });
        state.slow_disconnected += too_slow;
        // Each form the direct players take, built once for all of them.
        let batches: [Vec<Arc<Wire>>; FORMS] = std::array::from_fn(|f| match forms[f] {
            true => wires
                .iter()
                .filter(|w| !w.bytes(Form::ALL[f]).is_empty())
                .cloned()
                .collect(),
            false => Vec::new(),
        });
        let batch_bytes = std::array::from_fn::<u64, FORMS, _>(|f| {
            batches[f].iter().map(|w| w.bytes(Form::ALL[f]).len() as u64).sum()
        });
        let direct_bytes: u64 = direct.iter().map(|o| batch_bytes[o.form() as usize]).sum();
        let sent = state.send_bytes.get() + direct_bytes;
        state.send_bytes.set(sent);
        state.rates.add(self.second(), 0, sent - sent_before);
        Flush { batches, direct }
    }

    /// Queues one frame to a player that cannot take the batch directly,
    /// with the skip-to-keyframe rules; false when it was dropped.
    fn offer(&self, player: &mut Player, wire: &Arc<Wire>, role: Role, context: &SendContext<'_>) -> bool {
        let resume = match role {
            // Skipping players get the current headers when they resume.
            Role::Header => return player.skipping || send(player, wire, context),
            Role::Frame { resume } => resume,
        };
        if player.skipping {
            let has_room = player.outlet.room() > context.headers.len();
            if !(resume && has_room) {
                player.dropped += 1;
                // Waiting for a keyframe with room is not being slow.
                if !has_room {
                    player.outlet.count_drop();
                }
                return false;
            }
            debug!(
                "conn#{} resumes {} at a keyframe after {} dropped",
                player.id, self.key.app, player.dropped
            );
            player.skipping = false;
            for (_, header) in context.headers {
                send(player, header, context);
            }
        }
        send(player, wire, context)
    }
}

/// What a joining HTTP player's first bytes are made from.
struct SendContext<'a> {
    /// For an FLV header.
    tracks: Tracks,
    /// For an fMP4 init segment.
    headers: &'a [((FrameKind, u8), Arc<Wire>)],
    /// Where to say why an init segment could not be made.
    refusal: &'a Cell<Option<String>>,
    /// Bytes queued to players, counted here.
    sent: &'a Cell<u64>,
}

/// Queues `wire` in the player's form without blocking. An HTTP player's
/// first frame comes after its FLV header or fMP4 init segment, made from
/// `context`. A full queue makes the player skip to the next keyframe;
/// returns false when the frame was not queued.
fn send(player: &mut Player, wire: &Arc<Wire>, context: &SendContext<'_>) -> bool {
    let form = player.outlet.form();
    if form.is_fmp4() {
        // Metadata and configuration ride in the init segment, made at
        // the first coded frame; a track it lacks is not played.
        let Some(track) = wire.fmp4_track() else {
            return true;
        };
        let in_init = player.fmp4_tracks & track_bit(track) != 0;
        if player.outlet.is_finished() || !(player.needs_header || in_init) {
            return true;
        }
    }
    if player.needs_header {
        let header = match first_bytes(form, context.tracks, context.headers, wire) {
            Ok((header, tracks)) => {
                player.fmp4_tracks = tracks;
                header
            }
            Err(why) => {
                debug!("conn#{} cannot play as fMP4: {why}", player.id);
                context.refusal.set(Some(why));
                // Its connection answers 415 (see `fmp4_refusal`).
                player.outlet.finish();
                return false;
            }
        };
        // The first thing queued: there is room.
        player.needs_header = player.outlet.try_queue(Queued::Own(Box::new(header))).is_err();
    }
    let outside_init = |t| player.fmp4_tracks & track_bit(t) == 0;
    if form.is_fmp4() && wire.fmp4_track().is_none_or(outside_init) {
        return true;
    }
    let bytes = wire.bytes(form);
    if bytes.is_empty() {
        return true; // a frame of a codec fMP4 does not carry
    }
    let len = bytes.len() as u64;
    match player.outlet.try_queue(Queued::Frame(wire.clone())) {
        Ok(()) => {
            context.sent.set(context.sent.get() + len);
            true
        }
        Err(TrySendError::Full(_)) => {
            if !player.skipping {
                debug!("conn#{} is slow: skipping to the next keyframe", player.id);
            }
            player.skipping = true;
            player.dropped += 1;
            player.outlet.count_drop();
            false
        }
        // The connection thread is gone; its cleanup unsubscribes it.
        Err(TrySendError::Disconnected(_)) => false,
    }
}

// The tests of `cache` and `timeline` drive a stream too: what those keep
// shows in what the players get.
#[cfg(test)]
pub(crate) use tests::{CHUNK_SIZE, config, publisher, stream, subscribe, video};

#[cfg(test)]
mod tests {
    //! A stream with players on loopback sockets.

    use super::*;
    use crate::protocol::chunk::{ChunkDecoder, DecoderLimits};
    use crate::protocol::message::type_id;
    use crossbeam_channel::Receiver;
    use parking_lot::{MappedMutexGuard, MutexGuard};
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    /// A player on a loopback socket.
    pub(crate) struct TestPlayer {
        pub(crate) outlet: Arc<Outlet>,
        /// What the connection thread would take off the queue.
        pub(crate) queue: Receiver<Queued>,
        /// The socket's far end, as the player reads it.
        far: TcpStream,
    }

    /// Subscribes player `id`, whose queue holds `capacity` frames.
    pub(crate) fn subscribe(stream: &Stream, id: ConnId, capacity: usize) -> TestPlayer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let near = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (far, _) = listener.accept().unwrap();
        far.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let (outlet, queue) = Outlet::new(Arc::new(near), Form::Rtmp, capacity, 1 << 20);
        stream.subscribe(id, outlet.clone());
        TestPlayer { outlet, queue, far }
    }

    impl TestPlayer {
        /// Video frames queued so far, as (first byte, timestamp).
        pub(crate) fn queued(&self) -> Vec<(u8, u32)> {
            let taken: Vec<Queued> = self.queue.try_iter().collect();
            let bytes = |q: &Queued| q.bytes(Form::Rtmp).to_vec();
            self.outlet
                .media_written(taken.len(), taken.iter().map(|q| bytes(q).len()).sum());
            decode(taken.iter().flat_map(bytes).collect())
        }

        /// Video frames read from the socket, until `want` arrived or a
        /// read times out.
        fn received(&mut self, want: usize) -> Vec<(u8, u32)> {
            let mut bytes = Vec::new();
            let mut buf = [0u8; 4096];
            while decode(bytes.clone()).len() < want {
                match self.far.read(&mut buf) {
                    Ok(n) if n > 0 => bytes.extend_from_slice(&buf[..n]),
                    _ => break, // the read timeout: the assertion shows what came
                }
            }
            decode(bytes)
        }
    }

    pub(crate) fn publisher() -> PublisherInfo {
        PublisherInfo {
            addr: "127.0.0.1:1".parse().unwrap(),
            encoder: "test".into(),
            tc_url: "rtmp://127.0.0.1/live".into(),
        }
    }

    impl Stream {
        /// One frame from the current publisher in a read of its own, as
        /// the connection hands it over.
        pub(crate) fn publish(&self, frame: Frame) {
            self.push_now(frame).unwrap();
            self.flush_if_due();
        }

        /// A frame from the current publisher.
        pub(crate) fn push_now(&self, frame: Frame) -> Result<(), CacheError> {
            let id = self.timeline.lock().publisher.expect("a publisher");
            self.push(id, frame)
        }

        pub(crate) fn try_start_publish(&self, id: ConnId, info: PublisherInfo) -> bool {
            self.start_publish(id, info, false) == Start::Started
        }

        /// The stream's settings, to change before it runs.
        pub(crate) fn config_mut(&mut self) -> &mut StreamSettings {
            &mut self.config
        }

        /// What the stream has cached.
        pub(crate) fn cache(&self) -> MappedMutexGuard<'_, Cache> {
            MutexGuard::map(self.state.lock(), |state| &mut state.cache)
        }
    }

    pub(crate) fn stream(max_dropped_in_a_row: u64) -> Stream {
        let config = StreamSettings {
            max_dropped_in_a_row,
            ..config()
        };
        Stream::new(1, StreamKey::new("live", "t"), (config, CHUNK_SIZE), Events::new())
    }

    /// The chunk size a decoder starts with.
    pub(crate) const CHUNK_SIZE: u32 = 128;

    /// Settings for a stream under test: frames go out as they come.
    pub(crate) fn config() -> StreamSettings {
        StreamSettings {
            gop_cache: true,
            gop_max_frames: 100,
            cache_max_bytes: 1 << 20,
            max_tracks: 4,
            max_dropped_in_a_row: 1000,
            min_stall: Duration::ZERO,
            merge_write: Duration::ZERO,
        }
    }

    pub(crate) fn video(ms: u32, first: u8, tag: u8) -> Frame {
        Frame {
            kind: FrameKind::Video,
            timestamp: RtmpTime(ms),
            payload: vec![first, tag, ms as u8],
        }
    }

    /// Video messages in `bytes` as (first byte, timestamp).
    fn decode(bytes: Vec<u8>) -> Vec<(u8, u32)> {
        let mut decoder = ChunkDecoder::new(DecoderLimits::default());
        decoder.push(&bytes);
        let mut out = Vec::new();
        while let Some(m) = decoder.next_message().unwrap() {
            if m.type_id == type_id::VIDEO {
                out.push((m.payload[0], m.timestamp.0));
            }
        }
        out
    }

    #[test]
    fn a_full_queue_skips_to_the_next_keyframe_with_the_headers_again() {
        let stream = stream(1000);
        assert!(stream.try_start_publish(1, publisher()));
        let player = subscribe(&stream, 2, 4);
        // A connection thread busy writing: everything goes through the queue.
        let _turn = player.outlet.turn();
        stream.publish(video(0, 0x17, 0)); // AVC sequence header
        for ms in [10, 20, 30, 40, 50] {
            // keyframe then inter frames: the 4-slot queue fills at 30
            stream.publish(video(ms, if ms == 10 { 0x17 } else { 0x27 }, 1));
        }
        assert_eq!(player.queued(), vec![(0x17, 0), (0x17, 10), (0x27, 20), (0x27, 30)]);
        // 40 and 50 were dropped; more inter frames are dropped even with room.
        stream.publish(video(60, 0x27, 1));
        stream.publish(video(70, 0x17, 1)); // the next keyframe: headers, then it
        stream.publish(video(80, 0x27, 1));
        assert_eq!(player.queued(), vec![(0x17, 0), (0x17, 70), (0x27, 80)]);
        assert_eq!(stream.stats().dropped, 3);
    }

    #[test]
    fn a_player_behind_for_too_long_is_told_to_hang_up() {
        let stream = stream(3);
        assert!(stream.try_start_publish(1, publisher()));
        let player = subscribe(&stream, 2, 2);
        let _turn = player.outlet.turn();
        for ms in 0..5 {
            stream.publish(video(ms, 0x27, 1));
        }
        assert!(!player.outlet.is_hung_up(), "3 dropped in a row is within the bound");
        stream.publish(video(5, 0x27, 1));
        assert!(player.outlet.is_hung_up());
        assert_eq!(stream.stats().players, 0);
    }

    #[test]
    fn a_player_that_wrote_lately_is_not_hung_up() {
        let mut stream = stream(3);
        stream.config.min_stall = Duration::from_secs(3600);
        assert!(stream.try_start_publish(1, publisher()));
        let player = subscribe(&stream, 2, 2);
        let _turn = player.outlet.turn();
        for ms in 0..20 {
            stream.publish(video(ms, 0x27, 1));
        }
        assert!(
            !player.outlet.is_hung_up(),
            "18 dropped, but it joined within the stall time"
        );
        assert_eq!(stream.stats().players, 1);
    }

    #[test]
    fn a_player_that_reads_slowly_stays_however_much_it_misses() {
        let stream = stream(3);
        assert!(stream.try_start_publish(1, publisher()));
        let player = subscribe(&stream, 2, 2);
        let _turn = player.outlet.turn();
        for round in 0..10 {
            // Keyframes fill the queue and three are dropped each round,
            // which the limit allows; then the thread takes one off and
            // writes it. Without that, round two would make five in a row.
            for ms in 0..4 {
                stream.publish(video(round * 10 + ms, 0x17, 1));
            }
            let taken = player.queue.try_recv().unwrap();
            player.outlet.media_written(1, taken.bytes(Form::Rtmp).len());
        }
        assert!(!player.outlet.is_hung_up());
        assert_eq!(stream.stats().players, 1);
        assert_eq!(stream.stats().dropped, 2 + 9 * 3);
    }

    #[test]
    fn an_idle_player_gets_frames_on_its_socket_and_a_busy_one_through_its_queue() {
        let stream = stream(1000);
        assert!(stream.try_start_publish(1, publisher()));
        let mut player = subscribe(&stream, 2, 16);
        stream.publish(video(10, 0x17, 1));
        stream.publish(video(20, 0x27, 1));
        assert_eq!(player.received(2), vec![(0x17, 10), (0x27, 20)]);
        assert!(player.queue.is_empty());
        {
            // The thread holds its turn: frames queue behind it, in order,
            // and keep queueing while anything is queued.
            let _turn = player.outlet.turn();
            stream.publish(video(30, 0x27, 1));
        }
        stream.publish(video(40, 0x27, 1));
        assert_eq!(player.queued(), vec![(0x27, 30), (0x27, 40)]);
        // Control messages the thread owes hold media back too.
        player.outlet.set_owed(true);
        stream.publish(video(50, 0x27, 1));
        assert_eq!(player.queued(), vec![(0x27, 50)]);
        player.outlet.set_owed(false);
        stream.publish(video(60, 0x27, 1));
        assert_eq!(player.received(1), vec![(0x27, 60)]);
    }

    #[test]
    fn frames_from_one_read_go_out_together_at_its_end() {
        let stream = stream(1000);
        assert!(stream.try_start_publish(1, publisher()));
        let mut player = subscribe(&stream, 2, 16);
        stream.push_now(video(10, 0x17, 1)).unwrap();
        stream.push_now(video(20, 0x27, 1)).unwrap();
        assert_eq!(player.received(1), vec![], "held until the read is done");
        stream.flush_if_due();
        assert_eq!(player.received(2), vec![(0x17, 10), (0x27, 20)]);
        assert_eq!(player.queued(), vec![], "written directly");
    }

    #[test]
    fn merged_writes_hold_frames_until_the_oldest_is_old_enough() {
        let mut stream = stream(1000);
        stream.config.merge_write = Duration::from_secs(3600);
        assert!(stream.try_start_publish(1, publisher()));
        let mut player = subscribe(&stream, 2, 16);
        stream.publish(video(10, 0x17, 1));
        stream.publish(video(20, 0x27, 1));
        assert_eq!(player.received(1), vec![], "held for the merge");
        // A late joiner gets the held frames from the GOP cache, and the
        // flush does not send them twice.
        let mut late = subscribe(&stream, 3, 16);
        assert_eq!(late.queued(), vec![(0x17, 10), (0x27, 20)]);
        stream.end_publish(1); // flushes what is pending
        assert_eq!(player.received(2), vec![(0x17, 10), (0x27, 20)]);
        assert_eq!(player.queued(), vec![], "only StreamEOF queued");
        assert_eq!(late.received(1), vec![]);
    }

    #[test]
    fn a_queue_full_in_bytes_skips_to_the_next_keyframe() {
        let stream = stream(1000);
        assert!(stream.try_start_publish(1, publisher()));
        let player = subscribe(&stream, 2, 100); // 100 frames, 1 MiB
        let _turn = player.outlet.turn();
        let big = |ms, first| {
            let mut frame = video(ms, first, 1);
            frame.payload.resize(300 * 1024, 0);
            frame
        };
        for (ms, first) in [(0, 0x17), (10, 0x27), (20, 0x27), (30, 0x27), (40, 0x17)] {
            stream.publish(big(ms, first));
        }
        // Three fit in 1 MiB; the fourth is dropped and so is everything
        // up to the next keyframe, which no longer fits either.
        assert_eq!(player.queued(), vec![(0x17, 0), (0x27, 10), (0x27, 20)]);
        stream.publish(big(50, 0x17));
        assert_eq!(player.queued(), vec![(0x17, 50)]);
    }
}
