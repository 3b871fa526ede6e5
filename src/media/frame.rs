//! `Frame`: one published media message, and `StreamKey`: which stream.

use std::fmt;

use super::flv::{self, Tracks};
use super::tag::{Packet, TagHeader, audio_tag, video_tag};
use crate::protocol::time::RtmpTime;

/// The identity of a live stream: application and stream name. A `?query`
/// on the name is not part of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// The application (`live` in `rtmp://host/live/name`).
    pub app: String,
    /// The stream name without its query.
    pub name: String,
}

impl StreamKey {
    /// A key from an app and a stream name.
    pub fn new(app: impl Into<String>, name: impl Into<String>) -> StreamKey {
        StreamKey {
            app: app.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.app, self.name)
    }
}

/// What kind of message a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// An FLV audio tag body.
    Audio,
    /// An FLV video tag body.
    Video,
    /// An AMF0 `onMetaData` data message body.
    Metadata,
}

/// One media message from a publisher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Audio, video or metadata.
    pub kind: FrameKind,
    /// The publisher's timestamp.
    pub timestamp: RtmpTime,
    /// The message body.
    pub payload: Vec<u8>,
}

impl Frame {
    /// The tag header of an audio or video frame.
    pub fn tag(&self) -> Option<TagHeader> {
        match self.kind {
            FrameKind::Audio => audio_tag(&self.payload),
            FrameKind::Video => video_tag(&self.payload),
            FrameKind::Metadata => None,
        }
    }

    /// A video keyframe that is not configuration: where a GOP starts.
    pub fn is_keyframe(&self) -> bool {
        self.tag().is_some_and(|t| t.is_keyframe())
    }

    /// Codec configuration a player needs before any frame.
    pub fn is_sequence_header(&self) -> bool {
        self.tag().is_some_and(|t| t.packet == Packet::Config)
    }

    /// The track of an audio or video frame: 0 unless multitrack.
    pub fn track(&self) -> u8 {
        self.tag().map_or(0, |t| t.track)
    }
}

/// What a stream has configured so far, for whoever starts on it later (a
/// file, a relay's new connection): the latest metadata and the latest
/// sequence header per kind and track, and the tracks they show.
#[derive(Debug, Clone, Default)]
pub struct Configuration {
    /// The latest `onMetaData`.
    pub metadata: Option<Frame>,
    /// The latest sequence header per kind and track, in arrival order.
    pub headers: Vec<Frame>,
    /// The tracks the metadata and the headers show, kept up to date here
    /// so that nobody reads the metadata again per frame.
    pub tracks: Tracks,
}

impl Configuration {
    /// Keeps `frame` if it is metadata or a sequence header; false if it
    /// is neither.
    pub fn keep(&mut self, frame: &Frame) -> bool {
        if frame.kind == FrameKind::Metadata {
            self.metadata = Some(frame.clone());
        } else if frame.is_sequence_header() {
            let same = |h: &Frame| h.kind == frame.kind && h.track() == frame.track();
            self.headers.retain(|h| !same(h));
            self.headers.push(frame.clone());
        } else {
            return false;
        }
        let from_metadata = self.metadata.as_ref().and_then(|m| flv::tracks_in_metadata(&m.payload));
        let from_headers = Tracks {
            audio: self.headers.iter().any(|h| h.kind == FrameKind::Audio),
            video: self.headers.iter().any(|h| h.kind == FrameKind::Video),
        };
        self.tracks = from_headers.union(from_metadata.unwrap_or_default());
        true
    }
}
