//! MPEG-2 Transport Stream (ISO 13818-1) for HLS's older players: the
//! program tables (PAT, PMT) and one PES per coded frame, cut into
//! 188-byte packets. Pure: samples in, bytes out.
//!
//! FLV carries H.264 and HEVC as length-prefixed NAL units with the
//! parameter sets in a configuration record; a transport stream carries
//! them as an Annex B byte stream, so each access unit here opens with an
//! access unit delimiter and every keyframe repeats the parameter sets
//! (a player may start at any segment). AAC gets its ADTS header back,
//! which the FLV tag replaced with the AudioSpecificConfig. The PCR rides
//! on the first packet of each frame of the lead track (video, or audio
//! without video): well within the 100 ms the standard asks.

use super::fmp4::{AUDIO_TRACK, Codec, Pack, Placement, Sample, VIDEO_TRACK};

/// Bytes in a transport stream packet.
pub const PACKET: usize = 188;
const PAT_PID: u16 = 0;
const PMT_PID: u16 = 0x1000;
const VIDEO_PID: u16 = 0x100;
const AUDIO_PID: u16 = 0x101;
/// PES timestamps count a 90 kHz clock in 33 bits.
const CLOCK_MASK: u64 = (1 << 33) - 1;

/// The video track: how its samples become an Annex B stream.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Video {
    hevc: bool,
    /// The NAL unit length prefix's size in the samples.
    length_size: usize,
    /// The configuration record's parameter sets, start codes before each.
    parameter_sets: Vec<u8>,
}

/// The audio track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audio {
    /// AAC, with the ADTS fields the AudioSpecificConfig gives: profile,
    /// sampling frequency index and channel configuration.
    Aac { profile: u8, rate: u8, channels: u8 },
    /// MP3 frames, carried as they are.
    Mp3,
}

impl Audio {
    fn stream_type(self) -> u8 {
        match self {
            Audio::Aac { .. } => 0x0F, // ADTS
            Audio::Mp3 => 0x03,        // MPEG-1 audio
        }
    }
}

/// A transport stream of one program with a video and an audio stream,
/// either of which may be missing; the continuity counters of each PID go
/// on from packet to packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Muxer {
    video: Option<Video>,
    audio: Option<Audio>,
    /// Continuity counters: PAT, PMT, video, audio.
    counters: [u8; 4],
}

impl Muxer {
    /// A muxer for the tracks that `video` and `audio` configure (a codec
    /// and its configuration record: avcC, hvcC, AudioSpecificConfig; MP3
    /// has none). A codec a transport stream here does not carry (AV1,
    /// VP9, Opus) or a record that cannot be read leaves its track out:
    /// `carries` says which are in.
    pub fn new(video: Option<(Codec, &[u8])>, audio: Option<(Codec, &[u8])>) -> Muxer {
        Muxer {
            video: video.and_then(|(codec, record)| video_track(codec, record)),
            audio: audio.and_then(|(codec, config)| audio_track(codec, config)),
            counters: [0; 4],
        }
    }

    /// Whether the stream carries the track (`VIDEO_TRACK`, `AUDIO_TRACK`).
    pub fn carries(&self, track: u32) -> bool {
        match track {
            VIDEO_TRACK => self.video.is_some(),
            AUDIO_TRACK => self.audio.is_some(),
            _ => false,
        }
    }

    /// The PAT and the PMT, two packets: what a segment starts with, so a
    /// player can start there.
    pub fn tables(&mut self) -> Vec<u8> {
        // PAT: program 1's PMT is on PMT_PID.
        let mut pat = vec![0x00, 0xB0, 0, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01];
        pat.extend_from_slice(&(0xE000 | PMT_PID).to_be_bytes());
        let pcr_pid = if self.video.is_some() { VIDEO_PID } else { AUDIO_PID };
        let mut pmt = vec![0x02, 0xB0, 0, 0x00, 0x01, 0xC1, 0x00, 0x00];
        pmt.extend_from_slice(&(0xE000 | pcr_pid).to_be_bytes());
        pmt.extend_from_slice(&[0xF0, 0x00]); // no program descriptors
        let streams = [
            self.video
                .as_ref()
                .map(|v| (if v.hevc { 0x24 } else { 0x1B }, VIDEO_PID)),
            self.audio.map(|a| (a.stream_type(), AUDIO_PID)),
        ];
        for (stream_type, pid) in streams.into_iter().flatten() {
            pmt.push(stream_type);
            pmt.extend_from_slice(&(0xE000 | pid).to_be_bytes());
            pmt.extend_from_slice(&[0xF0, 0x00]);
        }
        let mut out = Vec::with_capacity(2 * PACKET);
        for (section, pid, counter) in [(pat, PAT_PID, 0), (pmt, PMT_PID, 1)] {
            // A section ends its packet's payload, and 0xFF fills the rest.
            let mut section = sealed(section);
            section.resize(PACKET - 4, 0xFF);
            packetize(&mut out, pid, &mut self.counters[counter], &section, None, false);
        }
        out
    }
}

impl Pack for Muxer {
    /// The packets of one frame's PES; `None` for a track not carried.
    fn pack(&mut self, sample: &Sample<'_>, at: Placement) -> Option<Vec<u8>> {
        let dts = at.decode_time.wrapping_mul(90) & CLOCK_MASK;
        let mut out = Vec::with_capacity(sample.data.len() + sample.data.len() / 170 * 4 + 2 * PACKET);
        match at.track {
            VIDEO_TRACK => {
                let video = self.video.as_ref()?;
                let es = video.annex_b(sample.data, sample.sync);
                let pts = dts.wrapping_add(u64::from(sample.composition_offset.max(0) as u32) * 90) & CLOCK_MASK;
                let pes = pes(0xE0, pts, (pts != dts).then_some(dts), &es, false);
                packetize(&mut out, VIDEO_PID, &mut self.counters[2], &pes, Some(dts), sample.sync);
            }
            AUDIO_TRACK => {
                let audio = self.audio?;
                let pcr = self.video.is_none().then_some(dts);
                let es = match audio {
                    Audio::Aac {
                        profile,
                        rate,
                        channels,
                    } => {
                        let header = adts(profile, rate, channels, sample.data.len())?;
                        [&header[..], sample.data].concat()
                    }
                    Audio::Mp3 => sample.data.to_vec(),
                };
                let pes = pes(0xC0, dts, None, &es, true);
                packetize(&mut out, AUDIO_PID, &mut self.counters[3], &pes, pcr, pcr.is_some());
            }
            _ => return None,
        }
        Some(out)
    }
}

fn video_track(codec: Codec, record: &[u8]) -> Option<Video> {
    let hevc = match codec {
        Codec::Avc => false,
        Codec::Hevc => true,
        _ => return None,
    };
    let (length_size, units) = if hevc {
        hevc_parameter_sets(record)?
    } else {
        avc_parameter_sets(record)?
    };
    let mut parameter_sets = Vec::new();
    for unit in units {
        parameter_sets.extend_from_slice(&[0, 0, 0, 1]);
        parameter_sets.extend_from_slice(unit);
    }
    Some(Video {
        hevc,
        length_size,
        parameter_sets,
    })
}

fn audio_track(codec: Codec, config: &[u8]) -> Option<Audio> {
    match codec {
        Codec::Mp3 => Some(Audio::Mp3),
        Codec::Aac => {
            // AudioSpecificConfig: object type (5 bits), sampling
            // frequency index (4), channel configuration (4).
            let (&b0, &b1) = (config.first()?, config.get(1)?);
            let object_type = b0 >> 3;
            let rate = ((b0 & 0x07) << 1) | (b1 >> 7);
            let channels = (b1 >> 3) & 0x0F;
            // ADTS has 2 bits of profile (object type - 1): Main, LC, SSR,
            // LTP. HE-AAC's core is LC, its SBR found by the decoder.
            let profile = match object_type {
                1..=4 => object_type - 1,
                5 | 29 => 1,
                _ => return None,
            };
            (rate < 13 && channels < 8).then_some(Audio::Aac {
                profile,
                rate,
                channels,
            })
        }
        _ => None,
    }
}

/// Reads a big-endian u16 length at `at`, then that many bytes.
fn sized(record: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::from(u16::from_be_bytes([*record.get(at)?, *record.get(at + 1)?]));
    record.get(at + 2..at + 2 + len)
}

/// An AVCDecoderConfigurationRecord's NAL length size and its SPS and PPS
/// (ISO 14496-15 §5.3.3.1).
fn avc_parameter_sets(record: &[u8]) -> Option<(usize, Vec<&[u8]>)> {
    let length_size = usize::from(record.get(4)? & 0x03) + 1;
    let mut units = Vec::new();
    let mut at = 5;
    for mask in [0x1F, 0xFF] {
        let count = record.get(at)? & mask;
        at += 1;
        for _ in 0..count {
            let unit = sized(record, at)?;
            at += 2 + unit.len();
            units.push(unit);
        }
    }
    Some((length_size, units))
}

/// An HEVCDecoderConfigurationRecord's NAL length size and its VPS, SPS
/// and PPS (ISO 14496-15 §8.3.3.1).
fn hevc_parameter_sets(record: &[u8]) -> Option<(usize, Vec<&[u8]>)> {
    let length_size = usize::from(record.get(21)? & 0x03) + 1;
    let arrays = *record.get(22)?;
    let mut units = Vec::new();
    let mut at = 23;
    for _ in 0..arrays {
        let nal_type = record.get(at)? & 0x3F;
        let count = u16::from_be_bytes([*record.get(at + 1)?, *record.get(at + 2)?]);
        at += 3;
        for _ in 0..count {
            let unit = sized(record, at)?;
            at += 2 + unit.len();
            if (32..=34).contains(&nal_type) {
                units.push(unit);
            }
        }
    }
    Some((length_size, units))
}

impl Video {
    /// A NAL unit's type.
    fn nal_type(&self, unit: &[u8]) -> u8 {
        let first = unit.first().copied().unwrap_or(0);
        if self.hevc { (first >> 1) & 0x3F } else { first & 0x1F }
    }

    /// A sample's NAL units as an access unit in Annex B: a delimiter,
    /// the parameter sets before a keyframe that does not carry its own,
    /// then each unit after a start code. A length running past the
    /// sample ends it there.
    fn annex_b(&self, sample: &[u8], keyframe: bool) -> Vec<u8> {
        let (delimiter, sps): (&[u8], u8) = if self.hevc {
            (&[0, 0, 0, 1, 0x46, 0x01, 0x50], 33)
        } else {
            (&[0, 0, 0, 1, 0x09, 0xF0], 7)
        };
        let units: Vec<&[u8]> = NalUnits {
            rest: sample,
            length_size: self.length_size,
        }
        .collect();
        let mut out = Vec::with_capacity(sample.len() + self.parameter_sets.len() + 16);
        out.extend_from_slice(delimiter);
        if keyframe && !units.iter().any(|u| self.nal_type(u) == sps) {
            out.extend_from_slice(&self.parameter_sets);
        }
        let aud = if self.hevc { 35 } else { 9 };
        for unit in units.into_iter().filter(|u| self.nal_type(u) != aud) {
            out.extend_from_slice(&[0, 0, 0, 1]);
            out.extend_from_slice(unit);
        }
        out
    }
}

/// The NAL units of a sample, each after its big-endian length.
struct NalUnits<'a> {
    rest: &'a [u8],
    length_size: usize,
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // A loop, not recursion, past empty units: a peer may send a
        // frame of nothing else.
        loop {
            let prefix = self.rest.get(..self.length_size)?;
            let len = prefix.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b));
            let Some(unit) = self.rest.get(self.length_size..self.length_size + len) else {
                self.rest = &[];
                return None;
            };
            self.rest = &self.rest[self.length_size + len..];
            if !unit.is_empty() {
                return Some(unit);
            }
        }
    }
}

/// The 7-byte ADTS header (ISO 14496-3 §1.A.2.2) for a raw AAC frame of
/// `len` bytes; `None` when the frame is too long for its 13-bit length.
fn adts(profile: u8, rate: u8, channels: u8, len: usize) -> Option<[u8; 7]> {
    let total = len + 7;
    if total >= 1 << 13 {
        return None;
    }
    Some([
        0xFF,
        0xF1, // MPEG-4, layer 0, no CRC
        (profile << 6) | (rate << 2) | (channels >> 2),
        ((channels & 0x03) << 6) | (total >> 11) as u8,
        (total >> 3) as u8,
        ((total & 0x07) << 5) as u8 | 0x1F,
        0xFC, // buffer fullness 0x7FF (variable), one raw data block
    ])
}

/// A PES packet: `stream_id`, its PTS (and DTS when it differs), then
/// `es`. Video may leave the length unset (0), as it often exceeds 16
/// bits; audio sets it.
fn pes(stream_id: u8, pts: u64, dts: Option<u64>, es: &[u8], bounded: bool) -> Vec<u8> {
    let header_len: u8 = if dts.is_some() { 10 } else { 5 };
    let len = 3 + usize::from(header_len) + es.len();
    let len = if bounded && len <= 0xFFFF { len as u16 } else { 0 };
    let mut out = Vec::with_capacity(es.len() + 19);
    out.extend_from_slice(&[0, 0, 1, stream_id]);
    out.extend_from_slice(&len.to_be_bytes());
    out.push(0x80); // '10', not scrambled
    out.push(if dts.is_some() { 0xC0 } else { 0x80 });
    out.push(header_len);
    match dts {
        Some(dts) => {
            put_timestamp(&mut out, 0x3, pts);
            put_timestamp(&mut out, 0x1, dts);
        }
        None => put_timestamp(&mut out, 0x2, pts),
    }
    out.extend_from_slice(es);
    out
}

/// A 33-bit timestamp in its five bytes, after the 4-bit `prefix`, with
/// the marker bits.
fn put_timestamp(out: &mut Vec<u8>, prefix: u8, ts: u64) {
    out.push((prefix << 4) | ((ts >> 29) as u8 & 0x0E) | 1);
    out.push((ts >> 22) as u8);
    out.push(((ts >> 14) as u8 & 0xFE) | 1);
    out.push((ts >> 7) as u8);
    out.push(((ts << 1) as u8 & 0xFE) | 1);
}

/// A PSI section with its length filled in and its CRC appended, after
/// the pointer field.
fn sealed(mut section: Vec<u8>) -> Vec<u8> {
    let len = section.len() - 3 + 4;
    section[1] = 0xB0 | (len >> 8) as u8;
    section[2] = len as u8;
    let crc = crc32(&section);
    section.extend_from_slice(&crc.to_be_bytes());
    section.insert(0, 0); // pointer field: the section starts right away
    section
}

/// The MPEG-2 CRC-32 (polynomial 0x04C11DB7, not reflected, no final
/// XOR), over a section up to its CRC.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04C1_1DB7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Cuts `payload` (a PES or a section) into packets of `pid`. The first
/// packet starts the unit and carries the PCR (`pcr`, on the 90 kHz
/// clock) and the random access flag; the last is filled up with
/// adaptation field stuffing.
fn packetize(out: &mut Vec<u8>, pid: u16, counter: &mut u8, payload: &[u8], pcr: Option<u64>, random_access: bool) {
    let mut rest = payload;
    let mut first = true;
    while first || !rest.is_empty() {
        // The adaptation field: its length byte, flags, PCR, stuffing.
        let mut field = Vec::new();
        if first && (pcr.is_some() || random_access) {
            field.push(0);
            field.push(if random_access { 0x40 } else { 0 } | if pcr.is_some() { 0x10 } else { 0 });
            if let Some(base) = pcr {
                // 33 bits of base, 6 reserved, 9 of extension (0).
                field.extend_from_slice(&[
                    (base >> 25) as u8,
                    (base >> 17) as u8,
                    (base >> 9) as u8,
                    (base >> 1) as u8,
                    ((base & 1) << 7) as u8 | 0x7E,
                    0,
                ]);
            }
        }
        let room = PACKET - 4 - field.len();
        let take = rest.len().min(room);
        let stuffing = room - take;
        if stuffing > 0 {
            match field.len() {
                0 if stuffing == 1 => field.push(0),
                0 => {
                    field.extend_from_slice(&[0, 0]);
                    field.resize(stuffing, 0xFF);
                }
                n => field.resize(n + stuffing, 0xFF),
            }
        }
        if !field.is_empty() {
            field[0] = (field.len() - 1) as u8;
        }
        let control = if field.is_empty() { 0x10 } else { 0x30 };
        out.extend_from_slice(&[
            0x47,
            if first { 0x40 } else { 0 } | (pid >> 8) as u8,
            pid as u8,
            control | *counter,
        ]);
        *counter = (*counter + 1) & 0x0F;
        out.extend_from_slice(&field);
        out.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An avcC with one SPS and one PPS, 4-byte lengths.
    fn avcc() -> Vec<u8> {
        let mut record = vec![1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 4, 0x67, 0x64, 0, 0x1F];
        record.extend_from_slice(&[1, 0, 2, 0x68, 0xEE]);
        record
    }

    fn aac_lc_44100_stereo() -> [u8; 2] {
        [0x12, 0x10]
    }

    fn muxer() -> Muxer {
        Muxer::new(Some((Codec::Avc, &avcc())), Some((Codec::Aac, &aac_lc_44100_stereo())))
    }

    #[test]
    fn the_crc_is_mpeg2s() {
        // The check value of CRC-32/MPEG-2.
        assert_eq!(crc32(b"123456789"), 0x0376_E6E7);
    }

    #[test]
    fn the_tables_are_byte_exact() {
        let tables = muxer().tables();
        assert_eq!(tables.len(), 2 * PACKET);
        // The PAT ffmpeg writes too: program 1 on PID 0x1000.
        let pat = [
            0x47, 0x40, 0x00, 0x10, 0x00, 0x00, 0xB0, 0x0D, 0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xF0, 0x00, 0x2A,
            0xB1, 0x04, 0xB2,
        ];
        assert_eq!(tables[..pat.len()], pat);
        assert!(tables[pat.len()..PACKET].iter().all(|&b| b == 0xFF));
        // PMT: PCR on the video PID, H.264 on 0x100 and ADTS AAC on 0x101.
        let pmt = &tables[PACKET..];
        let section = [
            0x02, 0xB0, 0x17, 0x00, 0x01, 0xC1, 0x00, 0x00, 0xE1, 0x00, 0xF0, 0x00, 0x1B, 0xE1, 0x00, 0xF0, 0x00, 0x0F,
            0xE1, 0x01, 0xF0, 0x00,
        ];
        assert_eq!(pmt[..5], [0x47, 0x50, 0x00, 0x10, 0x00]);
        assert_eq!(pmt[5..5 + section.len()], section);
        let crc = crc32(&section).to_be_bytes();
        assert_eq!(pmt[5 + section.len()..5 + section.len() + 4], crc);
    }

    #[test]
    fn continuity_counters_go_on() {
        let mut m = muxer();
        m.tables();
        let again = m.tables();
        assert_eq!(again[3], 0x11, "the PAT's second packet counts 1");
        assert_eq!(again[PACKET + 3], 0x11);
    }

    #[test]
    fn a_keyframe_gets_a_delimiter_its_parameter_sets_and_start_codes() {
        let video = muxer().video.unwrap();
        let sample = [0, 0, 0, 3, 0x65, 0xAA, 0xBB, 0, 0, 0, 1, 0x06];
        let expected = [
            &[0, 0, 0, 1, 0x09, 0xF0][..],
            &[0, 0, 0, 1, 0x67, 0x64, 0, 0x1F, 0, 0, 0, 1, 0x68, 0xEE],
            &[0, 0, 0, 1, 0x65, 0xAA, 0xBB, 0, 0, 0, 1, 0x06],
        ]
        .concat();
        assert_eq!(video.annex_b(&sample, true), expected);
        // Not a keyframe: no parameter sets. A length past the end stops.
        let cut = [0, 0, 0, 2, 0x41, 0x9A, 0, 0, 0, 9, 0x41];
        assert_eq!(
            video.annex_b(&cut, false),
            [0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x41, 0x9A]
        );
    }

    #[test]
    fn a_frame_of_a_million_empty_units_is_no_deeper_than_one() {
        let video = muxer().video.unwrap();
        let mut sample = vec![0u8; 4_000_000];
        sample.extend_from_slice(&[0, 0, 0, 1, 0x41]);
        assert_eq!(
            video.annex_b(&sample, false),
            [0, 0, 0, 1, 0x09, 0xF0, 0, 0, 0, 1, 0x41]
        );
    }

    #[test]
    fn any_bytes_make_whole_packets_or_nothing() {
        // xorshift: the same bytes every run.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut bytes = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect()
        };
        for round in 0..2000 {
            let (record, config) = (bytes(round % 64), bytes(round % 5));
            let codec = if round % 2 == 0 { Codec::Avc } else { Codec::Hevc };
            let mut m = Muxer::new(Some((codec, &record)), Some((Codec::Aac, &config)));
            assert!(m.tables().len() == 2 * PACKET);
            let data = bytes(round % 700);
            for track in [VIDEO_TRACK, AUDIO_TRACK] {
                let sample = Sample {
                    data: &data,
                    composition_offset: round as i32 - 1000,
                    sync: round % 3 == 0,
                };
                let at = Placement {
                    sequence: 1,
                    track,
                    decode_time: u64::MAX - round as u64,
                    duration: 40,
                };
                if let Some(out) = m.pack(&sample, at) {
                    assert!(out.len().is_multiple_of(PACKET) && out.chunks(PACKET).all(|p| p[0] == 0x47));
                }
            }
        }
    }

    #[test]
    fn adts_header_is_byte_exact() {
        // AAC LC, 44.1 kHz (index 4), stereo, 100-byte frame: 107 in all.
        assert_eq!(adts(1, 4, 2, 100), Some([0xFF, 0xF1, 0x50, 0x80, 0x0D, 0x7F, 0xFC]));
        assert_eq!(adts(1, 4, 2, 9000), None);
        assert_eq!(
            audio_track(Codec::Aac, &aac_lc_44100_stereo()),
            Some(Audio::Aac {
                profile: 1,
                rate: 4,
                channels: 2
            })
        );
    }

    #[test]
    fn a_frame_is_one_pes_in_whole_packets_with_the_pcr_first() {
        let mut m = muxer();
        let data = vec![0, 0, 1, 0x2C, 0x65]
            .into_iter()
            .chain(std::iter::repeat_n(0x11, 0x12B))
            .collect::<Vec<_>>();
        let sample = Sample {
            data: &data,
            composition_offset: 40,
            sync: true,
        };
        let at = Placement {
            sequence: 1,
            track: VIDEO_TRACK,
            decode_time: 1000,
            duration: 40,
        };
        let out = m.pack(&sample, at).unwrap();
        assert!(out.len().is_multiple_of(PACKET));
        assert!(out.chunks(PACKET).all(|p| p[0] == 0x47));
        // First packet: start, video PID, adaptation field with random
        // access and PCR 90000 (1 s).
        assert_eq!(out[..4], [0x47, 0x41, 0x00, 0x30]);
        assert_eq!(out[4..8], [7, 0x50, 0x00, 0x00]);
        let pcr_base = (u64::from(out[6]) << 25)
            | (u64::from(out[7]) << 17)
            | (u64::from(out[8]) << 9)
            | (u64::from(out[9]) << 1)
            | u64::from(out[10] >> 7);
        assert_eq!(pcr_base, 90_000);
        // PES: video stream, PTS 1.04 s and DTS 1 s.
        let pes = &out[12..];
        assert_eq!(pes[..9], [0, 0, 1, 0xE0, 0, 0, 0x80, 0xC0, 10]);
        let mut pts = Vec::new();
        put_timestamp(&mut pts, 3, 93_600);
        put_timestamp(&mut pts, 1, 90_000);
        assert_eq!(pes[9..19], pts);
        // The second and last packet goes on with counter 1, stuffed.
        assert_eq!(out.len(), 2 * PACKET);
        assert_eq!(out[PACKET..PACKET + 4], [0x47, 0x01, 0x00, 0x31]);
        // An audio frame when the stream has video: no PCR, length set.
        let aac = Sample {
            data: &[0x21; 10],
            composition_offset: 0,
            sync: true,
        };
        let out = m
            .pack(
                &aac,
                Placement {
                    track: AUDIO_TRACK,
                    ..at
                },
            )
            .unwrap();
        assert_eq!(out.len(), PACKET);
        let stuffing = PACKET - 4 - (14 + 7 + 10);
        assert_eq!(out[..5], [0x47, 0x41, 0x01, 0x30, stuffing as u8 - 1]);
        let pes = &out[4 + stuffing..];
        assert_eq!(pes[..9], [0, 0, 1, 0xC0, 0, 25, 0x80, 0x80, 5]);
        assert_eq!(pes[14..21], adts(1, 4, 2, 10).unwrap());
    }

    #[test]
    fn tracks_a_transport_stream_cannot_carry_are_left_out() {
        let m = Muxer::new(Some((Codec::Av1, &[0x81, 0, 0, 0])), Some((Codec::Opus, b"OpusHead")));
        assert!(!m.carries(VIDEO_TRACK) && !m.carries(AUDIO_TRACK));
        assert!(
            Muxer::new(Some((Codec::Avc, &[1, 2])), None).video.is_none(),
            "a cut record"
        );
    }
}
