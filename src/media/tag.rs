//! Audio and video tag headers: legacy FLV and Enhanced RTMP (v1/v2).

/// How a video tag names its codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    /// FLV codec id (7 = AVC, 12 = HEVC as some encoders send it).
    Legacy(u8),
    /// Enhanced RTMP FourCC such as `hvc1`, `av01`, `vp09`, `avc1`.
    FourCc([u8; 4]),
}

/// What the first bytes of a video tag body say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoTag {
    /// The codec.
    pub codec: VideoCodec,
    /// Frame type 1: a keyframe (seekable frame).
    pub is_key: bool,
    /// The codec configuration (AVCDecoderConfigurationRecord and kin).
    pub is_sequence_header: bool,
}

/// What the first bytes of an audio tag body say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioTag {
    /// FLV sound format (10 = AAC, 2 = MP3, 9 = Enhanced RTMP ExHeader).
    pub sound_format: u8,
    /// The codec configuration (AudioSpecificConfig and kin).
    pub is_sequence_header: bool,
}

/// FLV video codec ids that carry an AVCPacketType byte.
const AVC: u8 = 7;
const HEVC_LEGACY: u8 = 12;
/// Enhanced RTMP video packet types.
const EX_SEQUENCE_START: u8 = 0;
const EX_MPEG2TS_SEQUENCE_START: u8 = 5;
/// FLV sound formats.
const AAC: u8 = 10;
const EX_AUDIO_HEADER: u8 = 9;

/// Reads a video tag header; `None` for an empty body.
pub fn video_tag(body: &[u8]) -> Option<VideoTag> {
    let &b0 = body.first()?;
    if b0 & 0x80 != 0 {
        // E-RTMP ExVideoTagHeader: IsExHeader, 3-bit frame type, 4-bit packet type, FourCC.
        let frame_type = (b0 >> 4) & 0x07;
        let packet_type = b0 & 0x0F;
        let fourcc: [u8; 4] = body.get(1..5)?.try_into().ok()?;
        return Some(VideoTag {
            codec: VideoCodec::FourCc(fourcc),
            is_key: frame_type == 1,
            is_sequence_header: matches!(packet_type, EX_SEQUENCE_START | EX_MPEG2TS_SEQUENCE_START),
        });
    }
    let codec_id = b0 & 0x0F;
    let has_packet_type = matches!(codec_id, AVC | HEVC_LEGACY);
    Some(VideoTag {
        codec: VideoCodec::Legacy(codec_id),
        is_key: b0 >> 4 == 1,
        is_sequence_header: has_packet_type && body.get(1) == Some(&0),
    })
}

/// Reads an audio tag header; `None` for an empty body.
pub fn audio_tag(body: &[u8]) -> Option<AudioTag> {
    let &b0 = body.first()?;
    let sound_format = b0 >> 4;
    let is_sequence_header = match sound_format {
        AAC => body.get(1) == Some(&0),
        // E-RTMP ExAudioTagHeader: the low nibble is the packet type.
        EX_AUDIO_HEADER => b0 & 0x0F == EX_SEQUENCE_START,
        _ => false,
    };
    Some(AudioTag {
        sound_format,
        is_sequence_header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_avc() {
        let seq = video_tag(&[0x17, 0x00, 0, 0, 0]).unwrap();
        assert!(seq.is_key && seq.is_sequence_header);
        let key = video_tag(&[0x17, 0x01, 0, 0, 0]).unwrap();
        assert!(key.is_key && !key.is_sequence_header);
        let inter = video_tag(&[0x27, 0x01, 0, 0, 0]).unwrap();
        assert!(!inter.is_key);
        assert_eq!(inter.codec, VideoCodec::Legacy(7));
        assert_eq!(video_tag(&[]), None);
    }

    #[test]
    fn legacy_codecs_without_packet_type_are_never_sequence_headers() {
        let h263 = video_tag(&[0x12, 0x00]).unwrap();
        assert!(h263.is_key && !h263.is_sequence_header);
    }

    #[test]
    fn enhanced_hevc() {
        let seq = video_tag(&[0x90, b'h', b'v', b'c', b'1', 1]).unwrap();
        assert_eq!(seq.codec, VideoCodec::FourCc(*b"hvc1"));
        assert!(seq.is_sequence_header);
        let key = video_tag(&[0x93, b'h', b'v', b'c', b'1']).unwrap(); // CodedFramesX
        assert!(key.is_key && !key.is_sequence_header);
        let inter = video_tag(&[0xA1, b'a', b'v', b'0', b'1']).unwrap();
        assert!(!inter.is_key);
        assert_eq!(video_tag(&[0x90, b'h']), None);
    }

    #[test]
    fn audio() {
        assert!(audio_tag(&[0xAF, 0x00, 0x12, 0x10]).unwrap().is_sequence_header);
        assert!(!audio_tag(&[0xAF, 0x01, 0x21]).unwrap().is_sequence_header);
        assert!(!audio_tag(&[0x2F, 0x00]).unwrap().is_sequence_header); // MP3
        assert!(audio_tag(&[0x90, b'O', b'p', b'u', b's']).unwrap().is_sequence_header);
        assert_eq!(audio_tag(&[]), None);
    }
}
