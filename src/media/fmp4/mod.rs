//! Fragmented MP4 (ISO 14496-12, with the sample entries of 14496-14 and
//! -15): an init segment (`ftyp` + `moov`) from the tracks' sequence
//! headers, then one `moof` + `mdat` fragment per frame. Pure: FLV tag
//! bodies in, bytes out, so the live `.mp4` stream, HLS segments and MP4
//! recording can share it.
//!
//! Every track counts time in milliseconds, the unit of RTMP timestamps,
//! so a frame's decode time is its timestamp.
//!
//! The parts: `sample` reads FLV tag bodies as samples, `init` makes the
//! tracks and the init segment, `boxes` writes ISO BMFF boxes, and this
//! module makes the fragments.

mod boxes;
mod init;
mod sample;

use super::FrameKind;
use boxes::{put_box, put_full_box};
use sample::{Part, part};

pub use init::{AUDIO_TRACK, TIMESCALE, Track, VIDEO_TRACK, init_segment, track};
pub use sample::{Codec, Fmp4Error, Sample, configuration};

/// Where a fragment sits: its sequence number, track, decode time and
/// duration, the last estimated from the frames before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The `mfhd` sequence number: rises by one per fragment.
    pub sequence: u32,
    /// `VIDEO_TRACK` or `AUDIO_TRACK`.
    pub track: u32,
    /// Decode time in ms.
    pub decode_time: u64,
    /// Duration in ms.
    pub duration: u32,
}

/// The fragment carrying a frame of `kind` with `body`, or `None` for a
/// body that is not a coded frame (configuration, metadata) or is of a
/// codec the muxer does not carry.
pub fn fragment(kind: FrameKind, body: &[u8], at: Placement) -> Option<Vec<u8>> {
    match part(kind, body) {
        Ok(Part::Frame(_, sample)) => Some(sample_fragment(&sample, at)),
        _ => None,
    }
}

/// `moof` + `mdat` for one sample.
pub fn sample_fragment(sample: &Sample<'_>, at: Placement) -> Vec<u8> {
    // trun flags: data offset, then each sample's duration, size, flags
    // and composition time offset (signed: version 1).
    const TRUN_FLAGS: u32 = 0x000F01;
    // sample_depends_on 2 (a sync sample) or 1 with sample_is_non_sync.
    let flags: u32 = if sample.sync { 0x0200_0000 } else { 0x0101_0000 };
    let mut out = Vec::with_capacity(sample.data.len() + 120);
    let mut offset_at = 0;
    put_box(&mut out, b"moof", |out| {
        put_full_box(out, b"mfhd", 0, 0, |out| {
            out.extend_from_slice(&at.sequence.to_be_bytes())
        });
        put_box(out, b"traf", |out| {
            // default-base-is-moof: offsets count from the moof's start.
            put_full_box(out, b"tfhd", 0, 0x02_0000, |out| {
                out.extend_from_slice(&at.track.to_be_bytes())
            });
            put_full_box(out, b"tfdt", 1, 0, |out| {
                out.extend_from_slice(&at.decode_time.to_be_bytes())
            });
            put_full_box(out, b"trun", 1, TRUN_FLAGS, |out| {
                out.extend_from_slice(&1u32.to_be_bytes());
                offset_at = out.len();
                out.extend_from_slice(&[0; 4]); // data offset, set below
                out.extend_from_slice(&at.duration.to_be_bytes());
                out.extend_from_slice(&(sample.data.len() as u32).to_be_bytes());
                out.extend_from_slice(&flags.to_be_bytes());
                out.extend_from_slice(&sample.composition_offset.to_be_bytes());
            });
        });
    });
    let data_offset = (out.len() + 8) as u32;
    out[offset_at..offset_at + 4].copy_from_slice(&data_offset.to_be_bytes());
    put_box(&mut out, b"mdat", |out| out.extend_from_slice(sample.data));
    out
}

/// How a coded frame, placed, becomes a container's bytes: fMP4 here,
/// MPEG-TS in `ts`.
pub trait Pack {
    /// The bytes of `sample` at `at`; `None` when the container does not
    /// carry it.
    fn pack(&mut self, sample: &Sample<'_>, at: Placement) -> Option<Vec<u8>>;
}

/// fMP4's packing: a `moof` + `mdat` per sample.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fmp4;

impl Pack for Fmp4 {
    fn pack(&mut self, sample: &Sample<'_>, at: Placement) -> Option<Vec<u8>> {
        Some(sample_fragment(sample, at))
    }
}

/// One frame's fragment from a `Fragmenter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// What the `Pack` made: `moof` + `mdat` for fMP4.
    pub bytes: Vec<u8>,
    /// `VIDEO_TRACK` or `AUDIO_TRACK`.
    pub track: u32,
    /// Decode time in ms.
    pub decode_time: u64,
    /// Duration in ms.
    pub duration: u32,
    /// A video keyframe: a decoder can start here.
    pub keyframe: bool,
}

/// Makes a fragment per coded frame of the main tracks, each once the next
/// frame of its track gives its duration (so a file or a segment is never
/// wrong about where a frame ends); a track's last frame lasts as long as
/// the gap before it.
#[derive(Debug)]
pub struct Fragmenter<P = Fmp4> {
    /// Per track (video, audio): the frame waiting for the next one.
    held: [Option<Held>; 2],
    /// Per track, the last gap between frames: the next frame's duration
    /// when none follows.
    gaps: [u32; 2],
    sequence: u32,
    /// What makes the bytes.
    pub packer: P,
}

/// A frame a `Fragmenter` holds: its kind, body, decode time and whether
/// it is a keyframe.
type Held = (FrameKind, Vec<u8>, u64, bool);

impl Default for Fragmenter {
    fn default() -> Fragmenter {
        Fragmenter::new(Fmp4)
    }
}

impl<P: Pack> Fragmenter<P> {
    /// A fragmenter whose fragments `packer` makes.
    pub fn new(packer: P) -> Fragmenter<P> {
        Fragmenter {
            held: [None, None],
            gaps: [33, 21],
            sequence: 0,
            packer,
        }
    }

    /// Takes the frame of `kind` with `body` at `decode_time` ms and gives
    /// the fragment of the frame its track held before, if any. Frames of
    /// other tracks than the main ones, configuration and metadata give
    /// nothing.
    pub fn push(&mut self, kind: FrameKind, body: &[u8], decode_time: u64) -> Option<Fragment> {
        let slot = match kind {
            FrameKind::Video => 0,
            FrameKind::Audio => 1,
            FrameKind::Metadata => return None,
        };
        let keyframe = match part(kind, body) {
            Ok(Part::Frame(_, sample)) => sample.sync && kind == FrameKind::Video,
            _ => return None,
        };
        let previous = self.held[slot].replace((kind, body.to_vec(), decode_time, keyframe));
        let (kind, body, at, keyframe) = previous?;
        let gap = decode_time.saturating_sub(at);
        if (1..10_000).contains(&gap) {
            self.gaps[slot] = gap as u32;
        }
        self.fragment(slot, kind, &body, at, keyframe)
    }

    /// The fragments of the frames still held, video first.
    pub fn flush(&mut self) -> Vec<Fragment> {
        (0..2)
            .filter_map(|slot| {
                let (kind, body, at, keyframe) = self.held[slot].take()?;
                self.fragment(slot, kind, &body, at, keyframe)
            })
            .collect()
    }

    fn fragment(&mut self, slot: usize, kind: FrameKind, body: &[u8], at: u64, keyframe: bool) -> Option<Fragment> {
        self.sequence = self.sequence.wrapping_add(1);
        let track = if slot == 0 { VIDEO_TRACK } else { AUDIO_TRACK };
        let placement = Placement {
            sequence: self.sequence,
            track,
            decode_time: at,
            duration: self.gaps[slot],
        };
        let Ok(Part::Frame(_, sample)) = part(kind, body) else {
            return None;
        };
        let bytes = self.packer.pack(&sample, placement)?;
        Some(Fragment {
            bytes,
            track,
            decode_time: at,
            duration: self.gaps[slot],
            keyframe,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPS: &[u8] = &[
        0x67, 0x64, 0x00, 0x0D, 0xAC, 0xD9, 0x41, 0x41, 0xFB, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00,
        0x03, 0x03, 0x20, 0xF1, 0x42, 0x99, 0x60,
    ];

    /// An H.264 sequence header tag body: avcC with that SPS and a PPS
    /// (for the tests of `init` too).
    pub(super) fn avc_header() -> Vec<u8> {
        let mut body = vec![0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x0D, 0xFF, 0xE1, 0, SPS.len() as u8];
        body.extend_from_slice(SPS);
        body.extend_from_slice(&[1, 0, 4, 0x68, 0xEB, 0xE3, 0xCB]);
        body
    }

    #[test]
    fn fragment_is_byte_exact() {
        let sample = Sample {
            data: &[0, 0, 0, 2, 0x65, 0x88],
            composition_offset: 80,
            sync: true,
        };
        let at = Placement {
            sequence: 7,
            track: VIDEO_TRACK,
            decode_time: 0x1_0000_0000,
            duration: 40,
        };
        #[rustfmt::skip]
        let expected: Vec<u8> = [
            &[0, 0, 0, 104][..], b"moof",
            &[0, 0, 0, 16], b"mfhd", &[0, 0, 0, 0], &[0, 0, 0, 7],
            &[0, 0, 0, 80], b"traf",
            &[0, 0, 0, 16], b"tfhd", &[0, 2, 0, 0], &[0, 0, 0, 1],
            &[0, 0, 0, 20], b"tfdt", &[1, 0, 0, 0], &[0, 0, 0, 1, 0, 0, 0, 0],
            &[0, 0, 0, 36], b"trun", &[1, 0, 0x0F, 0x01], &[0, 0, 0, 1],
            &[0, 0, 0, 112], &[0, 0, 0, 40], &[0, 0, 0, 6], &[2, 0, 0, 0], &[0, 0, 0, 80],
            &[0, 0, 0, 14], b"mdat", &[0, 0, 0, 2, 0x65, 0x88],
        ]
        .concat();
        assert_eq!(sample_fragment(&sample, at), expected);
    }

    #[test]
    fn frames_become_samples() {
        let at = Placement {
            sequence: 1,
            track: VIDEO_TRACK,
            decode_time: 0,
            duration: 40,
        };
        // An inter frame with a composition offset of -2 (SI24).
        let inter = [0x27, 1, 0xFF, 0xFF, 0xFE, 0, 0, 0, 1, 0x41];
        let moof = fragment(FrameKind::Video, &inter, at).unwrap();
        let trun = moof.windows(4).position(|w| w == b"trun").unwrap() - 4;
        assert_eq!(&moof[trun + 28..trun + 32], &[1, 1, 0, 0], "not a sync sample");
        assert_eq!(&moof[trun + 32..trun + 36], &(-2i32).to_be_bytes());
        assert!(moof.ends_with(&[b'm', b'd', b'a', b't', 0, 0, 0, 1, 0x41]));
        assert_eq!(fragment(FrameKind::Video, &avc_header(), at), None, "configuration");
        assert_eq!(fragment(FrameKind::Metadata, b"\x02", at), None);
        // Enhanced RTMP: CodedFramesX of hvc1 has no composition offset.
        let hevc = fragment(FrameKind::Video, b"\x93hvc1\x00\x00\x00\x01\x26", at).unwrap();
        assert!(hevc.ends_with(&[0, 0, 0, 1, 0x26]));
    }
}
