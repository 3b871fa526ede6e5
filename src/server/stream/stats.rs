//! What a stream reports about itself: `StreamStats` and its parts
//! (`PlayerCounts`, `PublisherStats`, `TrackStats`), and how each part is
//! counted from what the stream holds.
//!
//! Apart from `live_stream` because these are the API's figures, read by
//! the stat pages, metrics and embedders, while the stream's own code is
//! the hot path of publishing and fan-out; a figure changes here without
//! touching it.
//!
//! In scope: the figures' types and the counting of players by kind, the
//! publisher's figures and the tracks' codecs. Out of scope: the bitrates
//! (`rates`), and gathering the figures under the stream's lock
//! (`Stream::stats`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::media::codec::{self, AudioDescription, VideoDescription};
use crate::media::tag::{audio_tag, video_tag};
use crate::media::{FrameKind, StreamKey};
use crate::protocol::time::RtmpTime;
use crate::server::stream::kind::{ClientKind, ConnId};
use crate::server::stream::wire::Wire;

/// What `stats` reports about one stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamStats {
    /// The stream's number while it exists (a name published again after
    /// everyone left gets a new one).
    pub id: u64,
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
    /// Players by how they play.
    pub players_by_protocol: PlayerCounts,
    /// Who publishes, while someone does.
    pub publisher: Option<PublisherStats>,
    /// The video track, once its configuration (or a frame) came.
    pub video: Option<VideoDescription>,
    /// The audio track, likewise.
    pub audio: Option<AudioDescription>,
    /// The `type` a browser's Media Source Extensions take for the `.mp4`
    /// stream (`video/mp4; codecs="avc1.64001f,mp4a.40.2"`), when it has
    /// a track fMP4 carries.
    pub mse_type: Option<String>,
    /// Media payload bytes received from publishers.
    pub recv_bytes: u64,
    /// Bytes handed to players (written, or queued for their threads),
    /// and the bytes of the HLS files served to its viewers.
    pub send_bytes: u64,
    /// Kilobits per second received in each of the last 60 whole seconds,
    /// oldest first.
    pub kbps_in: Vec<u64>,
    /// Kilobits per second sent to players and HLS viewers, likewise.
    pub kbps_out: Vec<u64>,
    /// Players disconnected for falling too far behind.
    pub slow_disconnected: u64,
    /// Bits per second over the last 10 s: received, sent, audio
    /// received, video received (nginx-rtmp's `bw_*`).
    pub bw_10s: [u64; 4],
    /// Frames in the GOP cache, and their bytes.
    pub gop_frames: usize,
    /// Bytes of the GOP cache.
    pub gop_bytes: usize,
    /// Every track configured so far: more than one audio or video track
    /// with Enhanced RTMP multitrack.
    pub tracks: Vec<TrackStats>,
}

/// One configured track of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackStats {
    /// Audio or video.
    pub kind: FrameKind,
    /// The track id (0 without multitrack).
    pub track: u8,
    /// Its codec: `H264`, `HEVC`, `AV1`, `AAC`, `Opus`, ...
    pub codec: &'static str,
}

/// Players of a stream by protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlayerCounts {
    /// RTMP players.
    pub rtmp: usize,
    /// HTTP-FLV players.
    pub flv: usize,
    /// Live fMP4 players.
    pub mp4: usize,
    /// Subscribers inside the embedding program.
    pub local: usize,
    /// Recorders writing it to files.
    pub recorders: usize,
    /// Relays pushing it to other servers.
    pub pushes: usize,
    /// HLS viewers: addresses that asked for its playlists or segments in
    /// the last ten seconds.
    pub hls: usize,
    /// SRT readers.
    pub srt: usize,
}

/// Who publishes a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublisherStats {
    /// The publishing connection's number.
    pub id: u64,
    /// Its address.
    pub addr: SocketAddr,
    /// The encoder's `flashVer`, as it sent it (cut to 128 characters).
    pub encoder: String,
    /// The `tcUrl` of its `connect` (cut to 256 characters).
    pub tc_url: String,
    /// How long it has published.
    pub uptime: Duration,
}

/// Who a publishing connection is, for statistics.
#[derive(Debug, Clone)]
pub(crate) struct PublisherInfo {
    pub(crate) addr: SocketAddr,
    pub(crate) encoder: String,
    pub(crate) tc_url: String,
}

impl PlayerCounts {
    /// Counts the players of each kind.
    pub(crate) fn of(kinds: impl Iterator<Item = ClientKind>) -> PlayerCounts {
        let mut players = PlayerCounts::default();
        for kind in kinds {
            match kind {
                ClientKind::FlvPlay => players.flv += 1,
                ClientKind::Mp4Play => players.mp4 += 1,
                ClientKind::LocalPlay => players.local += 1,
                ClientKind::Recorder => players.recorders += 1,
                ClientKind::Relay => players.pushes += 1,
                // Its viewers are counted apart (`hls`), by the server.
                ClientKind::Hls => {}
                // Its readers are counted apart (`srt`), by the SRT door.
                ClientKind::SrtFeed => {}
                _ => players.rtmp += 1,
            }
        }
        players
    }
}

impl PublisherStats {
    /// The figures of publisher `id`, who is `info` and publishes `since`.
    pub(crate) fn new(id: ConnId, info: &PublisherInfo, since: Instant) -> PublisherStats {
        PublisherStats {
            id,
            addr: info.addr,
            encoder: info.encoder.clone(),
            tc_url: info.tc_url.clone(),
            uptime: since.elapsed(),
        }
    }
}

impl TrackStats {
    /// The tracks the cached sequence headers configure, in their order.
    pub(crate) fn of(headers: &[((FrameKind, u8), Arc<Wire>)]) -> Vec<TrackStats> {
        headers
            .iter()
            .filter_map(|((kind, track), wire)| {
                let payload = &wire.frame().payload;
                let tag = match kind {
                    FrameKind::Audio => audio_tag(payload),
                    _ => video_tag(payload),
                }?;
                let codec = codec::codec_name(*kind, tag.codec);
                Some(TrackStats {
                    kind: *kind,
                    track: *track,
                    codec,
                })
            })
            .collect()
    }
}
