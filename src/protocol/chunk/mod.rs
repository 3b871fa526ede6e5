//! The chunk stream (RTMP 1.0 §5.3): messages cut into chunks with
//! compressed headers, interleaved on chunk stream ids (csid).
//!
//! ```text
//! basic header   fmt(2 bits) csid(6 bits) [+1 or +2 bytes for csid >= 64]
//! message header fmt 0: timestamp(3) length(3) type(1) stream id(4, LE)
//!                fmt 1: timestamp delta(3) length(3) type(1)
//!                fmt 2: timestamp delta(3)
//!                fmt 3: nothing
//! extended ts    4 bytes when the 3-byte field is 0xFFFFFF; repeated on fmt 3
//!                chunks of such a message, as ffmpeg and librtmp send them
//! ```
//!
//! In scope: decoding every fmt and csid width, extended timestamps, Set
//! Chunk Size and Abort applied by the decoder itself, limits on what a peer
//! controls; encoding with header compression and `prechunk` for fan-out.
//! Out of scope: what the messages mean (`message`).

mod decoder;
mod encoder;

pub use decoder::{ChunkDecoder, ChunkError, DecoderLimits};
pub use encoder::{ChunkEncoder, prechunk};

/// Chunk size both sides start with (§5.4.1).
pub const DEFAULT_CHUNK_SIZE: u32 = 128;
/// Largest chunk size the spec allows (31 bits); also the largest accepted.
pub const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;
/// The 3-byte timestamp value that says "read the extended timestamp".
pub const EXTENDED_TIMESTAMP: u32 = 0xFF_FFFF;

/// Well-known chunk stream ids used by this server when sending.
pub mod csid {
    /// Protocol control and user control messages (§5.4, §6.2).
    pub const CONTROL: u32 = 2;
    /// Command replies and `onStatus`.
    pub const COMMAND: u32 = 3;
    /// Data messages (`onMetaData`, `|RtmpSampleAccess`).
    pub const DATA: u32 = 5;
    /// Audio.
    pub const AUDIO: u32 = 6;
    /// Video.
    pub const VIDEO: u32 = 7;
}

/// The chunk streams of messages chunked once for many players
/// ([`prechunk`]): the only csids such bytes can use. They reach a player
/// beside what its connection's encoder writes, so an encoder
/// [`beside_prechunked`](ChunkEncoder::beside_prechunked) bytes never
/// compresses a header on one of them: the peer's state there is set by
/// bytes the encoder did not see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedCsid {
    /// User control events from the fan-out (StreamBegin, StreamEOF).
    Control,
    /// `onMetaData`.
    Data,
    /// Audio frames.
    Audio,
    /// Video frames.
    Video,
}

impl SharedCsid {
    /// Every shared chunk stream.
    pub const ALL: [SharedCsid; 4] = [
        SharedCsid::Control,
        SharedCsid::Data,
        SharedCsid::Audio,
        SharedCsid::Video,
    ];

    /// The chunk stream id.
    pub fn id(self) -> u32 {
        match self {
            SharedCsid::Control => csid::CONTROL,
            SharedCsid::Data => csid::DATA,
            SharedCsid::Audio => csid::AUDIO,
            SharedCsid::Video => csid::VIDEO,
        }
    }

    /// True when prechunked messages may use `csid`.
    pub fn is_shared(csid: u32) -> bool {
        SharedCsid::ALL.iter().any(|shared| shared.id() == csid)
    }
}

/// Appends a basic header for `fmt` and `csid` (§5.3.1.1).
fn put_basic_header(fmt: u8, csid: u32, out: &mut Vec<u8>) {
    debug_assert!((2..=65599).contains(&csid), "csid {csid} out of range");
    let fmt_bits = fmt << 6;
    match csid {
        2..=63 => out.push(fmt_bits | csid as u8),
        64..=319 => out.extend_from_slice(&[fmt_bits, (csid - 64) as u8]),
        _ => {
            let id = csid - 64;
            out.extend_from_slice(&[fmt_bits | 1, id as u8, (id >> 8) as u8]);
        }
    }
}
