//! The FLV file structure (FLV 10.1 §E.2, §E.3): the header, and tags
//! each followed by its PreviousTagSize. HTTP-FLV players read exactly a
//! file: the header once, then a tag per message. Enhanced RTMP tag bodies
//! pass through unchanged (E-FLV).

use super::tag::{Packet, audio_tag, video_tag};
use super::{Frame, FrameKind};
use crate::protocol::amf0::{self, Amf0Value};
use crate::protocol::message::type_id;
use crate::protocol::time::RtmpTime;

/// The header's length with PreviousTagSize0 after it.
pub const HEADER_LEN: usize = 13;
/// A tag header's length (§E.4.1).
pub const TAG_HEADER_LEN: usize = 11;

/// Which tracks a stream has, as the header announces them: demuxers
/// (ffmpeg's, browsers') wait for a track the header promises.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tracks {
    /// An audio track.
    pub audio: bool,
    /// A video track.
    pub video: bool,
}

impl Tracks {
    /// Both tracks, either's, or none.
    pub fn union(self, other: Tracks) -> Tracks {
        Tracks {
            audio: self.audio || other.audio,
            video: self.video || other.video,
        }
    }
}

/// The FLV header for `tracks`, and PreviousTagSize0.
pub fn header(tracks: Tracks) -> [u8; HEADER_LEN] {
    let flags = (u8::from(tracks.audio) << 2) | u8::from(tracks.video);
    [b'F', b'L', b'V', 1, flags, 0, 0, 0, 9, 0, 0, 0, 0]
}

/// Appends one tag of `tag_type` (8 audio, 9 video, 18 script data: the
/// RTMP message type ids) and its PreviousTagSize to `out`. RTMP message
/// lengths are 24-bit, as the tag's DataSize is.
pub fn put_tag(tag_type: u8, timestamp: RtmpTime, body: &[u8], out: &mut Vec<u8>) {
    let len = body.len() as u32;
    let ts = timestamp.0;
    out.reserve(TAG_HEADER_LEN + body.len() + 4);
    out.push(tag_type);
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    // The low 24 bits, then the high 8 (TimestampExtended).
    out.extend_from_slice(&ts.to_be_bytes()[1..]);
    out.push((ts >> 24) as u8);
    out.extend_from_slice(&[0, 0, 0]); // StreamID, always 0
    out.extend_from_slice(body);
    out.extend_from_slice(&(TAG_HEADER_LEN as u32 + len).to_be_bytes());
}

/// The tag at the start of `bytes` (past the file header) as a frame, and
/// how many bytes it takes with its PreviousTagSize; `None` until all of
/// them are there. The inverse of `put_tag`: script data, and any type
/// but audio and video, reads as metadata.
pub fn read_tag(bytes: &[u8]) -> Option<(Frame, usize)> {
    let h = bytes.get(..TAG_HEADER_LEN)?;
    let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
    let end = TAG_HEADER_LEN + len;
    bytes.get(end..end + 4)?; // its PreviousTagSize
    let kind = match h[0] {
        type_id::AUDIO => FrameKind::Audio,
        type_id::VIDEO => FrameKind::Video,
        _ => FrameKind::Metadata,
    };
    let frame = Frame {
        kind,
        timestamp: RtmpTime(u32::from_be_bytes([h[7], h[4], h[5], h[6]])),
        payload: bytes[TAG_HEADER_LEN..end].to_vec(),
    };
    Some((frame, end + 4))
}

/// The tracks an `onMetaData` body announces: `videocodecid` and
/// `audiocodecid` as ffmpeg, OBS and GStreamer write them, or `hasVideo`
/// and `hasAudio`; `None` when it names neither.
pub fn tracks_in_metadata(body: &[u8]) -> Option<Tracks> {
    // Two values are all that is read: a depth of 2 reaches the object.
    let values = amf0::decode_all_limited(body, 2).ok()?;
    let object = match values.as_slice() {
        [name, object, ..] if name.as_str() == Some("onMetaData") => object,
        _ => return None,
    };
    let has = |id: &str, flag: &str| match (object.property(id), object.property(flag)) {
        (_, Some(Amf0Value::Boolean(b))) => Some(*b),
        (Some(Amf0Value::Null | Amf0Value::Undefined), _) => Some(false),
        (Some(_), _) => Some(true),
        (None, _) => None,
    };
    match (has("audiocodecid", "hasAudio"), has("videocodecid", "hasVideo")) {
        (None, None) => None,
        (audio, video) => Some(Tracks {
            audio: audio.unwrap_or(false),
            video: video.unwrap_or(false),
        }),
    }
}

/// The track a message of `type_id` with `body` shows the stream has:
/// audio or video that carries a codec (configuration or a frame).
pub fn track_of(type_id: u8, body: &[u8]) -> Tracks {
    let carries = |tag: Option<super::tag::TagHeader>| tag.is_some_and(|t| t.packet != Packet::Other);
    Tracks {
        audio: type_id == type_id::AUDIO && carries(audio_tag(body)),
        video: type_id == type_id::VIDEO && carries(video_tag(body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_reads_back_whole_and_not_before() {
        let mut bytes = Vec::new();
        put_tag(type_id::VIDEO, RtmpTime(0x1234_5678), &[0x17, 1, 2], &mut bytes);
        put_tag(type_id::DATA_AMF0, RtmpTime(0), &[2, 0], &mut bytes);
        let first = TAG_HEADER_LEN + 3 + 4;
        let video = Frame {
            kind: FrameKind::Video,
            timestamp: RtmpTime(0x1234_5678),
            payload: vec![0x17, 1, 2],
        };
        assert_eq!(read_tag(&bytes), Some((video, first)));
        assert_eq!(
            read_tag(&bytes[first..]).map(|(f, n)| (f.kind, n)),
            Some((FrameKind::Metadata, bytes.len() - first))
        );
        for cut in 0..first {
            assert_eq!(read_tag(&bytes[..cut]), None, "cut at {cut}");
        }
    }

    #[test]
    fn header_flags_name_the_tracks() {
        let h = |audio, video| header(Tracks { audio, video });
        assert_eq!(h(true, true), *b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00");
        assert_eq!(h(true, false)[4], 0x04);
        assert_eq!(h(false, true)[4], 0x01);
        assert_eq!(h(false, false)[4], 0x00);
    }

    #[test]
    fn tag_is_byte_exact() {
        let mut out = Vec::new();
        put_tag(9, RtmpTime(0x1234_5678), &[0x17, 0x01], &mut out);
        assert_eq!(
            out,
            [
                9, 0, 0, 2, // type, DataSize
                0x34, 0x56, 0x78, 0x12, // Timestamp, TimestampExtended
                0, 0, 0, // StreamID
                0x17, 0x01, // body
                0, 0, 0, 13, // PreviousTagSize: 11 + 2
            ]
        );
    }

    fn metadata(properties: Vec<(&str, Amf0Value)>) -> Vec<u8> {
        let mut body = Vec::new();
        amf0::encode_all(
            &[Amf0Value::string("onMetaData"), Amf0Value::object(properties)],
            &mut body,
        );
        body
    }

    #[test]
    fn metadata_names_the_tracks() {
        let both = metadata(vec![
            ("videocodecid", Amf0Value::Number(7.0)),
            ("audiocodecid", Amf0Value::Number(10.0)),
        ]);
        let all = Tracks {
            audio: true,
            video: true,
        };
        assert_eq!(tracks_in_metadata(&both), Some(all));
        let audio_only = metadata(vec![("audiocodecid", Amf0Value::Number(10.0))]);
        let audio = Tracks {
            audio: true,
            video: false,
        };
        assert_eq!(tracks_in_metadata(&audio_only), Some(audio));
        let flags = metadata(vec![
            ("hasVideo", Amf0Value::Boolean(true)),
            ("hasAudio", Amf0Value::Boolean(false)),
        ]);
        assert_eq!(
            tracks_in_metadata(&flags),
            Some(Tracks {
                audio: false,
                video: true
            })
        );
        assert_eq!(
            tracks_in_metadata(&metadata(vec![("width", Amf0Value::Number(1.0))])),
            None
        );
        assert_eq!(tracks_in_metadata(b"garbage"), None);
    }

    #[test]
    fn coded_media_shows_its_track() {
        let aac_header = [0xAF, 0x00, 0x12, 0x10];
        assert_eq!(
            track_of(8, &aac_header),
            Tracks {
                audio: true,
                video: false
            }
        );
        let avc_keyframe = [0x17, 0x01, 0, 0, 0];
        assert_eq!(
            track_of(9, &avc_keyframe),
            Tracks {
                audio: false,
                video: true
            }
        );
        assert_eq!(track_of(9, &[]), Tracks::default());
    }
}
