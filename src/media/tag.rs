//! Audio and video tag headers: legacy FLV (FLV 10.1 §E.4.2, §E.4.3) and
//! Enhanced RTMP v1/v2 (ExVideoTagHeader, ExAudioTagHeader).
//!
//! Only what a server needs is read: the codec, whether the frame is a
//! keyframe, whether it is codec configuration to cache for joining players,
//! and which track it belongs to. The payload itself is never rewritten.

use crate::protocol::reader::Reader;

/// How a tag names its codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Legacy FLV codec id (video: 7 AVC, 12 HEVC as some encoders send it;
    /// audio: the sound format, 2 MP3, 10 AAC, 11 Speex, ...).
    Legacy(u8),
    /// Enhanced RTMP FourCC: `avc1`, `hvc1`, `av01`, `vp09`, `Opus`, `fLaC`,
    /// `ac-3`, `ec-3`, `mp4a`, `.mp3`.
    FourCc([u8; 4]),
    /// A multitrack packet whose tracks may each use another codec.
    Many,
}

/// What a tag body is, as far as caching and GOPs are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packet {
    /// Codec configuration a decoder needs first (AVC/HEVC/AAC sequence
    /// header, E-RTMP SequenceStart, MPEG2TSSequenceStart, audio
    /// MultichannelConfig).
    Config,
    /// Coded media.
    Frame,
    /// End of a sequence, metadata, a command frame: passed on, not cached.
    Other,
}

/// A parsed tag header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagHeader {
    /// The codec.
    pub codec: Codec,
    /// Video frame type 1 (a keyframe); always false for audio.
    pub is_key: bool,
    /// What the packet is.
    pub packet: Packet,
    /// The first track id of a multitrack packet; 0 otherwise.
    pub track: u8,
}

impl TagHeader {
    /// A keyframe of coded video: where a GOP starts (never true of audio,
    /// whose `is_key` is always false).
    pub fn is_keyframe(&self) -> bool {
        self.is_key && self.packet == Packet::Frame
    }
}

/// E-RTMP video packet types.
mod video_packet {
    pub(super) const SEQUENCE_START: u8 = 0;
    pub(super) const CODED_FRAMES: u8 = 1;
    pub(super) const CODED_FRAMES_X: u8 = 3;
    pub(super) const METADATA: u8 = 4;
    pub(super) const MPEG2TS_SEQUENCE_START: u8 = 5;
    pub(super) const MULTITRACK: u8 = 6;
    pub(super) const MOD_EX: u8 = 7;
}

/// E-RTMP audio packet types.
mod audio_packet {
    pub(super) const SEQUENCE_START: u8 = 0;
    pub(super) const CODED_FRAMES: u8 = 1;
    pub(super) const MULTICHANNEL_CONFIG: u8 = 4;
    pub(super) const MULTITRACK: u8 = 5;
    pub(super) const MOD_EX: u8 = 7;
}

/// Multitrack type whose tracks each carry their own FourCC.
const MANY_TRACKS_MANY_CODECS: u8 = 2;
/// Video frame type of a command frame (no media, a one-byte command).
const COMMAND_FRAME: u8 = 5;
/// Legacy video codec ids with an AVCPacketType byte.
const AVC: u8 = 7;
const HEVC_LEGACY: u8 = 12;
/// Legacy sound formats.
const AAC: u8 = 10;
const EX_AUDIO_HEADER: u8 = 9;

/// Skips ModEx data (E-RTMP v2) and returns the real packet type after it.
fn skip_mod_ex(r: &mut Reader<'_>, mod_ex: u8) -> Option<u8> {
    loop {
        let mut size = r.u8().ok()? as usize + 1;
        if size == 256 {
            size = r.u16().ok()? as usize + 1;
        }
        r.take(size).ok()?;
        let packet_type = r.u8().ok()? & 0x0F; // high nibble: the ModEx type
        if packet_type != mod_ex {
            return Some(packet_type);
        }
    }
}

/// Reads what follows the packet type of an Ex header: for a multitrack
/// packet its type, inner packet type, FourCC and first track id;
/// otherwise the FourCC. Returns the codec, the real packet type and the
/// track (0 when not multitrack).
fn codec_and_track(r: &mut Reader<'_>, packet_type: u8, multitrack: u8) -> Option<(Codec, u8, u8)> {
    let fourcc = |r: &mut Reader<'_>| -> Option<[u8; 4]> { r.take(4).ok()?.try_into().ok() };
    if packet_type != multitrack {
        return Some((Codec::FourCc(fourcc(r)?), packet_type, 0));
    }
    let b = r.u8().ok()?;
    let (multitrack_type, inner) = (b >> 4, b & 0x0F);
    let first = fourcc(r)?;
    // With ManyTracksManyCodecs that FourCC is only the first track's.
    let codec = if multitrack_type == MANY_TRACKS_MANY_CODECS {
        Codec::Many
    } else {
        Codec::FourCc(first)
    };
    Some((codec, inner, r.u8().ok()?))
}

/// Reads a video tag header; `None` for a body too short to have one.
pub fn video_tag(body: &[u8]) -> Option<TagHeader> {
    let mut r = Reader::new(body);
    let b0 = r.u8().ok()?;
    if b0 & 0x80 == 0 {
        let codec_id = b0 & 0x0F;
        let is_config = matches!(codec_id, AVC | HEVC_LEGACY) && body.get(1) == Some(&0);
        return Some(TagHeader {
            codec: Codec::Legacy(codec_id),
            is_key: b0 >> 4 == 1,
            packet: if is_config { Packet::Config } else { Packet::Frame },
            track: 0,
        });
    }
    let frame_type = (b0 >> 4) & 0x07;
    let mut packet_type = b0 & 0x0F;
    if packet_type == video_packet::MOD_EX {
        packet_type = skip_mod_ex(&mut r, video_packet::MOD_EX)?;
    }
    if frame_type == COMMAND_FRAME && packet_type != video_packet::METADATA {
        return Some(TagHeader {
            codec: Codec::Many,
            is_key: false,
            packet: Packet::Other,
            track: 0,
        });
    }
    let (codec, packet_type, track) = codec_and_track(&mut r, packet_type, video_packet::MULTITRACK)?;
    let packet = match packet_type {
        video_packet::SEQUENCE_START | video_packet::MPEG2TS_SEQUENCE_START => Packet::Config,
        video_packet::CODED_FRAMES | video_packet::CODED_FRAMES_X => Packet::Frame,
        _ => Packet::Other,
    };
    Some(TagHeader {
        codec,
        is_key: frame_type == 1,
        packet,
        track,
    })
}

/// Reads an audio tag header; `None` for a body too short to have one.
pub fn audio_tag(body: &[u8]) -> Option<TagHeader> {
    let mut r = Reader::new(body);
    let b0 = r.u8().ok()?;
    let sound_format = b0 >> 4;
    if sound_format != EX_AUDIO_HEADER {
        let is_config = sound_format == AAC && body.get(1) == Some(&0);
        return Some(TagHeader {
            codec: Codec::Legacy(sound_format),
            is_key: false,
            packet: if is_config { Packet::Config } else { Packet::Frame },
            track: 0,
        });
    }
    let mut packet_type = b0 & 0x0F;
    if packet_type == audio_packet::MOD_EX {
        packet_type = skip_mod_ex(&mut r, audio_packet::MOD_EX)?;
    }
    let (codec, packet_type, track) = codec_and_track(&mut r, packet_type, audio_packet::MULTITRACK)?;
    let packet = match packet_type {
        audio_packet::SEQUENCE_START | audio_packet::MULTICHANNEL_CONFIG => Packet::Config,
        audio_packet::CODED_FRAMES => Packet::Frame,
        _ => Packet::Other,
    };
    Some(TagHeader {
        codec,
        is_key: false,
        packet,
        track,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(codec: Codec, is_key: bool, packet: Packet, track: u8) -> Option<TagHeader> {
        Some(TagHeader {
            codec,
            is_key,
            packet,
            track,
        })
    }

    #[test]
    fn legacy_video() {
        let avc = Codec::Legacy(7);
        assert_eq!(video_tag(&[0x17, 0x00, 0, 0, 0]), tag(avc, true, Packet::Config, 0));
        assert!(video_tag(&[0x17, 0x01, 0, 0, 0]).unwrap().is_keyframe());
        assert!(!video_tag(&[0x27, 0x01, 0, 0, 0]).unwrap().is_keyframe());
        // HEVC with FLV codec id 12, as some encoders send it.
        assert_eq!(
            video_tag(&[0x1C, 0x00]),
            tag(Codec::Legacy(12), true, Packet::Config, 0)
        );
        // Sorenson H.263 has no packet type byte: never configuration.
        assert_eq!(video_tag(&[0x12, 0x00]), tag(Codec::Legacy(2), true, Packet::Frame, 0));
        assert_eq!(video_tag(&[]), None);
    }

    #[test]
    fn enhanced_video_packet_types() {
        let hvc1 = Codec::FourCc(*b"hvc1");
        assert_eq!(video_tag(b"\x90hvc1\x01"), tag(hvc1, true, Packet::Config, 0)); // SequenceStart
        assert!(video_tag(b"\x91hvc1\0\0\0").unwrap().is_keyframe()); // CodedFrames key
        assert!(video_tag(b"\x93hvc1").unwrap().is_keyframe()); // CodedFramesX key
        assert!(!video_tag(b"\xA1av01").unwrap().is_keyframe()); // inter frame
        assert_eq!(
            video_tag(b"\x92vp09"),
            tag(Codec::FourCc(*b"vp09"), true, Packet::Other, 0)
        ); // SequenceEnd
        assert_eq!(
            video_tag(b"\x95av01"),
            tag(Codec::FourCc(*b"av01"), true, Packet::Config, 0)
        ); // MPEG2TS start
        assert_eq!(video_tag(b"\x90hv"), None);
    }

    #[test]
    fn enhanced_video_multitrack_mod_ex_and_command_frames() {
        // Multitrack, OneTrack type (0) with inner SequenceStart, hvc1, track 2.
        assert_eq!(
            video_tag(b"\x96\x00hvc1\x02"),
            tag(Codec::FourCc(*b"hvc1"), true, Packet::Config, 2)
        );
        // ManyTracksManyCodecs (2) with inner CodedFrames, key.
        let many = video_tag(b"\x96\x21av01\x00\x00\x00\x10").unwrap();
        assert_eq!(
            (many.codec, many.packet, many.is_key),
            (Codec::Many, Packet::Frame, true)
        );
        // ModEx: 1 byte of data, then type nibble 0 and packet type CodedFramesX.
        assert!(video_tag(b"\x97\x00\xAA\x03avc1").unwrap().is_keyframe());
        // A command frame (type 5) carries no media.
        assert_eq!(video_tag(b"\xD1\x00").unwrap().packet, Packet::Other);
    }

    #[test]
    fn audio() {
        assert_eq!(audio_tag(&[0xAF, 0x00, 0x12, 0x10]).unwrap().packet, Packet::Config);
        assert_eq!(audio_tag(&[0xAF, 0x01, 0x21]).unwrap().packet, Packet::Frame);
        assert_eq!(audio_tag(&[0x2F, 0x00]), tag(Codec::Legacy(2), false, Packet::Frame, 0)); // MP3
        assert_eq!(
            audio_tag(b"\x90Opus"),
            tag(Codec::FourCc(*b"Opus"), false, Packet::Config, 0)
        );
        assert_eq!(audio_tag(b"\x91fLaC").unwrap().packet, Packet::Frame);
        assert_eq!(audio_tag(b"\x94ac-3").unwrap().packet, Packet::Config); // MultichannelConfig
        assert_eq!(
            audio_tag(b"\x95\x00mp4a\x01"),
            tag(Codec::FourCc(*b"mp4a"), false, Packet::Config, 1)
        );
        assert_eq!(audio_tag(b"\x97\x00\x01\x01ec-3").unwrap().packet, Packet::Frame); // ModEx
        assert_eq!(audio_tag(&[]), None);
    }
}
