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

impl StreamKey {
    /// What makes this key unfit to publish under, if anything: a part
    /// that starts with `-` (it would land in an exec hook's command as an
    /// option), or a character that is a control or a Unicode
    /// non-character (XML, the `/stat` page, cannot carry those, and no
    /// encoder needs them).
    pub fn fault(&self) -> Option<String> {
        let parts = self
            .app
            .split('/')
            .map(|p| ("app", p))
            .chain([("name", self.name.as_str())]);
        for (what, part) in parts {
            if part.starts_with('-') {
                return Some(format!("the {what} starts with '-'"));
            }
            if let Some(c) = part.chars().find(|&c| c.is_control() || is_noncharacter(c)) {
                return Some(format!("the {what} holds U+{:04X}", u32::from(c)));
            }
        }
        None
    }
}

/// Unicode's non-characters: U+FDD0..U+FDEF and the last two code points
/// of every plane (U+FFFE, U+FFFF, U+1FFFE, ...).
fn is_noncharacter(c: char) -> bool {
    let c = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&c) || c & 0xFFFE == 0xFFFE
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_an_exec_hook_or_xml_cannot_carry_are_faults() {
        assert_eq!(StreamKey::new("live", "cam 1 é 🎥").fault(), None);
        assert_eq!(StreamKey::new("a/b", "x-y").fault(), None);
        let fault = |app: &str, name: &str| StreamKey::new(app, name).fault().unwrap_or_default();
        assert_eq!(fault("live", "-rf"), "the name starts with '-'");
        assert_eq!(fault("a/-x", "cam"), "the app starts with '-'");
        assert_eq!(fault("live", "cam\u{7}"), "the name holds U+0007");
        assert_eq!(fault("live", "a\nb"), "the name holds U+000A");
        assert_eq!(fault("live", "a\u{FFFE}"), "the name holds U+FFFE");
        assert_eq!(fault("live", "a\u{FFFF}"), "the name holds U+FFFF");
        assert_eq!(fault("live", "\u{FDD0}"), "the name holds U+FDD0");
        assert_eq!(fault("live", "\u{10FFFF}"), "the name holds U+10FFFF");
        assert_eq!(fault("li\u{85}ve", "cam"), "the app holds U+0085");
    }
}
