//! Publishers and players inside the embedding program: frames it makes
//! go to the stream's players, and a live stream's frames come to it, with
//! no socket and no RTMP in between.
//!
//! Both take the paths a network peer takes. A `Publisher` holds the
//! stream's name in the registry as a publishing connection does. A
//! subscriber is a player with an outlet that has no socket: the stream
//! queues it each frame as it queues any player's, with the same bounds in
//! frames and bytes (counted as an RTMP player's) and the same
//! skip-to-keyframe and hang-up rules, and a thread of its own takes the
//! `Frame` each carries off the queue and hands it to the program's
//! channel. The end of a publish comes as an item of its own
//! (`Queued::End`). Recorders, push relays and HLS muxers are such players
//! too (`LocalPlayer`).

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use crossbeam_channel::{Receiver, bounded};
use log::debug;

use crate::config::{PlayerSettings, THREAD_STACK};
use crate::media::{Frame, StreamKey};
use crate::server::stream::kind::ClientKind;
use crate::server::stream::kind::ConnId;
use crate::server::stream::outlet::Outlet;
use crate::server::stream::registry::{Playing, Publishing, Registry};
use crate::server::stream::wire::Queued;

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
    outlet: Weak<Outlet>,
    pub(crate) media: Receiver<Queued>,
    /// Its place among the stream's players: dropping it leaves.
    _playing: Playing,
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
        }
    }

    /// Gives `take` what the stream queues for it until `take` says no
    /// more, or the stream lets go of the outlet (once what is queued is
    /// taken).
    pub(crate) fn take_frames(&self, mut take: impl FnMut(Item<'_>) -> bool) {
        for queued in &self.media {
            let Some(item) = self.taken(&queued) else {
                continue;
            };
            if !take(item) {
                return;
            }
        }
    }

    /// Counts `queued` as taken off the queue (the player reads, as a
    /// socket that took the bytes) and tells what it brings: a frame or
    /// the end of the stream; `None` for news a player inside the process
    /// does not need (a publisher started: its frames follow).
    pub(crate) fn taken<'a>(&self, queued: &'a Queued) -> Option<Item<'a>> {
        if let Some(outlet) = self.outlet.upgrade() {
            let len = queued.bytes(outlet.form()).len();
            outlet.media_written(1, len);
            outlet.count_sent(len);
        }
        match queued {
            Queued::Frame(wire) => Some(Item::Frame(wire.frame())),
            Queued::End => Some(Item::StreamEnd),
            // Own bytes are an HTTP player's first bytes or a socket's rest.
            Queued::Begin | Queued::Own(_) => None,
        }
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
                Item::Frame(frame) => frames.send(frame.clone()).is_ok(),
                Item::StreamEnd => true,
            });
            debug!("local#{id} play stop");
        })
        .map_err(LocalError::Spawn)?;
    Ok(receiver)
}

/// What a player inside the process takes off its queue.
pub(crate) enum Item<'a> {
    /// A frame, shared with the stream's other players: cloned by whoever
    /// keeps it.
    Frame(&'a Frame),
    /// The publisher stopped.
    StreamEnd,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::stream::events::Events;
    use crate::server::stream::live_stream::{CHUNK_SIZE, config, publisher, video};
    use crate::server::stream::wire::Form;

    #[test]
    fn a_local_player_takes_the_frames_themselves_then_the_end() {
        let registry = Arc::new(Registry::new(config(), CHUNK_SIZE, Events::new()));
        let key = StreamKey::new("live", "t");
        // Joined before the publish: it is told the publish began.
        let player = LocalPlayer::join(&registry, &PlayerSettings::default(), &key, ClientKind::Recorder);
        let publishing = registry.publish(&key, 1, publisher()).unwrap();
        let mut big = video(10, 0x17, 1);
        big.payload.resize(300, 7); // three RTMP chunks of 128 bytes
        let sent = [video(0, 0x17, 0), big, video(20, 0x27, 1)];
        for frame in &sent {
            publishing.push(frame.clone()).unwrap();
        }
        publishing.flush_now();
        drop(publishing);
        let outlet = player.outlet.upgrade().unwrap();
        assert_eq!(outlet.form(), Form::Rtmp, "its queue counts RTMP bytes");
        let begin = player.media.try_recv().unwrap();
        assert!(
            matches!(begin, Queued::Begin) && player.taken(&begin).is_none(),
            "StreamBegin"
        );
        let (mut frames, mut ended) = (Vec::new(), false);
        // Bounded: a missing end would otherwise wait forever.
        while let Ok(queued) = player.media.recv_timeout(std::time::Duration::from_secs(5)) {
            match player.taken(&queued) {
                Some(Item::Frame(frame)) => frames.push(frame.clone()),
                Some(Item::StreamEnd) => {
                    ended = true;
                    break;
                }
                None => panic!("only StreamBegin is news it skips"),
            }
        }
        assert_eq!(frames, sent);
        assert!(ended, "the end of the publish came as an item");
        assert_eq!(outlet.queued(), 0, "everything taken is counted");
    }
}
