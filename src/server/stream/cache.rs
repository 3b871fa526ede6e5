//! What a joining player gets before live frames: the publisher's
//! metadata, each track's latest sequence header, and the frames since the
//! last keyframe (the GOP), all within one byte budget per stream.
//!
//! Apart from `live_stream` because it is the stream's memory, bounded by
//! its own rules: a track limit, one budget shared by headers and GOP (the
//! GOP gives way), and a GOP that starts only at a keyframe. The stream
//! feeds it each frame and reads it when a player joins.
//!
//! The budget counts each frame's RTMP bytes (`Wire::len`). A kept frame
//! also holds its `Frame`, which players inside the process take and the
//! other forms are built from, and any form an HTTP player built: what a
//! cache holds is about twice its counted bytes, more with HTTP players.
//!
//! In scope: what is kept, its bounds, the fMP4 tracks and MSE codecs the
//! kept headers configure, and forgetting it all when a publish ends. Out
//! of scope: sending it to a joining player (`Stream::subscribe`), the
//! first bytes made from it (`first_bytes`).

use std::fmt;
use std::sync::Arc;

use crate::config::StreamSettings;
use crate::media::FrameKind;
use crate::server::stream::first_bytes::{fmp4_tracks, track_bit};
use crate::server::stream::wire::Wire;

/// Why a publisher's metadata or sequence header could not be cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CacheError {
    /// More tracks than `max_tracks` sent a sequence header.
    TooManyTracks { limit: usize },
    /// Metadata and sequence headers together passed the cache budget.
    OverBudget { bytes: usize, limit: usize },
    /// Another publisher took the stream over.
    Replaced,
}

impl fmt::Display for CacheError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CacheError::TooManyTracks { limit } => {
                write!(f, "sequence headers for more than {limit} tracks")
            }
            CacheError::OverBudget { bytes, limit } => write!(
                f,
                "metadata and sequence headers of {bytes} bytes exceed the stream cache limit of {limit}"
            ),
            CacheError::Replaced => write!(f, "another publisher took the stream over"),
        }
    }
}

/// A stream's caches, for joining players.
#[derive(Default)]
pub(crate) struct Cache {
    pub(crate) metadata: Option<Arc<Wire>>,
    /// The latest codec configuration per kind and track (E-RTMP
    /// multitrack streams configure each track apart), in arrival order.
    pub(crate) headers: Vec<((FrameKind, u8), Arc<Wire>)>,
    /// Bytes of `metadata` and `headers`.
    pub(crate) header_bytes: usize,
    /// The fMP4 tracks the current sequence headers configure, as bits.
    pub(crate) fmp4_tracks: u8,
    /// The MSE codecs of the fMP4 tracks (`avc1.64001f,mp4a.40.2`).
    pub(crate) mse_codecs: Option<String>,
    /// The frames since the last keyframe, keyframe first; empty when
    /// caching is off or the GOP outgrew its bounds.
    pub(crate) gop: Vec<Arc<Wire>>,
    pub(crate) gop_bytes: usize,
}

impl Cache {
    fn clear_gop(&mut self) {
        self.gop.clear();
        self.gop_bytes = 0;
    }

    /// Forgets what the publisher configured and sent: the next one's
    /// codecs may differ.
    pub(crate) fn forget(&mut self) {
        self.metadata = None;
        self.headers.clear();
        self.header_bytes = 0;
        self.fmp4_tracks = 0;
        self.mse_codecs = None;
        self.clear_gop();
    }

    /// Keeps metadata or a track's sequence header for joining players,
    /// within the track limit and the cache budget (the GOP gives way).
    pub(crate) fn keep_header(
        &mut self,
        kind: FrameKind,
        track: u8,
        wire: &Arc<Wire>,
        config: &StreamSettings,
    ) -> Result<(), CacheError> {
        let index = self.headers.iter().position(|(k, _)| *k == (kind, track));
        let replaced = match (kind, index) {
            (FrameKind::Metadata, _) => self.metadata.as_ref().map_or(0, |m| m.len()),
            (_, Some(i)) => self.headers[i].1.len(),
            (_, None) if self.headers.len() >= config.max_tracks => {
                return Err(CacheError::TooManyTracks {
                    limit: config.max_tracks,
                });
            }
            (_, None) => 0,
        };
        let header_bytes = self.header_bytes - replaced + wire.len();
        if header_bytes > config.cache_max_bytes {
            return Err(CacheError::OverBudget {
                bytes: header_bytes,
                limit: config.cache_max_bytes,
            });
        }
        self.header_bytes = header_bytes;
        match (kind, index) {
            (FrameKind::Metadata, _) => self.metadata = Some(wire.clone()),
            (_, Some(i)) => self.headers[i].1 = wire.clone(),
            (_, None) => self.headers.push(((kind, track), wire.clone())),
        }
        if kind != FrameKind::Metadata {
            let tracks = fmp4_tracks(&self.headers, None).0;
            self.fmp4_tracks = tracks.iter().fold(0, |bits, t| bits | track_bit(t.id));
            let codecs: Vec<&str> = tracks.iter().map(|t| t.codec.as_str()).collect();
            self.mse_codecs = (!codecs.is_empty()).then(|| codecs.join(","));
        }
        if self.header_bytes + self.gop_bytes > config.cache_max_bytes {
            // Too much to replay: a joining player waits for the next keyframe.
            self.clear_gop();
        }
        Ok(())
    }

    /// Keeps a coded frame in the GOP, which starts at a keyframe, within
    /// `gop_max_frames` and the budget the headers leave.
    pub(crate) fn keep_in_gop(&mut self, wire: &Arc<Wire>, is_keyframe: bool, config: &StreamSettings) {
        if !config.gop_cache {
            return;
        }
        if is_keyframe {
            self.clear_gop();
        } else if self.gop.is_empty() {
            return; // no keyframe yet: nothing a player could start from
        }
        let budget = config.cache_max_bytes - self.header_bytes;
        if self.gop.len() >= config.gop_max_frames || self.gop_bytes + wire.len() > budget {
            // Too long to replay: a joining player waits for the next keyframe.
            self.clear_gop();
            return;
        }
        self.gop.push(wire.clone());
        self.gop_bytes += wire.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Frame;
    use crate::protocol::time::RtmpTime;
    use crate::server::stream::live_stream::{publisher, stream, video};

    #[test]
    fn tracks_past_the_limit_and_headers_past_the_budget_are_errors() {
        let mut stream = stream(1000);
        stream.config_mut().max_tracks = 1;
        assert!(stream.try_start_publish(1, publisher()));
        stream.push_now(video(0, 0x17, 0)).unwrap();
        stream.push_now(video(1, 0x17, 0)).unwrap(); // the same track again
        let audio_header = Frame {
            kind: FrameKind::Audio,
            timestamp: RtmpTime(0),
            payload: vec![0xAF, 0, 0x12, 0x10],
        };
        assert_eq!(
            stream.push_now(audio_header),
            Err(CacheError::TooManyTracks { limit: 1 })
        );
        let mut big = video(2, 0x17, 0);
        big.payload.resize(2 << 20, 0);
        assert!(matches!(
            stream.push_now(big),
            Err(CacheError::OverBudget { limit: 1048576, .. })
        ));
    }

    #[test]
    fn the_gop_gives_way_to_headers_within_the_budget() {
        let stream = stream(1000);
        assert!(stream.try_start_publish(1, publisher()));
        let mut key = video(0, 0x17, 1);
        key.payload.resize(600 * 1024, 0);
        stream.publish(key);
        assert_eq!(stream.cache().gop.len(), 1);
        let mut header = video(1, 0x17, 0);
        header.payload.resize(600 * 1024, 0);
        stream.publish(header);
        let cache = stream.cache();
        assert!(cache.gop.is_empty(), "1.2 MiB of header and GOP pass the 1 MiB budget");
        assert!(cache.header_bytes > 600 * 1024);
    }
}
