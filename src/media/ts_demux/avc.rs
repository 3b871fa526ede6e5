//! H.264 access units in Annex B into the video tags an RTMP publisher
//! sends: an AVC sequence header (AVCDecoderConfigurationRecord, ISO
//! 14496-15 §5.3.3.1) from the SPS and PPS whenever they change, and each
//! access unit's other NAL units length-prefixed (FLV 10.1 §E.4.3.1).

use super::annexb::AnnexB;
use super::{Demuxed, frame};
use crate::media::FrameKind;

/// The H.264 stream's state: the last sequence header sent.
#[derive(Debug, Default)]
pub(super) struct Avc {
    /// The avcC last sent; until one went out, frames are dropped: no
    /// decoder could use them.
    config: Option<Vec<u8>>,
}

impl Avc {
    /// An access unit decoded at `dts` and shown at `pts` (ms on the
    /// timeline) as a video tag, after its sequence header when its SPS
    /// and PPS are new. Access unit delimiters and the in-band parameter
    /// sets leave the frame.
    pub(super) fn access_unit(
        &mut self,
        pts: i64,
        dts: i64,
        au: &[u8],
        out: &mut Vec<Demuxed>,
    ) -> Result<(), &'static str> {
        let (mut sps, mut pps, mut units) = (Vec::new(), Vec::new(), Vec::new());
        let mut keyframe = false;
        for unit in (AnnexB { rest: au }) {
            match unit[0] & 0x1F {
                9 => {}
                7 => sps.push(unit),
                8 => pps.push(unit),
                kind => {
                    keyframe |= kind == 5;
                    units.push(unit);
                }
            }
        }
        if !sps.is_empty() && !pps.is_empty() {
            let record = avc_record(&sps, &pps).ok_or("its parameter sets cannot make a configuration record")?;
            if self.config.as_ref() != Some(&record) {
                let mut body = vec![0x17, 0, 0, 0, 0];
                body.extend_from_slice(&record);
                out.push(frame(FrameKind::Video, dts, body));
                self.config = Some(record);
            }
        }
        if units.is_empty() || self.config.is_none() {
            return Ok(());
        }
        let composition = (pts - dts).clamp(-(1 << 23), (1 << 23) - 1) as i32;
        let mut body = Vec::with_capacity(au.len() + 5 + units.len());
        body.push(if keyframe { 0x17 } else { 0x27 });
        body.push(1);
        body.extend_from_slice(&composition.to_be_bytes()[1..]);
        for unit in units {
            body.extend_from_slice(&(unit.len() as u32).to_be_bytes());
            body.extend_from_slice(unit);
        }
        out.push(frame(FrameKind::Video, dts, body));
        Ok(())
    }
}

/// An AVCDecoderConfigurationRecord (ISO 14496-15 §5.3.3.1) with 4-byte
/// NAL lengths, from the SPS and PPS of an access unit; `None` when an
/// SPS is too short to give the profile and level, or there are too many.
fn avc_record(sps: &[&[u8]], pps: &[&[u8]]) -> Option<Vec<u8>> {
    let first = sps[0].get(1..4)?;
    if sps.len() > 31 || pps.len() > 255 {
        return None;
    }
    let mut record = vec![1, first[0], first[1], first[2], 0xFF, 0xE0 | sps.len() as u8];
    for (i, units) in [sps, pps].into_iter().enumerate() {
        if i == 1 {
            record.push(pps.len() as u8);
        }
        for unit in units {
            record.extend_from_slice(&u16::try_from(unit.len()).ok()?.to_be_bytes());
            record.extend_from_slice(unit);
        }
    }
    Some(record)
}
