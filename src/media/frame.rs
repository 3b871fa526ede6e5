//! `Frame`: one published media message, and `StreamKey`: which stream.

use std::fmt;

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
}
