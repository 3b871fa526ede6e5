//! HEVC access units in Annex B into the video tags an Enhanced RTMP (v2)
//! publisher sends, FourCC `hvc1`: a SequenceStart carrying an
//! HEVCDecoderConfigurationRecord (ISO 14496-15 §8.3.3.1) built from the
//! VPS, SPS and PPS whenever they change, then each access unit's other
//! NAL units length-prefixed, as CodedFrames with a composition time or
//! CodedFramesX when it is 0 (what ffmpeg's FLV muxer does).
//!
//! The record says its parameter-set arrays are complete, as an `hvc1`
//! sample entry needs: the in-band VPS, SPS and PPS, and access unit
//! delimiters, leave the frames. Its `min_spatial_segmentation_idc` and
//! `parallelismType` are 0 ("unknown"), which is always allowed: reading
//! them would take the whole SPS (VUI) and PPS.

use super::annexb::AnnexB;
use super::{Demuxed, frame};
use crate::media::FrameKind;
use crate::media::codec::hevc_sps_fields;

/// NAL unit types (H.265 Table 7-1).
const VPS: u8 = 32;
const SPS: u8 = 33;
const PPS: u8 = 34;
const AUD: u8 = 35;
/// Intra random access points: BLA, IDR, CRA and the reserved IRAP types.
const IRAP: std::ops::RangeInclusive<u8> = 16..=23;

/// E-RTMP's ExVideoTagHeader first byte: IsExHeader, then the frame type
/// (1 key, 2 inter) and the packet type.
const EX_HEADER: u8 = 0x80;
const KEY: u8 = 0x10;
const INTER: u8 = 0x20;
const SEQUENCE_START: u8 = 0;
const CODED_FRAMES: u8 = 1;
const CODED_FRAMES_X: u8 = 3;

/// The HEVC stream's state: the last sequence start sent.
#[derive(Debug, Default)]
pub(super) struct Hevc {
    /// The hvcC last sent; until one went out, frames are dropped: no
    /// decoder could use them.
    config: Option<Vec<u8>>,
}

impl Hevc {
    /// An access unit decoded at `dts` and shown at `pts` (ms on the
    /// timeline) as a video tag, after a sequence start when its
    /// parameter sets are new.
    pub(super) fn access_unit(
        &mut self,
        pts: i64,
        dts: i64,
        au: &[u8],
        out: &mut Vec<Demuxed>,
    ) -> Result<(), &'static str> {
        let (mut vps, mut sps, mut pps, mut units) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut keyframe = false;
        for unit in (AnnexB { rest: au }) {
            if unit.len() < 2 {
                return Err("a NAL unit is shorter than its header");
            }
            match (unit[0] >> 1) & 0x3F {
                AUD => {}
                VPS => vps.push(unit),
                SPS => sps.push(unit),
                PPS => pps.push(unit),
                kind => {
                    keyframe |= IRAP.contains(&kind);
                    units.push(unit);
                }
            }
        }
        if !vps.is_empty() && !sps.is_empty() && !pps.is_empty() {
            let record =
                hevc_record(&vps, &sps, &pps).ok_or("its parameter sets cannot make a configuration record")?;
            if self.config.as_ref() != Some(&record) {
                let mut body = vec![EX_HEADER | KEY | SEQUENCE_START];
                body.extend_from_slice(b"hvc1");
                body.extend_from_slice(&record);
                out.push(frame(FrameKind::Video, dts, body));
                self.config = Some(record);
            }
        }
        if units.is_empty() || self.config.is_none() {
            return Ok(());
        }
        let composition = (pts - dts).clamp(-(1 << 23), (1 << 23) - 1) as i32;
        let mut body = Vec::with_capacity(au.len() + 8 + units.len());
        let kind = if keyframe { KEY } else { INTER };
        if composition == 0 {
            body.push(EX_HEADER | kind | CODED_FRAMES_X);
            body.extend_from_slice(b"hvc1");
        } else {
            body.push(EX_HEADER | kind | CODED_FRAMES);
            body.extend_from_slice(b"hvc1");
            body.extend_from_slice(&composition.to_be_bytes()[1..]);
        }
        for unit in units {
            body.extend_from_slice(&(unit.len() as u32).to_be_bytes());
            body.extend_from_slice(unit);
        }
        out.push(frame(FrameKind::Video, dts, body));
        Ok(())
    }
}

/// An HEVCDecoderConfigurationRecord (ISO 14496-15 §8.3.3.1) with 4-byte
/// NAL lengths, its fields from the first SPS, its arrays complete;
/// `None` when the SPS cannot be read or a unit is too long.
fn hevc_record(vps: &[&[u8]], sps: &[&[u8]], pps: &[&[u8]]) -> Option<Vec<u8>> {
    let f = hevc_sps_fields(sps[0]).ok()?;
    let mut record = vec![1]; // configurationVersion
    record.extend_from_slice(&f.profile_tier_level);
    record.extend_from_slice(&[
        0xF0, // reserved 1111, min_spatial_segmentation_idc 0 (12 bits)
        0x00,
        0xFC,                             // reserved 111111, parallelismType 0
        0xFC | f.chroma_format,           // reserved 111111, chromaFormat
        0xF8 | f.bit_depth_luma_minus8,   // reserved 11111, bitDepthLumaMinus8
        0xF8 | f.bit_depth_chroma_minus8, // reserved 11111, bitDepthChromaMinus8
        0,                                // avgFrameRate 0: unspecified
        0,
        // constantFrameRate 0, numTemporalLayers, temporalIdNested,
        // lengthSizeMinusOne 3.
        ((f.sub_layers & 7) << 3) | (u8::from(f.temporal_id_nesting) << 2) | 3,
        3, // numOfArrays
    ]);
    for (kind, units) in [(VPS, vps), (SPS, sps), (PPS, pps)] {
        record.push(0x80 | kind); // array_completeness 1, NAL_unit_type
        record.extend_from_slice(&u16::try_from(units.len()).ok()?.to_be_bytes());
        for unit in units {
            record.extend_from_slice(&u16::try_from(unit.len()).ok()?.to_be_bytes());
            record.extend_from_slice(unit);
        }
    }
    Some(record)
}
