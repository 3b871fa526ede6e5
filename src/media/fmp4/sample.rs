//! What an FLV tag body is to the fMP4 muxer: a codec configuration
//! record, a coded frame as a `Sample`, or nothing it packages. Legacy FLV
//! headers and Enhanced RTMP FourCCs both; a codec it does not carry is an
//! `Fmp4Error`.

use std::fmt;

use crate::media::FrameKind;
use crate::media::codec::CodecError;

/// Why a stream cannot be packaged as fMP4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fmp4Error {
    /// A codec fMP4 packaging here does not carry, by name.
    Unsupported(String),
    /// A configuration record that could not be read.
    Config(CodecError),
}

impl fmt::Display for Fmp4Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fmp4Error::Unsupported(codec) => write!(f, "{codec} cannot be packaged as fMP4"),
            Fmp4Error::Config(e) => write!(f, "codec configuration: {e}"),
        }
    }
}

impl From<CodecError> for Fmp4Error {
    fn from(e: CodecError) -> Fmp4Error {
        Fmp4Error::Config(e)
    }
}

/// The codecs carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Codec {
    Avc,
    Hevc,
    Av1,
    Vp9,
    Aac,
    Opus,
    Mp3,
}

/// What an FLV tag body is to the muxer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part<'a> {
    /// A codec configuration record (or, for MP3, which has none, the
    /// first frame stands in).
    Config(Codec, &'a [u8]),
    /// A coded frame.
    Frame(Codec, Sample<'a>),
    /// Anything the muxer passes over: end of sequence, metadata, command
    /// frames.
    Other,
}

/// One coded frame, as a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample<'a> {
    /// The sample's bytes (length-prefixed NAL units for AVC and HEVC, as
    /// FLV carries them).
    pub data: &'a [u8],
    /// Presentation minus decode time, in ms.
    pub composition_offset: i32,
    /// A random access point.
    pub sync: bool,
}

fn si24(b: &[u8]) -> i32 {
    (i32::from_be_bytes([b[0], b[1], b[2], 0])) >> 8
}

/// Reads a tag body of `kind`; an error names a codec the muxer does not
/// carry.
pub(super) fn part(kind: FrameKind, body: &[u8]) -> Result<Part<'_>, Fmp4Error> {
    let Some(&b0) = body.first() else {
        return Ok(Part::Other);
    };
    match kind {
        FrameKind::Video => video_part(b0, body),
        FrameKind::Audio => audio_part(b0, body),
        FrameKind::Metadata => Ok(Part::Other),
    }
}

fn video_part(b0: u8, body: &[u8]) -> Result<Part<'_>, Fmp4Error> {
    let key = (b0 >> 4) & 0x07 == 1;
    if b0 & 0x80 == 0 {
        let codec = match b0 & 0x0F {
            7 => Codec::Avc,
            12 => Codec::Hevc,
            id => return Err(Fmp4Error::Unsupported(format!("FLV video codec {id}"))),
        };
        let (Some(&packet), Some(cts)) = (body.get(1), body.get(2..5)) else {
            return Ok(Part::Other);
        };
        let data = &body[5..];
        return Ok(match packet {
            0 => Part::Config(codec, data),
            1 => Part::Frame(
                codec,
                Sample {
                    data,
                    composition_offset: si24(cts),
                    sync: key,
                },
            ),
            _ => Part::Other,
        });
    }
    // Enhanced RTMP: [frame type | packet type] FourCC ...
    let packet = b0 & 0x0F;
    let Some(fourcc) = body.get(1..5) else {
        return Ok(Part::Other);
    };
    if matches!(packet, 6 | 7) {
        return Err(Fmp4Error::Unsupported("multitrack or ModEx video".into()));
    }
    if (b0 >> 4) & 0x07 == 5 {
        return Ok(Part::Other); // a command frame
    }
    let codec = match fourcc {
        b"avc1" => Codec::Avc,
        b"hvc1" => Codec::Hevc,
        b"av01" => Codec::Av1,
        b"vp09" => Codec::Vp9,
        other => return Err(Fmp4Error::Unsupported(String::from_utf8_lossy(other).into_owned())),
    };
    let rest = &body[5..];
    Ok(match packet {
        0 => Part::Config(codec, rest),
        // CodedFrames: AVC and HEVC carry a composition time offset.
        1 if matches!(codec, Codec::Avc | Codec::Hevc) => match rest.get(..3) {
            Some(cts) => Part::Frame(
                codec,
                Sample {
                    data: &rest[3..],
                    composition_offset: si24(cts),
                    sync: key,
                },
            ),
            None => Part::Other,
        },
        1 | 3 => Part::Frame(
            codec,
            Sample {
                data: rest,
                composition_offset: 0,
                sync: key,
            },
        ),
        _ => Part::Other,
    })
}

fn audio_part(b0: u8, body: &[u8]) -> Result<Part<'_>, Fmp4Error> {
    let frame = |codec, data| {
        Part::Frame(
            codec,
            Sample {
                data,
                composition_offset: 0,
                sync: true,
            },
        )
    };
    match b0 >> 4 {
        10 => Ok(match body.get(1) {
            Some(0) => Part::Config(Codec::Aac, &body[2..]),
            Some(1) => frame(Codec::Aac, &body[2..]),
            _ => Part::Other,
        }),
        2 | 14 => Ok(frame(Codec::Mp3, &body[1..])),
        9 => {
            let packet = b0 & 0x0F;
            if matches!(packet, 5 | 7) {
                return Err(Fmp4Error::Unsupported("multitrack or ModEx audio".into()));
            }
            let Some(fourcc) = body.get(1..5) else {
                return Ok(Part::Other);
            };
            let codec = match fourcc {
                b"mp4a" => Codec::Aac,
                b"Opus" => Codec::Opus,
                b".mp3" => Codec::Mp3,
                other => return Err(Fmp4Error::Unsupported(String::from_utf8_lossy(other).into_owned())),
            };
            let rest = &body[5..];
            Ok(match packet {
                0 => Part::Config(codec, rest),
                1 => frame(codec, rest),
                _ => Part::Other,
            })
        }
        id => Err(Fmp4Error::Unsupported(format!("FLV audio codec {id}"))),
    }
}

/// The codec and configuration record a sequence header of `kind`
/// carries (for MP3, which has none, any frame stands in); `None` for
/// bodies that configure nothing.
pub fn configuration(kind: FrameKind, body: &[u8]) -> Result<Option<(Codec, &[u8])>, Fmp4Error> {
    Ok(match part(kind, body)? {
        Part::Config(codec, config) => Some((codec, config)),
        Part::Frame(Codec::Mp3, sample) => Some((Codec::Mp3, sample.data)),
        _ => None,
    })
}
