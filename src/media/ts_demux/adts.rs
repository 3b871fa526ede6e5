//! AAC in ADTS (ISO 14496-3 §1.A.2) into the audio tags an RTMP publisher
//! sends: an AAC sequence header (the AudioSpecificConfig the ADTS header
//! implies) whenever it changes, then each frame's raw AAC (FLV 10.1
//! §E.4.2.2).

use super::{Clock, Demuxed, frame};
use crate::media::FrameKind;

/// ADTS sampling frequency indexes (ISO 14496-3 §1.6.3.3).
const RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// The AAC stream's state: the last sequence header sent.
#[derive(Debug, Default)]
pub(super) struct Adts {
    config: Option<[u8; 2]>,
}

impl Adts {
    /// The ADTS frames of a PES as AAC audio tags, the first at `pts`
    /// (90 kHz ticks), each next 1024 samples later; a sequence header
    /// before them when the configuration is new.
    pub(super) fn frames(
        &mut self,
        clock: &Clock,
        pts: i64,
        mut rest: &[u8],
        out: &mut Vec<Demuxed>,
    ) -> Result<(), &'static str> {
        let mut ticks = pts;
        while !rest.is_empty() {
            let h = rest.get(..7).filter(|h| h[0] == 0xFF && h[1] & 0xF6 == 0xF0);
            let h = h.ok_or("an ADTS frame does not start with its sync word")?;
            let header_len = if h[1] & 0x01 != 0 { 7 } else { 9 };
            let len = (usize::from(h[3] & 0x03) << 11) | (usize::from(h[4]) << 3) | usize::from(h[5] >> 5);
            let profile = h[2] >> 6;
            let rate = (h[2] >> 2) & 0x0F;
            let channels = ((h[2] & 0x01) << 2) | (h[3] >> 6);
            let raw = rest.get(header_len..len).filter(|_| usize::from(rate) < RATES.len());
            let raw = raw.ok_or("an ADTS frame's length or sampling frequency does not fit")?;
            let config = [((profile + 1) << 3) | (rate >> 1), ((rate & 1) << 7) | (channels << 3)];
            let ms = clock.ms(ticks);
            if self.config != Some(config) {
                out.push(frame(FrameKind::Audio, ms, vec![0xAF, 0, config[0], config[1]]));
                self.config = Some(config);
            }
            out.push(frame(FrameKind::Audio, ms, [&[0xAF, 1][..], raw].concat()));
            ticks += 1024 * 90_000 / i64::from(RATES[usize::from(rate)]);
            rest = &rest[len..];
        }
        Ok(())
    }
}
