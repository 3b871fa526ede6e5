//! Opus in a transport stream (ETSI TS 103 491, as ffmpeg writes and
//! reads it) into the audio tags an Enhanced RTMP (v2) publisher sends,
//! FourCC `Opus`: a SequenceStart carrying an Opus ID header (`OpusHead`,
//! RFC 7845 §5.1), then each Opus packet as CodedFrames.
//!
//! Each packet in a PES follows an `opus_control_header`: 11 bits of
//! 0x3FF (the bytes `7F E0`..`7F FF`), trim and extension flags, the
//! packet's size in bytes of 255 and a last one below, then the start
//! trim, end trim and extension when flagged. The PES timestamp is the
//! first packet's; each next one comes its predecessor's duration (from
//! its TOC byte, RFC 6716 §3.1) later.
//!
//! A transport stream carries no ID header: the PMT's channel
//! configuration (its Opus extension descriptor) gives the channels and
//! mapping, and the first packet's start trim the pre-skip, as the
//! encoder's own header had them. The input rate is unknown: 48 kHz.

use super::{Clock, Demuxed, frame};
use crate::media::FrameKind;

/// E-RTMP's ExAudioTagHeader first byte: SoundFormat 9 (ExHeader), then
/// the packet type.
const SEQUENCE_START: u8 = 0x90;
const CODED_FRAMES: u8 = 0x91;
/// An ID header's channel mapping table (RFC 7845 §5.1.1): stream count,
/// coupled stream count, the channel mapping.
type Mapping = (u8, u8, &'static [u8]);
/// The mapping tables of 3 to 8 channels in mapping family 1, Vorbis
/// order (RFC 7845 §5.1.1.2), as libopus's surround encoder writes them.
const SURROUND: [Mapping; 6] = [
    (2, 1, &[0, 2, 1]),
    (2, 2, &[0, 1, 2, 3]),
    (3, 2, &[0, 4, 1, 2, 3]),
    (4, 2, &[0, 4, 1, 2, 3, 5]),
    (4, 3, &[0, 4, 1, 2, 3, 5, 6]),
    (5, 3, &[0, 6, 1, 2, 3, 4, 5, 7]),
];

/// The Opus stream's state: the channel configuration of the last ID
/// header sent. Its pre-skip is not compared: only the first packet
/// carries a start trim.
#[derive(Debug, Default)]
pub(super) struct Opus {
    sent: Option<u8>,
}

/// Whether this reader makes an ID header of a `channel_config_code`
/// (ETSI TS 103 491 Table 6-1): 0 dual mono, 1 to 8 channels in the
/// default mappings; not the explicit mappings of 0x81 and up.
pub(super) fn is_supported(channel_config: u8) -> bool {
    channel_config <= 8
}

impl Opus {
    /// The Opus packets of a PES as audio tags, the first at `pts` (90 kHz
    /// ticks); a sequence start before them when the channel
    /// configuration (`channel_config_code`) is new.
    pub(super) fn packets(
        &mut self,
        clock: &Clock,
        channel_config: u8,
        pts: i64,
        mut rest: &[u8],
        out: &mut Vec<Demuxed>,
    ) -> Result<(), &'static str> {
        let mut ticks = pts;
        while !rest.is_empty() {
            let (packet, start_trim, next) = control_header(rest).ok_or("an Opus control header does not fit")?;
            let samples = samples(packet).ok_or("an Opus packet has no whole TOC")?;
            let ms = clock.ms(ticks);
            if self.sent != Some(channel_config) {
                let head =
                    id_header(channel_config, start_trim).ok_or("the Opus channel configuration is not supported")?;
                out.push(frame(
                    FrameKind::Audio,
                    ms,
                    [&[SEQUENCE_START][..], b"Opus", &head].concat(),
                ));
                self.sent = Some(channel_config);
            }
            out.push(frame(
                FrameKind::Audio,
                ms,
                [&[CODED_FRAMES][..], b"Opus", packet].concat(),
            ));
            // 48 kHz samples in 90 kHz ticks.
            ticks += i64::from(samples) * 90_000 / 48_000;
            rest = next;
        }
        Ok(())
    }
}

/// The packet after the control header at the start of `b`, its start
/// trim (0 when not given) and the bytes after it.
fn control_header(b: &[u8]) -> Option<(&[u8], u16, &[u8])> {
    let flags = *b.get(1).filter(|_| b[0] == 0x7F)?;
    if flags & 0xE0 != 0xE0 {
        return None;
    }
    let mut at = 2;
    let mut size = 0usize;
    loop {
        let byte = *b.get(at)?;
        at += 1;
        size += usize::from(byte);
        if byte != 0xFF {
            break;
        }
    }
    let mut start_trim = 0;
    if flags & 0x10 != 0 {
        start_trim = u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?) & 0x1FFF;
        at += 2;
    }
    if flags & 0x08 != 0 {
        at += 2; // end trim: the decoder's business, not the header's
    }
    if flags & 0x04 != 0 {
        at += 1 + usize::from(*b.get(at)?);
    }
    let packet = b.get(at..at.checked_add(size)?)?;
    Some((packet, start_trim, &b[at + size..]))
}

/// The 48 kHz samples an Opus packet holds (RFC 6716 §3.1): its frame
/// size from the TOC's configuration times its frame count.
fn samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    let frame = match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    };
    let count = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3F),
    };
    Some(frame * count)
}

/// An Opus ID header (RFC 7845 §5.1) for a `channel_config_code` and a
/// pre-skip; `None` for a code `is_supported` refuses.
fn id_header(channel_config: u8, pre_skip: u16) -> Option<Vec<u8>> {
    let (channels, family, mapping): (u8, u8, Option<Mapping>) = match channel_config {
        // Dual mono: two mono streams, each its own channel.
        0 => (2, 255, Some((2, 0, &[0, 1]))),
        1 | 2 => (channel_config, 0, None),
        3..=8 => (channel_config, 1, Some(SURROUND[usize::from(channel_config) - 3])),
        _ => return None,
    };
    let mut head = b"OpusHead".to_vec();
    head.push(1); // version
    head.push(channels);
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&48_000u32.to_le_bytes()); // input sample rate
    head.extend_from_slice(&[0, 0]); // output gain
    head.push(family);
    if let Some((streams, coupled, map)) = mapping {
        head.extend_from_slice(&[streams, coupled]);
        head.extend_from_slice(map);
    }
    Some(head)
}
