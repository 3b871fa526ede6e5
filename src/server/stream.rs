//! `Stream`: one live stream: its publisher, the caches a joining player
//! needs, and its players' queues.
//!
//! Each frame is chunked once ([`prechunk`]) into an `Arc<[u8]>` that every
//! player's queue shares. A player whose queue is full is slow: it skips
//! frames until the next keyframe, then gets the current sequence headers
//! and that keyframe, so it never sees half a GOP or misses a codec change.
//! The publisher never waits for a player.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crossbeam_channel::{Sender, TrySendError};
use log::{debug, warn};
use parking_lot::Mutex;

use crate::media::tag::Packet;
use crate::media::{Frame, FrameKind, StreamKey};
use crate::protocol::chunk::{csid, prechunk};
use crate::protocol::message::{MEDIA_STREAM_ID, Message, UserControl, type_id};
use crate::protocol::time::RtmpTime;

/// Bytes already chunked for the wire, shared by every player's queue.
pub(crate) type Chunks = Arc<[u8]>;

/// Identifies a connection in logs and in a stream's player list.
pub(crate) type ConnId = u64;

/// A player's side of the fan-out: its queue of chunks, the most it may
/// hold, and the flag that tells its writer to hang up when it fell too far
/// behind. The channel itself is unbounded so an idle player costs no
/// preallocated slots; only the stream sends, under its lock, so checking
/// the length before sending keeps the bound.
#[derive(Clone)]
pub(crate) struct PlayerQueue {
    pub(crate) chunks: Sender<Chunks>,
    pub(crate) capacity: usize,
    pub(crate) hang_up: Arc<AtomicBool>,
}

/// Stream settings taken from `Config`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamConfig {
    pub(crate) chunk_size: u32,
    pub(crate) gop_cache: bool,
    pub(crate) gop_max_frames: usize,
    pub(crate) gop_max_bytes: usize,
    /// Frames a slow player may miss in a row before it is disconnected.
    pub(crate) max_dropped_in_a_row: u64,
}

/// What `stats` reports about one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStats {
    /// Which stream.
    pub key: StreamKey,
    /// A publisher is live on it.
    pub publishing: bool,
    /// Players subscribed to it.
    pub players: usize,
    /// Audio, video and metadata messages received from publishers so far.
    pub frames: u64,
    /// The timestamp of the latest frame published.
    pub last_timestamp: RtmpTime,
    /// Frames not sent to players so far: frames a slow player skipped, and
    /// frames before the first keyframe a joining player could use.
    pub dropped: u64,
    /// Each player's connection number and frames dropped for it.
    pub player_drops: Vec<(u64, u64)>,
}

struct Player {
    id: ConnId,
    queue: Sender<Chunks>,
    capacity: usize,
    hang_up: Arc<AtomicBool>,
    /// Skipping frames until the next place a decoder can start.
    skipping: bool,
    dropped: u64,
    dropped_in_a_row: u64,
}

#[derive(Default)]
struct State {
    publisher: Option<ConnId>,
    metadata: Option<Chunks>,
    /// The latest codec configuration per kind and track (E-RTMP
    /// multitrack streams configure each track apart), in arrival order.
    headers: Vec<((FrameKind, u8), Chunks)>,
    has_video: bool,
    /// The frames since the last keyframe, keyframe first; empty when
    /// caching is off or the GOP outgrew its bounds.
    gop: Vec<Chunks>,
    gop_bytes: usize,
    players: Vec<Player>,
    frames: u64,
    last_timestamp: RtmpTime,
    dropped: u64,
}

impl State {
    /// Queues a user control event (chunked once) to every player with room.
    fn tell_players(&self, event: UserControl) {
        let chunks = user_control(event);
        for player in &self.players {
            let _ = try_queue(player, chunks.clone());
        }
    }
}

/// One live stream.
pub(crate) struct Stream {
    key: StreamKey,
    config: StreamConfig,
    state: Mutex<State>,
}

impl Stream {
    pub(crate) fn new(key: StreamKey, config: StreamConfig) -> Stream {
        Stream {
            key,
            config,
            state: Mutex::new(State::default()),
        }
    }

    pub(crate) fn key(&self) -> &StreamKey {
        &self.key
    }

    /// Makes `id` the publisher unless another one is live.
    pub(crate) fn try_start_publish(&self, id: ConnId) -> bool {
        let mut state = self.state.lock();
        if state.publisher.is_some() {
            return false;
        }
        state.publisher = Some(id);
        // Players waiting from before, or from a previous publisher, hear
        // that the stream runs again.
        for player in &mut state.players {
            player.skipping = false;
        }
        state.tell_players(UserControl::StreamBegin(MEDIA_STREAM_ID));
        true
    }

    /// Ends the publish by `id`: caches are cleared (the next publisher's
    /// codecs may differ) and players get StreamEOF but stay subscribed.
    pub(crate) fn end_publish(&self, id: ConnId) {
        let mut state = self.state.lock();
        if state.publisher != Some(id) {
            return;
        }
        state.publisher = None;
        state.metadata = None;
        state.headers.clear();
        state.has_video = false;
        state.gop.clear();
        state.gop_bytes = 0;
        // Interop: StreamEOF, not Play.UnpublishNotify: ffmpeg and librtmp
        // players quit on the latter and would miss a republish.
        state.tell_players(UserControl::StreamEof(MEDIA_STREAM_ID));
    }

    /// Tells every player the stream ended (server shutdown).
    pub(crate) fn end_for_players(&self) {
        self.state.lock().tell_players(UserControl::StreamEof(MEDIA_STREAM_ID));
    }

    /// Adds a player; it gets the cached metadata, sequence headers and GOP
    /// at once, then live frames.
    pub(crate) fn subscribe(&self, id: ConnId, queue: PlayerQueue) {
        let mut state = self.state.lock();
        let mut player = Player {
            id,
            queue: queue.chunks,
            capacity: queue.capacity,
            hang_up: queue.hang_up,
            skipping: false,
            dropped: 0,
            dropped_in_a_row: 0,
        };
        if let Some(metadata) = &state.metadata {
            send(&mut player, metadata.clone());
        }
        if state.has_video && state.gop.is_empty() {
            // No cached GOP to start from: wait for the next keyframe (it
            // brings the sequence headers along) rather than show a player
            // frames it cannot decode.
            player.skipping = true;
        } else {
            let headers = state.headers.iter().map(|(_, chunks)| chunks);
            for chunks in headers.chain(&state.gop) {
                send(&mut player, chunks.clone());
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

    pub(crate) fn stats(&self) -> StreamStats {
        let state = self.state.lock();
        StreamStats {
            key: self.key.clone(),
            publishing: state.publisher.is_some(),
            players: state.players.len(),
            frames: state.frames,
            last_timestamp: state.last_timestamp,
            dropped: state.dropped,
            player_drops: state.players.iter().map(|p| (p.id, p.dropped)).collect(),
        }
    }

    /// Chunks one frame from the publisher, caches it as needed and queues
    /// it to every player.
    pub(crate) fn publish(&self, frame: Frame) {
        let (chunk_csid, frame_type) = match frame.kind {
            FrameKind::Audio => (csid::AUDIO, type_id::AUDIO),
            FrameKind::Video => (csid::VIDEO, type_id::VIDEO),
            FrameKind::Metadata => (csid::DATA, type_id::DATA_AMF0),
        };
        let tag = frame.tag();
        let is_keyframe = tag.is_some_and(|t| t.is_keyframe());
        let is_header = tag.is_some_and(|t| t.packet == Packet::Config);
        let chunks: Chunks = prechunk(
            chunk_csid,
            frame.timestamp,
            frame_type,
            MEDIA_STREAM_ID,
            &frame.payload,
            self.config.chunk_size,
        )
        .into();

        let mut state = self.state.lock();
        let state = &mut *state;
        state.frames += 1;
        state.last_timestamp = frame.timestamp;
        if frame.kind == FrameKind::Video {
            state.has_video = true;
        }
        if frame.kind == FrameKind::Metadata || is_header {
            if frame.kind == FrameKind::Metadata {
                state.metadata = Some(chunks.clone());
            } else {
                let key = (frame.kind, tag.map_or(0, |t| t.track));
                match state.headers.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, cached)) => *cached = chunks.clone(),
                    None => state.headers.push((key, chunks.clone())),
                }
            }
            // Skipping players get the current headers when they resume.
            for player in state.players.iter_mut().filter(|p| !p.skipping) {
                send(player, chunks.clone());
            }
            return;
        }
        self.cache_gop(state, &chunks, is_keyframe, frame.payload.len());

        // Where a decoder can start: a keyframe, or any audio frame of a
        // stream without video.
        let resume_point = is_keyframe || (frame.kind == FrameKind::Audio && !state.has_video);
        let mut dropped = 0;
        for player in &mut state.players {
            if player.skipping {
                let room = player.capacity.saturating_sub(player.queue.len());
                let has_room = room > state.headers.len();
                if !(resume_point && has_room) {
                    player.dropped += 1;
                    dropped += 1;
                    // Waiting for a keyframe with room is not being slow.
                    if !has_room {
                        player.dropped_in_a_row += 1;
                    }
                    continue;
                }
                debug!(
                    "conn#{} resumes {} at a keyframe after {} dropped",
                    player.id, self.key.app, player.dropped
                );
                player.skipping = false;
                player.dropped_in_a_row = 0;
                for (_, header) in &state.headers {
                    send(player, header.clone());
                }
            }
            if !send(player, chunks.clone()) {
                dropped += 1;
            }
        }
        state.dropped += dropped;
        let limit = self.config.max_dropped_in_a_row;
        state.players.retain(|p| {
            if p.dropped_in_a_row <= limit {
                return true;
            }
            warn!(
                "conn#{} too slow for {}: {} frames dropped in a row; disconnecting",
                p.id, self.key.app, p.dropped_in_a_row
            );
            p.hang_up.store(true, Ordering::Relaxed);
            false
        });
    }

    fn cache_gop(&self, state: &mut State, chunks: &Chunks, is_keyframe: bool, payload_len: usize) {
        if !self.config.gop_cache {
            return;
        }
        if is_keyframe {
            state.gop.clear();
            state.gop_bytes = 0;
        } else if state.gop.is_empty() {
            return; // no keyframe yet: nothing a player could start from
        }
        if state.gop.len() >= self.config.gop_max_frames || state.gop_bytes + payload_len > self.config.gop_max_bytes {
            // Too long to replay: a joining player waits for the next keyframe.
            state.gop.clear();
            state.gop_bytes = 0;
            return;
        }
        state.gop.push(chunks.clone());
        state.gop_bytes += payload_len;
    }
}

/// Queues `chunks` unless the player's queue is at its capacity.
fn try_queue(player: &Player, chunks: Chunks) -> Result<(), TrySendError<Chunks>> {
    if player.queue.len() >= player.capacity {
        return Err(TrySendError::Full(chunks));
    }
    player.queue.try_send(chunks)
}

/// Queues `chunks` without blocking. A full queue makes the player skip to
/// the next keyframe; returns false when the frame was not queued.
fn send(player: &mut Player, chunks: Chunks) -> bool {
    match try_queue(player, chunks) {
        Ok(()) => true,
        Err(TrySendError::Full(_)) => {
            if !player.skipping {
                debug!("conn#{} is slow: skipping to the next keyframe", player.id);
            }
            player.skipping = true;
            player.dropped += 1;
            player.dropped_in_a_row += 1;
            false
        }
        // The writer is gone; the connection's cleanup unsubscribes it.
        Err(TrySendError::Disconnected(_)) => false,
    }
}

fn user_control(event: UserControl) -> Chunks {
    let mut payload = Vec::new();
    Message::UserControl(event).encode(&mut payload);
    prechunk(
        csid::CONTROL,
        RtmpTime::ZERO,
        type_id::USER_CONTROL,
        0,
        &payload,
        u32::MAX,
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::chunk::{ChunkDecoder, DecoderLimits};
    use crossbeam_channel::{Receiver, unbounded};

    fn stream(max_dropped_in_a_row: u64) -> Stream {
        Stream::new(
            StreamKey::new("live", "t"),
            StreamConfig {
                chunk_size: 128, // what a decoder starts with
                gop_cache: true,
                gop_max_frames: 100,
                gop_max_bytes: 1 << 20,
                max_dropped_in_a_row,
            },
        )
    }

    fn video(ms: u32, first: u8, tag: u8) -> Frame {
        Frame {
            kind: FrameKind::Video,
            timestamp: RtmpTime(ms),
            payload: vec![first, tag, ms as u8],
        }
    }

    /// Everything queued so far, decoded back into (first byte, timestamp).
    fn drain(queue: &Receiver<Chunks>) -> Vec<(u8, u32)> {
        let mut decoder = ChunkDecoder::new(DecoderLimits::default());
        for chunks in queue.try_iter() {
            decoder.push(&chunks);
        }
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
        assert!(stream.try_start_publish(1));
        let (tx, rx) = unbounded();
        let hang_up = Arc::new(AtomicBool::new(false));
        stream.subscribe(
            2,
            PlayerQueue {
                chunks: tx,
                capacity: 4,
                hang_up,
            },
        );
        stream.publish(video(0, 0x17, 0)); // AVC sequence header
        for ms in [10, 20, 30, 40, 50] {
            // keyframe then inter frames: the 4-slot queue fills at 30
            stream.publish(video(ms, if ms == 10 { 0x17 } else { 0x27 }, 1));
        }
        assert_eq!(drain(&rx), vec![(0x17, 0), (0x17, 10), (0x27, 20), (0x27, 30)]);
        // 40 and 50 were dropped; more inter frames are dropped even with room.
        stream.publish(video(60, 0x27, 1));
        stream.publish(video(70, 0x17, 1)); // the next keyframe: headers, then it
        stream.publish(video(80, 0x27, 1));
        assert_eq!(drain(&rx), vec![(0x17, 0), (0x17, 70), (0x27, 80)]);
        assert_eq!(stream.stats().dropped, 3);
    }

    #[test]
    fn a_player_behind_for_too_long_is_told_to_hang_up() {
        let stream = stream(3);
        assert!(stream.try_start_publish(1));
        let (tx, _rx) = unbounded();
        let hang_up = Arc::new(AtomicBool::new(false));
        stream.subscribe(
            2,
            PlayerQueue {
                chunks: tx,
                capacity: 2,
                hang_up: hang_up.clone(),
            },
        );
        for ms in 0..5 {
            stream.publish(video(ms, 0x27, 1));
        }
        assert!(
            !hang_up.load(Ordering::Relaxed),
            "3 dropped in a row is within the bound"
        );
        stream.publish(video(5, 0x27, 1));
        assert!(hang_up.load(Ordering::Relaxed));
        assert_eq!(stream.stats().players, 0);
    }
}
