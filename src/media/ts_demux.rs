//! MPEG-2 Transport Stream (ISO 13818-1) in, frames out: the reverse of
//! `ts`, for publishers that send a transport stream (SRT) rather than FLV
//! tags. Pure: bytes in, in whatever pieces they arrive, `Frame`s out, the
//! same ones an RTMP publisher's tags would give.
//!
//! The PAT names the first program's PMT; the PMT names the first video
//! stream, H.264 (stream type 0x1B) or HEVC (0x24), and the first audio,
//! AAC in ADTS (0x0F) or Opus (private data, 0x06, registered `Opus` with
//! its extension descriptor). Each PES becomes frames, one module a codec:
//! H.264 as FLV AVC tags (`avc`), HEVC as Enhanced RTMP `hvc1` (`hevc`),
//! each access unit's NAL units length-prefixed, its parameter sets a
//! configuration record sent as a sequence header whenever they change
//! (access unit delimiters and the in-band parameter sets leave the
//! frames); AAC as raw frames after an AudioSpecificConfig (`adts`); Opus
//! as Enhanced RTMP `Opus` packets after an ID header (`opus`). Timestamps
//! follow the PES DTS (PTS when alone) on one timeline that starts at 0
//! with the first DTS seen and goes on across the 33-bit wrap; the
//! composition time is PTS − DTS. Video before the first parameter sets
//! is dropped: no decoder could use it.
//!
//! Every buffer is bounded in bytes: a PES over the limit is dropped as it
//! grows, PSI sections over 1024 bytes (the standard's maximum) too, and
//! at most one packet and a byte of lookahead wait between pushes.
//!
//! Out of scope for now: scrambled streams (reported and dropped), every
//! program but the first, Opus with an explicit channel mapping
//! (`channel_config_code` 0x81 and up) or without its extension
//! descriptor (left out like an unknown stream), and other codecs.

use std::fmt;

mod adts;
mod annexb;
mod avc;
mod hevc;
mod opus;

use self::adts::Adts;
use self::avc::Avc;
use self::hevc::Hevc;
use self::opus::Opus;
use super::ts::{PACKET, crc32};
use super::{Frame, FrameKind};
use crate::protocol::time::RtmpTime;

/// The largest PES a demuxer holds unless told otherwise: 16 MiB.
pub const DEFAULT_PES_LIMIT: usize = 16 << 20;
const SYNC: u8 = 0x47;
const PAT_PID: u16 = 0;
/// A PSI section's largest size (ISO 13818-1 §2.4.4.11: a 10-bit length,
/// at most 1021, after 3 bytes).
const SECTION_LIMIT: usize = 1024;
/// PES timestamps count a 90 kHz clock in 33 bits.
const CLOCK_WRAP: i64 = 1 << 33;
/// PMT stream types (ISO 13818-1 Table 2-34).
const H264: u8 = 0x1B;
const HEVC: u8 = 0x24;
const ADTS: u8 = 0x0F;
/// PES private data: Opus when a registration descriptor says so.
const PRIVATE: u8 = 0x06;
/// PMT descriptor tags: registration (ISO 13818-1 §2.6.8), and DVB's
/// extension descriptor, whose tag 0x80 is Opus's (ETSI TS 103 491).
const REGISTRATION: u8 = 0x05;
const EXTENSION: u8 = 0x7F;
const OPUS_EXTENSION: u8 = 0x80;

/// What was wrong with the stream; the demuxer goes on after each. Each
/// variant's doc says what its fields are.
#[allow(missing_docs)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DemuxError {
    /// A packet did not start with the sync byte: `byte` at `offset`
    /// instead; the bytes up to the next sync byte are skipped.
    SyncLost { offset: u64, byte: u8 },
    /// The packet at `offset` held only `len` bytes before the next one
    /// began.
    Truncated { offset: u64, pid: u16, len: usize },
    /// A packet of `pid` at `offset` whose header or adaptation field is
    /// not what the standard allows.
    BadPacket { offset: u64, pid: u16, what: &'static str },
    /// Packets of `pid` were lost: counter `got` came where `expected`
    /// was due; the PES they belonged to is dropped.
    Discontinuity { pid: u16, expected: u8, got: u8 },
    /// A scrambled packet of `pid` (scrambling control `control`).
    Scrambled { pid: u16, control: u8 },
    /// A PES of `pid` grew past `limit` bytes; it is dropped.
    PesTooLarge { pid: u16, limit: usize },
    /// A PAT or PMT section on `pid` that cannot be read.
    BadSection { pid: u16, what: &'static str },
    /// A PES of `pid` (stream type `stream_type`) starting at `offset`
    /// that cannot be read.
    BadPes {
        offset: u64,
        pid: u16,
        stream_type: u8,
        what: &'static str,
    },
}

impl fmt::Display for DemuxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DemuxError::SyncLost { offset, byte } => {
                write!(f, "no sync byte at offset {offset}: 0x{byte:02X} instead of 0x47")
            }
            DemuxError::Truncated { offset, pid, len } => {
                write!(
                    f,
                    "the packet of PID {pid} at offset {offset} is cut short at {len} bytes"
                )
            }
            DemuxError::BadPacket { offset, pid, what } => {
                write!(f, "the packet of PID {pid} at offset {offset}: {what}")
            }
            DemuxError::Discontinuity { pid, expected, got } => {
                write!(
                    f,
                    "PID {pid} lost packets: continuity counter {got} where {expected} was due"
                )
            }
            DemuxError::Scrambled { pid, control } => {
                write!(f, "PID {pid} is scrambled (scrambling control {control})")
            }
            DemuxError::PesTooLarge { pid, limit } => write!(f, "a PES of PID {pid} exceeds {limit} bytes"),
            DemuxError::BadSection { pid, what } => write!(f, "the section on PID {pid}: {what}"),
            DemuxError::BadPes {
                offset,
                pid,
                stream_type,
                what,
            } => write!(
                f,
                "the PES of PID {pid} (stream type 0x{stream_type:02X}) at offset {offset}: {what}"
            ),
        }
    }
}

impl std::error::Error for DemuxError {}

/// What `Demuxer::push` gives: a frame, or what was wrong.
pub type Demuxed = Result<Frame, DemuxError>;

/// A PSI section being gathered across packets.
#[derive(Debug, Default)]
struct Section {
    bytes: Vec<u8>,
    /// Whether a section has begun and is not yet whole.
    open: bool,
}

/// What an elementary stream carries, as its PMT entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carried {
    H264,
    Hevc,
    Adts,
    /// Opus with this `channel_config_code`.
    Opus(u8),
}

impl Carried {
    /// The PMT stream type that says so.
    fn stream_type(self) -> u8 {
        match self {
            Carried::H264 => H264,
            Carried::Hevc => HEVC,
            Carried::Adts => ADTS,
            Carried::Opus(_) => PRIVATE,
        }
    }
}

/// One elementary stream and the PES it is gathering.
#[derive(Debug)]
struct Elementary {
    pid: u16,
    carried: Carried,
    /// The last continuity counter, once a packet came.
    counter: Option<u8>,
    pes: Vec<u8>,
    /// Where the PES began in the stream.
    start: u64,
    /// Whether a PES is being gathered (not between PES, nor dropped).
    open: bool,
}

impl Elementary {
    fn new(pid: u16, carried: Carried) -> Elementary {
        Elementary {
            pid,
            carried,
            counter: None,
            pes: Vec::new(),
            start: 0,
            open: false,
        }
    }
}

/// PES timestamps unwrapped past 33 bits onto one timeline in ms.
#[derive(Debug, Default)]
struct Clock {
    /// The first timestamp (unwrapped: where 0 ms is), the last raw one
    /// and its unwrapped value.
    origin: Option<(i64, i64, i64)>,
}

impl Clock {
    /// `raw` (90 kHz, 33 bits) unwrapped near the last timestamp.
    fn unwrap(&mut self, raw: u64) -> i64 {
        let raw = raw as i64 & (CLOCK_WRAP - 1);
        let (origin, last_raw, last) = self.origin.unwrap_or((raw, raw, raw));
        let mut delta = (raw - last_raw).rem_euclid(CLOCK_WRAP);
        if delta >= CLOCK_WRAP / 2 {
            delta -= CLOCK_WRAP;
        }
        let now = last + delta;
        self.origin = Some((origin, raw, now));
        now
    }

    /// Unwrapped 90 kHz ticks as ms on the timeline; a time before the
    /// first one seen (audio a little before the video that came first)
    /// is 0.
    fn ms(&self, ticks: i64) -> i64 {
        let origin = self.origin.map_or(ticks, |(origin, _, _)| origin);
        (ticks - origin).max(0) / 90
    }
}

/// A transport stream demuxer: `push` bytes as they come, take frames.
#[derive(Debug)]
pub struct Demuxer {
    pes_limit: usize,
    /// Bytes not yet made into packets: less than a packet and a byte
    /// between pushes.
    pending: Vec<u8>,
    /// Where `pending` starts in the stream.
    offset: u64,
    pat: Section,
    pmt: Section,
    pmt_pid: Option<u16>,
    video: Option<Elementary>,
    audio: Option<Elementary>,
    clock: Clock,
    /// Each codec's conversion, with the last sequence header it sent.
    avc: Avc,
    hevc: Hevc,
    adts: Adts,
    opus: Opus,
    out: Vec<Demuxed>,
}

impl Default for Demuxer {
    fn default() -> Demuxer {
        Demuxer::new(DEFAULT_PES_LIMIT)
    }
}

impl Demuxer {
    /// A demuxer that drops any PES over `pes_limit` bytes.
    pub fn new(pes_limit: usize) -> Demuxer {
        Demuxer {
            pes_limit,
            pending: Vec::new(),
            offset: 0,
            pat: Section::default(),
            pmt: Section::default(),
            pmt_pid: None,
            video: None,
            audio: None,
            clock: Clock::default(),
            avc: Avc::default(),
            hevc: Hevc::default(),
            adts: Adts::default(),
            opus: Opus::default(),
            out: Vec::new(),
        }
    }

    /// Takes the next bytes of the stream and gives the frames (and
    /// errors) they complete. A packet is taken once the byte after it is
    /// here too, to tell a whole packet from one cut short.
    pub fn push(&mut self, data: &[u8]) -> Vec<Demuxed> {
        self.pending.extend_from_slice(data);
        let mut at = 0;
        while self.pending.len() - at > PACKET {
            at += self.step(at);
        }
        self.pending.drain(..at);
        self.offset += at as u64;
        std::mem::take(&mut self.out)
    }

    /// Ends the stream: the last packet, and the PES still open, whose end
    /// no next packet will mark.
    pub fn finish(&mut self) -> Vec<Demuxed> {
        let mut at = 0;
        while self.pending.len() - at >= PACKET {
            at += self.step(at);
        }
        if at < self.pending.len() {
            let pid = self.pending.get(at + 1..at + 3).map_or(0, pid_of);
            let len = self.pending.len() - at;
            let offset = self.offset + at as u64;
            self.out.push(Err(DemuxError::Truncated { offset, pid, len }));
        }
        self.offset += self.pending.len() as u64;
        self.pending.clear();
        for video in [true, false] {
            self.end_pes(video);
        }
        std::mem::take(&mut self.out)
    }

    /// Reads the packet (or skips the garbage) at `at` in `pending`, at
    /// least `PACKET` bytes before its end; gives the bytes used.
    fn step(&mut self, at: usize) -> usize {
        let rest = &self.pending[at..];
        let offset = self.offset + at as u64;
        if rest[0] != SYNC {
            let skip = rest[1..].iter().position(|&b| b == SYNC).map_or(rest.len(), |p| p + 1);
            self.out.push(Err(DemuxError::SyncLost { offset, byte: rest[0] }));
            return skip;
        }
        if rest.get(PACKET).is_some_and(|&b| b != SYNC) {
            // A sync byte inside that a packet later is followed by
            // another marks where this packet was cut short.
            let cut = (1..PACKET).find(|&p| rest[p] == SYNC && rest.get(p + PACKET).is_none_or(|&b| b == SYNC));
            if let Some(len) = cut {
                let pid = pid_of(&rest[1..3]);
                self.out.push(Err(DemuxError::Truncated { offset, pid, len }));
                return len;
            }
        }
        let packet: [u8; PACKET] = rest[..PACKET].try_into().expect("a whole packet");
        self.packet(&packet, offset);
        PACKET
    }

    fn packet(&mut self, p: &[u8; PACKET], offset: u64) {
        let pid = pid_of(&p[1..3]);
        let bad = |what| Err(DemuxError::BadPacket { offset, pid, what });
        if p[1] & 0x80 != 0 {
            return self.out.push(bad("the transport error indicator is set"));
        }
        let unit_start = p[1] & 0x40 != 0;
        let control = p[3] >> 6;
        let counter = p[3] & 0x0F;
        let (has_field, has_payload) = (p[3] & 0x20 != 0, p[3] & 0x10 != 0);
        let mut start = 4;
        let mut discontinuity = false;
        if has_field {
            let len = usize::from(p[4]);
            if 5 + len > PACKET || (!has_payload && 5 + len != PACKET) {
                return self.out.push(bad("the adaptation field does not fit"));
            }
            discontinuity = len > 0 && p[5] & 0x80 != 0;
            start = 5 + len;
        }
        if !has_payload {
            return;
        }
        if control != 0 {
            return self.out.push(Err(DemuxError::Scrambled { pid, control }));
        }
        let payload = &p[start..];
        if pid == PAT_PID {
            self.section(true, unit_start, payload, pid);
        } else if Some(pid) == self.pmt_pid {
            self.section(false, unit_start, payload, pid);
        } else if let Some(video) = self.pick(pid) {
            self.pes_packet(video, unit_start, counter, discontinuity, payload, offset);
        }
    }

    /// Which elementary stream `pid` is: video (true), audio, or neither.
    fn pick(&self, pid: u16) -> Option<bool> {
        let is = |e: &Option<Elementary>| e.as_ref().is_some_and(|e| e.pid == pid);
        (is(&self.video) || is(&self.audio)).then(|| is(&self.video))
    }

    fn stream(&mut self, video: bool) -> Option<&mut Elementary> {
        if video {
            self.video.as_mut()
        } else {
            self.audio.as_mut()
        }
    }

    fn pes_packet(&mut self, video: bool, unit_start: bool, counter: u8, jump: bool, payload: &[u8], offset: u64) {
        let limit = self.pes_limit;
        let Some(es) = self.stream(video) else { return };
        let last = es.counter.replace(counter);
        if let Some(last) = last.filter(|_| !jump) {
            if last == counter {
                return; // a duplicate packet, which the standard allows once
            }
            let expected = (last + 1) & 0x0F;
            if counter != expected {
                let pid = es.pid;
                es.open = false;
                es.pes.clear();
                self.out.push(Err(DemuxError::Discontinuity {
                    pid,
                    expected,
                    got: counter,
                }));
            }
        }
        if unit_start {
            self.end_pes(video);
            let Some(es) = self.stream(video) else { return };
            es.open = true;
            es.start = offset;
        }
        let Some(es) = self.stream(video) else { return };
        if !es.open {
            return;
        }
        if es.pes.len() + payload.len() > limit {
            let pid = es.pid;
            es.open = false;
            es.pes = Vec::new();
            return self.out.push(Err(DemuxError::PesTooLarge { pid, limit }));
        }
        es.pes.extend_from_slice(payload);
        // A PES that gives its length ends there, without waiting for the
        // next one to begin.
        let declared = es.pes.get(4..6).map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        if declared.is_some_and(|len| len > 0 && es.pes.len() >= 6 + len) {
            self.end_pes(video);
        }
    }

    /// Makes frames of the PES the stream gathered, if any.
    fn end_pes(&mut self, video: bool) {
        let Some(es) = self.stream(video) else { return };
        if !std::mem::take(&mut es.open) {
            return;
        }
        let pes = std::mem::take(&mut es.pes);
        let (pid, carried, offset) = (es.pid, es.carried, es.start);
        let error = match read_pes(&pes) {
            Ok((pts, dts, body)) => {
                // DTS first: the timeline starts at the first decode
                // time, which comes before the first picture's PTS when
                // pictures are reordered (B-frames).
                let dts = self.clock.unwrap(dts.unwrap_or(pts));
                let pts = self.clock.unwrap(pts);
                let (pts_ms, dts_ms) = (self.clock.ms(pts), self.clock.ms(dts));
                let out = &mut self.out;
                let result = match carried {
                    Carried::H264 => self.avc.access_unit(pts_ms, dts_ms, body, out),
                    Carried::Hevc => self.hevc.access_unit(pts_ms, dts_ms, body, out),
                    Carried::Adts => self.adts.frames(&self.clock, pts, body, out),
                    Carried::Opus(channels) => self.opus.packets(&self.clock, channels, pts, body, out),
                };
                result.err()
            }
            Err(what) => Some(what),
        };
        if let Some(what) = error {
            self.out.push(Err(DemuxError::BadPes {
                offset,
                pid,
                stream_type: carried.stream_type(),
                what,
            }));
        }
        // The buffer back, emptied, for the next PES.
        if let Some(es) = self.stream(video) {
            es.pes = pes;
            es.pes.clear();
        }
    }

    /// Gathers a PAT (`pat`) or PMT section and reads it once whole.
    fn section(&mut self, pat: bool, unit_start: bool, payload: &[u8], pid: u16) {
        let section = if pat { &mut self.pat } else { &mut self.pmt };
        if unit_start {
            let begun = payload
                .first()
                .and_then(|&pointer| payload.get(1 + usize::from(pointer)..));
            let Some(begun) = begun else {
                section.open = false;
                return self.out.push(Err(DemuxError::BadSection {
                    pid,
                    what: "the pointer field runs past the packet",
                }));
            };
            section.bytes.clear();
            section.bytes.extend_from_slice(begun);
            section.open = true;
        } else if section.open {
            section.bytes.extend_from_slice(payload);
        } else {
            return;
        }
        let Some(len) = section
            .bytes
            .get(1..3)
            .map(|b| 3 + (usize::from(b[0] & 0x0F) << 8 | usize::from(b[1])))
        else {
            return;
        };
        if !(12..=SECTION_LIMIT).contains(&len) {
            section.open = false;
            return self.out.push(Err(DemuxError::BadSection {
                pid,
                what: "its length is out of range",
            }));
        }
        if section.bytes.len() < len {
            return;
        }
        section.open = false;
        let bytes = std::mem::take(&mut section.bytes);
        let read = if crc32(&bytes[..len]) != 0 {
            Err("its CRC does not match")
        } else if pat {
            self.read_pat(&bytes[..len])
        } else {
            self.read_pmt(&bytes[..len])
        };
        if let Err(what) = read {
            self.out.push(Err(DemuxError::BadSection { pid, what }));
        }
        let section = if pat { &mut self.pat } else { &mut self.pmt };
        section.bytes = bytes;
    }

    fn read_pat(&mut self, s: &[u8]) -> Result<(), &'static str> {
        if s[0] != 0x00 {
            return Err("its table id is not the PAT's");
        }
        let programs = s[8..s.len() - 4].chunks_exact(4);
        let Some(entry) = programs.into_iter().find(|e| e[0] != 0 || e[1] != 0) else {
            return Err("it lists no program");
        };
        let pid = pid_of(&entry[2..4]);
        if self.pmt_pid != Some(pid) {
            self.pmt_pid = Some(pid);
            self.pmt = Section::default();
        }
        Ok(())
    }

    fn read_pmt(&mut self, s: &[u8]) -> Result<(), &'static str> {
        if s[0] != 0x02 {
            return Err("its table id is not the PMT's");
        }
        let info = usize::from(u16::from_be_bytes([s[10], s[11]]) & 0x0FFF);
        let mut entries = s.get(12 + info..s.len() - 4).ok_or("its program info runs past it")?;
        let (mut video, mut audio) = (None, None);
        while entries.len() >= 5 {
            let (kind, pid) = (entries[0], pid_of(&entries[1..3]));
            let info = usize::from(u16::from_be_bytes([entries[3], entries[4]]) & 0x0FFF);
            let descriptors = entries
                .get(5..5 + info)
                .ok_or("an elementary stream's info runs past it")?;
            match kind {
                H264 => video = video.or(Some((pid, Carried::H264))),
                HEVC => video = video.or(Some((pid, Carried::Hevc))),
                ADTS => audio = audio.or(Some((pid, Carried::Adts))),
                PRIVATE => audio = audio.or(opus_channels(descriptors).map(|c| (pid, Carried::Opus(c)))),
                _ => {}
            }
            entries = &entries[5 + info..];
        }
        // A stream that moved or changed starts over; one that stayed
        // keeps its PES.
        let now = |e: &Option<Elementary>| e.as_ref().map(|e| (e.pid, e.carried));
        if now(&self.video) != video {
            self.video = video.map(|(pid, carried)| Elementary::new(pid, carried));
        }
        if now(&self.audio) != audio {
            self.audio = audio.map(|(pid, carried)| Elementary::new(pid, carried));
        }
        Ok(())
    }
}

/// A frame of `kind` at `ms` on the timeline.
fn frame(kind: FrameKind, ms: i64, payload: Vec<u8>) -> Demuxed {
    Ok(Frame {
        kind,
        timestamp: RtmpTime(ms as u32),
        payload,
    })
}

/// The `channel_config_code` of a private-data stream whose descriptors
/// register it as Opus and carry Opus's extension descriptor; `None` for
/// any other, or a configuration `opus` does not support.
fn opus_channels(mut descriptors: &[u8]) -> Option<u8> {
    let (mut registered, mut channels) = (false, None);
    while let [tag, len, rest @ ..] = descriptors {
        let body = rest.get(..usize::from(*len))?;
        match (*tag, body) {
            (REGISTRATION, [b'O', b'p', b'u', b's', ..]) => registered = true,
            (EXTENSION, [OPUS_EXTENSION, code, ..]) => channels = Some(*code),
            _ => {}
        }
        descriptors = &rest[body.len()..];
    }
    channels.filter(|&c| registered && opus::is_supported(c))
}

/// The 13-bit PID in two bytes.
fn pid_of(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]]) & 0x1FFF
}

/// A PES's PTS, DTS (when given) and payload.
fn read_pes(pes: &[u8]) -> Result<(u64, Option<u64>, &[u8]), &'static str> {
    if pes.len() < 9 || pes[..3] != [0, 0, 1] {
        return Err("it does not start with a PES start code");
    }
    if pes[6] & 0xC0 != 0x80 {
        return Err("its header lacks the '10' marker");
    }
    let declared = usize::from(u16::from_be_bytes([pes[4], pes[5]]));
    let end = if declared == 0 { pes.len() } else { 6 + declared };
    let body_at = 9 + usize::from(pes[8]);
    let body = pes
        .get(body_at..end)
        .ok_or("it ends before its header or its stated length")?;
    let timestamp = |at: usize| {
        pes.get(at..at + 5).filter(|_| at + 5 <= body_at).map(|b| {
            (u64::from(b[0] >> 1 & 0x07) << 30)
                | (u64::from(b[1]) << 22)
                | (u64::from(b[2] >> 1) << 15)
                | (u64::from(b[3]) << 7)
                | u64::from(b[4] >> 1)
        })
    };
    match pes[7] >> 6 {
        2 => Ok((timestamp(9).ok_or("its PTS runs past its header")?, None, body)),
        3 => {
            let pts = timestamp(9).ok_or("its PTS runs past its header")?;
            let dts = timestamp(14).ok_or("its DTS runs past its header")?;
            Ok((pts, Some(dts), body))
        }
        _ => Err("it has no PTS"),
    }
}

#[cfg(test)]
mod tests;
