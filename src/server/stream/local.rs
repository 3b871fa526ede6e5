//! Publishers and players inside the embedding program: frames it makes
//! go to the stream's players, and a live stream's frames come to it, with
//! no socket and no RTMP in between.
//!
//! Both take the paths a network peer takes. A `Publisher` holds the
//! stream's name in the registry as a publishing connection does. A
//! subscriber is a player with an outlet that has no socket: the stream
//! queues its frames in the RTMP form, with the same bounds in frames and
//! bytes and the same skip-to-keyframe and hang-up rules as any player's,
//! and a thread of its own takes them off the queue, reads each back into
//! a `Frame` and hands it to the program's channel.

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use crossbeam_channel::{Receiver, bounded};
use log::debug;

use crate::config::{PlayerSettings, THREAD_STACK};
use crate::media::{Frame, FrameKind, StreamKey};
use crate::protocol::chunk::unprechunk;
use crate::protocol::message::type_id;
use crate::server::stream::kind::ClientKind;
use crate::server::stream::kind::ConnId;
use crate::server::stream::outlet::Outlet;
use crate::server::stream::registry::{Playing, Publishing, Registry};
use crate::server::stream::wire::Chunks;

/// Frames a subscriber's channel holds. The rest wait in its queue, which
/// is bounded in bytes as a network player's is: a frame may be large.
const CHANNEL_FRAMES: usize = 8;

/// The address the API shows for a publisher inside the process.
pub(crate) const LOCAL_ADDR: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

/// Why an in-process publish or subscribe could not start, or a frame was
/// not taken.
#[derive(Debug)]
#[non_exhaustive]
pub enum LocalError {
    /// Another publisher holds the stream.
    AlreadyPublished(StreamKey),
    /// The server is shutting down.
    Stopped,
    /// The subscriber's thread could not start.
    Spawn(std::io::Error),
    /// Metadata or a sequence header the stream's caches cannot take
    /// (too many tracks, or over the cache budget); the frame was dropped
    /// and the publish goes on.
    Frame(String),
}

impl fmt::Display for LocalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LocalError::AlreadyPublished(key) => write!(f, "{key} is already being published"),
            LocalError::Stopped => write!(f, "the server is shutting down"),
            LocalError::Spawn(e) => write!(f, "cannot start a subscriber thread: {e}"),
            LocalError::Frame(why) => write!(f, "frame not taken: {why}"),
        }
    }
}

impl std::error::Error for LocalError {}

/// A publish from inside the program (`ServerHandle::publish`). Its
/// frames go to every player of the stream, over any protocol; dropping
/// it ends the publish, and players get StreamEOF as when an encoder
/// stops.
pub struct Publisher {
    publishing: Publishing,
    id: ConnId,
    key: StreamKey,
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("id", &self.id)
            .field("key", &self.key)
            .finish()
    }
}

impl Publisher {
    pub(crate) fn new(publishing: Publishing, id: ConnId, key: StreamKey) -> Publisher {
        Publisher { publishing, id, key }
    }

    /// Sends one frame to the stream's players. Frames are FLV tag bodies
    /// (audio, video) or an AMF0 `onMetaData` body, as an encoder sends
    /// them over RTMP: sequence headers first, then a keyframe, with
    /// timestamps in milliseconds.
    pub fn send(&self, frame: Frame) -> Result<(), LocalError> {
        self.publishing
            .push(frame)
            .map_err(|e| LocalError::Frame(e.to_string()))?;
        self.publishing.flush_now();
        Ok(())
    }

    /// The publish's number, as the events and the API give it.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The stream it publishes.
    pub fn key(&self) -> &StreamKey {
        &self.key
    }
}

/// A player inside the process (an in-process subscriber, a recorder, a
/// push relay, an HLS muxer): an outlet with no socket among a stream's
/// players, with a player's queue bounds, for a thread of its own to read.
pub(crate) struct LocalPlayer {
    /// Its number among the stream's players.
    pub(crate) id: ConnId,
    /// The stream holds the outlet; once it lets go (a player too slow,
    /// the server stopping, the player taken off), the queue's sending
    /// side goes with it, and the thread ends after what is queued.
    pub(crate) outlet: Weak<Outlet>,
    pub(crate) media: Receiver<Chunks>,
    /// Its place among the stream's players: dropping it leaves.
    _playing: Playing,
    /// The chunk size its queued messages were chunked at.
    pub(crate) chunk_size: u32,
}

impl LocalPlayer {
    /// Joins `key`'s players as a player of `kind`, with the queue bounds
    /// of `players`; it gets the stream's caches at once, as any player.
    pub(crate) fn join(
        registry: &Arc<Registry>,
        players: &PlayerSettings,
        key: &StreamKey,
        kind: ClientKind,
    ) -> LocalPlayer {
        let (outlet, media) = Outlet::local(kind, players.queue_len, players.queue_max_bytes);
        let id = registry.new_conn_id();
        let playing = registry.play(key, id, outlet.clone());
        LocalPlayer {
            id,
            outlet: Arc::downgrade(&outlet),
            media,
            _playing: playing,
            chunk_size: registry.chunk_size(),
        }
    }

    /// Reads what the stream queues for it, back into frames, until `take`
    /// says no more or the stream lets go (see `take_frames`).
    pub(crate) fn take_frames(&self, take: impl FnMut(Item) -> bool) {
        take_frames(&self.outlet, &self.media, self.chunk_size, take);
    }
}

/// Subscribes the program to `key`: a thread hands the stream's frames to
/// the returned channel.
pub(crate) fn subscribe(
    registry: &Arc<Registry>,
    players: &PlayerSettings,
    key: &StreamKey,
) -> Result<Receiver<Frame>, LocalError> {
    let player = LocalPlayer::join(registry, players, key, ClientKind::LocalPlay);
    let id = player.id;
    let (frames, receiver) = bounded(CHANNEL_FRAMES);
    std::thread::Builder::new()
        .name(format!("local-player-{id}"))
        .stack_size(THREAD_STACK)
        .spawn(move || {
            // Across republishes, as an RTMP player stays.
            player.take_frames(|item| match item {
                Item::Frame(frame) => frames.send(frame).is_ok(),
                Item::StreamEnd => true,
            });
            debug!("local#{id} play stop");
        })
        .map_err(LocalError::Spawn)?;
    Ok(receiver)
}

/// What a local outlet's queue brings.
pub(crate) enum Item {
    Frame(Frame),
    /// StreamEOF: the publisher stopped.
    StreamEnd,
}

/// Takes what the stream queued for `outlet`, reads each message back and
/// gives it to `take` until `take` says no more, or the stream lets go of
/// the outlet (once what is queued is taken).
pub(crate) fn take_frames(
    outlet: &Weak<Outlet>,
    media: &Receiver<Chunks>,
    chunk_size: u32,
    mut take: impl FnMut(Item) -> bool,
) {
    for chunks in media {
        taken(outlet, &chunks);
        let Some(item) = item_of(&chunks, chunk_size) else {
            continue;
        };
        if !take(item) {
            return;
        }
    }
}

/// Counts `chunks` as taken off the queue: the player reads, as a socket
/// that took the bytes.
pub(crate) fn taken(outlet: &Weak<Outlet>, chunks: &[u8]) {
    if let Some(outlet) = outlet.upgrade() {
        outlet.media_written(1, chunks.len());
        outlet.count_sent(chunks.len());
    }
}

/// The frame, or the end of the stream, in one message the stream chunked
/// for RTMP players; `None` for other control events (StreamBegin).
pub(crate) fn item_of(chunks: &[u8], chunk_size: u32) -> Option<Item> {
    let message = unprechunk(chunks, chunk_size)?;
    let kind = match message.type_id {
        type_id::AUDIO => FrameKind::Audio,
        type_id::VIDEO => FrameKind::Video,
        type_id::DATA_AMF0 => FrameKind::Metadata,
        type_id::USER_CONTROL if message.payload.starts_with(&STREAM_EOF) => return Some(Item::StreamEnd),
        _ => return None,
    };
    Some(Item::Frame(Frame {
        kind,
        timestamp: message.timestamp,
        payload: message.payload,
    }))
}

/// The user control event type of StreamEOF, big-endian.
const STREAM_EOF: [u8; 2] = [0, 1];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::chunk::{SharedCsid, prechunk};
    use crate::protocol::time::RtmpTime;

    #[test]
    fn a_chunked_frame_reads_back_and_stream_eof_is_the_end() {
        let payload: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        let bytes = prechunk(SharedCsid::Video, RtmpTime(40), type_id::VIDEO, 1, &payload, 128);
        let Some(Item::Frame(frame)) = item_of(&bytes, 128) else {
            panic!("a video frame")
        };
        assert_eq!(
            (frame.kind, frame.timestamp, frame.payload),
            (FrameKind::Video, RtmpTime(40), payload)
        );
        let control = |event: [u8; 2]| {
            let payload = [event[0], event[1], 0, 0, 0, 1];
            prechunk(
                SharedCsid::Control,
                RtmpTime(0),
                type_id::USER_CONTROL,
                0,
                &payload,
                128,
            )
        };
        assert!(matches!(item_of(&control(STREAM_EOF), 128), Some(Item::StreamEnd)));
        assert!(item_of(&control([0, 0]), 128).is_none(), "StreamBegin");
    }
}
