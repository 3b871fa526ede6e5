//! `ChunkEncoder`: messages to chunks with header compression, and
//! `prechunk` for frames shared by many players.
//!
//! Frames chunked once for every player can only use the chunk streams of
//! `SharedCsid` (control, metadata, audio, video), and a player's own
//! encoder (`ChunkEncoder::beside_prechunked`) writes fmt 0 headers there,
//! so it never compresses against bytes it did not write.

use std::collections::HashMap;

use super::{DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP, SharedCsid, put_basic_header};
use crate::protocol::message::Message;
use crate::protocol::time::RtmpTime;

/// What the peer's decoder remembers about one chunk stream.
#[derive(Debug, Clone, Copy)]
struct LastHeader {
    timestamp: RtmpTime,
    delta: u32,
    /// `delta` came from a fmt 1 or 2 header, so a fmt 3 header means the
    /// same to every decoder (after fmt 0 decoders disagree on it).
    delta_is_explicit: bool,
    length: u32,
    type_id: u8,
    stream_id: u32,
}

/// Encodes messages into chunks at the current outgoing chunk size.
///
/// Encoding a [`Message::SetChunkSize`] switches the encoder to that size
/// for every message after it, so the two can never disagree.
#[derive(Debug)]
pub struct ChunkEncoder {
    chunk_size: u32,
    streams: HashMap<u32, LastHeader>,
    /// Prechunked messages share the connection: no compression on
    /// their chunk streams.
    beside_prechunked: bool,
}

impl Default for ChunkEncoder {
    fn default() -> Self {
        ChunkEncoder {
            chunk_size: DEFAULT_CHUNK_SIZE,
            streams: HashMap::new(),
            beside_prechunked: false,
        }
    }
}

impl ChunkEncoder {
    /// An encoder at the default chunk size of 128 that is the only writer
    /// of its connection: it compresses headers on every chunk stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// An encoder for a connection that also carries [`prechunk`]ed bytes
    /// written without it (a server's player): on every [`SharedCsid`] it
    /// writes fmt 0 headers, which mean the same whatever came before.
    pub fn beside_prechunked() -> Self {
        ChunkEncoder {
            beside_prechunked: true,
            ..Self::default()
        }
    }

    /// The current outgoing chunk size.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Appends `message` as chunks on `csid`.
    pub fn encode(&mut self, csid: u32, timestamp: RtmpTime, stream_id: u32, message: &Message, out: &mut Vec<u8>) {
        let mut payload = Vec::new();
        message.encode(&mut payload);
        self.encode_raw(csid, timestamp, message.type_id(), stream_id, &payload, out);
        if let Message::SetChunkSize(size) = message {
            self.chunk_size = (*size).max(1);
        }
    }

    /// Appends a payload of `type_id` as chunks on `csid`, choosing the
    /// smallest header the peer can decode unambiguously.
    pub fn encode_raw(
        &mut self,
        csid: u32,
        timestamp: RtmpTime,
        type_id: u8,
        stream_id: u32,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) {
        let length = payload.len() as u32;
        let compressible = !(self.beside_prechunked && SharedCsid::is_shared(csid));
        let previous = self
            .streams
            .get(&csid)
            .filter(|p| compressible && p.stream_id == stream_id && timestamp.is_at_or_after(p.timestamp));
        let (fmt, field) = match previous {
            None => (0, timestamp.0),
            Some(p) => {
                let delta = timestamp.delta_since(p.timestamp);
                if p.length != length || p.type_id != type_id {
                    (1, delta)
                } else if p.delta_is_explicit && p.delta == delta {
                    (3, delta)
                } else {
                    (2, delta)
                }
            }
        };
        put_chunks(fmt, csid, field, type_id, stream_id, payload, self.chunk_size, out);
        self.streams.insert(
            csid,
            LastHeader {
                timestamp,
                delta: field,
                delta_is_explicit: fmt != 0,
                length,
                type_id,
                stream_id,
            },
        );
    }
}

/// Chunks one message with a fmt 0 header (absolute timestamp), so the same
/// bytes are valid on every connection whose peer knows `chunk_size`. This
/// is how a published frame is chunked once and written to many players.
pub fn prechunk(
    csid: SharedCsid,
    timestamp: RtmpTime,
    type_id: u8,
    stream_id: u32,
    payload: &[u8],
    chunk_size: u32,
) -> Vec<u8> {
    let chunks = payload.len() / chunk_size.max(1) as usize + 1;
    let mut out = Vec::with_capacity(payload.len() + 16 + chunks * 8);
    put_chunks(
        0,
        csid.id(),
        timestamp.0,
        type_id,
        stream_id,
        payload,
        chunk_size,
        &mut out,
    );
    out
}

#[allow(clippy::too_many_arguments)]
fn put_chunks(
    fmt: u8,
    csid: u32,
    timestamp_field: u32,
    type_id: u8,
    stream_id: u32,
    payload: &[u8],
    chunk_size: u32,
    out: &mut Vec<u8>,
) {
    let extended = timestamp_field >= EXTENDED_TIMESTAMP;
    let field = timestamp_field.min(EXTENDED_TIMESTAMP);
    put_basic_header(fmt, csid, out);
    if fmt <= 2 {
        out.extend_from_slice(&field.to_be_bytes()[1..]);
    }
    if fmt <= 1 {
        out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
        out.push(type_id);
    }
    if fmt == 0 {
        out.extend_from_slice(&stream_id.to_le_bytes());
    }
    if extended {
        out.extend_from_slice(&timestamp_field.to_be_bytes());
    }
    let mut pieces = payload.chunks(chunk_size.max(1) as usize);
    if let Some(first) = pieces.next() {
        out.extend_from_slice(first);
    }
    for piece in pieces {
        put_basic_header(3, csid, out);
        // Interop: ffmpeg and librtmp expect the extended timestamp again on
        // every continuation chunk.
        if extended {
            out.extend_from_slice(&timestamp_field.to_be_bytes());
        }
        out.extend_from_slice(piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::chunk::{ChunkDecoder, DecoderLimits};
    use crate::protocol::message::RawMessage;

    #[test]
    fn prechunked_bytes_read_back_through_the_decoder() {
        let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        for chunk_size in [1, 7, 128, 999, 1000, 1001, 4096] {
            for timestamp in [0, 40, EXTENDED_TIMESTAMP - 1, EXTENDED_TIMESTAMP, u32::MAX] {
                for body in [&payload[..], &payload[..1], &[][..]] {
                    let mut bytes = Vec::new();
                    let set_chunk_size = Message::SetChunkSize(chunk_size);
                    ChunkEncoder::new().encode(2, RtmpTime(0), 0, &set_chunk_size, &mut bytes);
                    bytes.extend(prechunk(SharedCsid::Video, RtmpTime(timestamp), 9, 1, body, chunk_size));
                    let mut d = ChunkDecoder::new(DecoderLimits::default());
                    d.push(&bytes);
                    let _set_chunk_size = d.next_message().unwrap();
                    let message = d.next_message().unwrap().expect("the prechunked message");
                    assert_eq!((message.csid, message.type_id, message.stream_id), (7, 9, 1));
                    assert_eq!(message.timestamp, RtmpTime(timestamp));
                    assert_eq!(message.payload, body, "chunk size {chunk_size}, timestamp {timestamp}");
                    assert_eq!(d.buffered(), 0, "nothing left over");
                }
            }
        }
    }

    #[test]
    fn compresses_headers_byte_exact() {
        let mut e = ChunkEncoder::new();
        let mut out = Vec::new();
        e.encode_raw(6, RtmpTime(10), 8, 1, &[0xAA], &mut out);
        e.encode_raw(6, RtmpTime(30), 8, 1, &[0xBB], &mut out);
        e.encode_raw(6, RtmpTime(50), 8, 1, &[0xCC], &mut out);
        e.encode_raw(6, RtmpTime(60), 9, 1, &[0xDD, 0xEE], &mut out);
        assert_eq!(
            out,
            vec![
                0x06, 0, 0, 10, 0, 0, 1, 8, 1, 0, 0, 0, 0xAA, // fmt 0
                0x86, 0, 0, 20, 0xBB, // fmt 2: same length and type, delta 20
                0xC6, 0xCC, // fmt 3: same delta
                0x46, 0, 0, 10, 0, 0, 2, 9, 0xDD, 0xEE, // fmt 1: new length and type
            ]
        );
    }

    #[test]
    fn shared_csids_beside_prechunked_bytes_and_backwards_time_use_fmt0() {
        for shared in SharedCsid::ALL {
            let mut e = ChunkEncoder::beside_prechunked();
            let mut out = Vec::new();
            e.encode(shared.id(), RtmpTime(0), 0, &Message::Acknowledgement(1), &mut out);
            e.encode(shared.id(), RtmpTime(0), 0, &Message::Acknowledgement(2), &mut out);
            assert_eq!(out[0], shared.id() as u8, "fmt 0");
            assert_eq!(out[16], shared.id() as u8, "fmt 0 again");
        }
        // The only writer of its connection compresses there too.
        let mut e = ChunkEncoder::new();
        let mut out = Vec::new();
        e.encode(2, RtmpTime(0), 0, &Message::Acknowledgement(1), &mut out);
        e.encode(2, RtmpTime(0), 0, &Message::Acknowledgement(2), &mut out);
        assert_eq!(out[16], 0x82, "fmt 2");
        let mut e = ChunkEncoder::beside_prechunked();
        let mut out = Vec::new();
        e.encode_raw(7, RtmpTime(100), 9, 1, &[1], &mut out);
        e.encode_raw(7, RtmpTime(50), 9, 1, &[1], &mut out);
        assert_eq!(out[13], 0x07);
    }

    #[test]
    fn prechunk_splits_at_chunk_size_with_extended_timestamps() {
        let out = prechunk(SharedCsid::Video, RtmpTime(0x0100_0000), 9, 1, &[5; 6], 4);
        assert_eq!(
            out,
            vec![
                0x07, 0xFF, 0xFF, 0xFF, 0, 0, 6, 9, 1, 0, 0, 0, // fmt 0, extended marker
                0x01, 0, 0, 0, // extended timestamp
                5, 5, 5, 5, //
                0xC7, 0x01, 0, 0, 0, // fmt 3 repeats the extended timestamp
                5, 5,
            ]
        );
    }

    #[test]
    fn round_trips_through_the_decoder_across_chunk_size_changes() {
        let mut e = ChunkEncoder::new();
        let mut d = ChunkDecoder::new(DecoderLimits::default());
        let mut out = Vec::new();
        let mut sent = Vec::new();
        for (i, ts) in [0u32, 33, 66, 99, 0x00FF_FFFF, 0x0100_0020, 5].into_iter().enumerate() {
            if i == 3 {
                e.encode(2, RtmpTime(0), 0, &Message::SetChunkSize(60), &mut out);
                sent.push(RawMessage {
                    csid: 2,
                    timestamp: RtmpTime(0),
                    type_id: 1,
                    stream_id: 0,
                    payload: vec![0, 0, 0, 60],
                });
            }
            let payload: Vec<u8> = (0..(100 + i * 50)).map(|b| b as u8).collect();
            e.encode_raw(364, RtmpTime(ts), 9, 1, &payload, &mut out);
            sent.push(RawMessage {
                csid: 364,
                timestamp: RtmpTime(ts),
                type_id: 9,
                stream_id: 1,
                payload,
            });
        }
        d.push(&out);
        let mut got = Vec::new();
        while let Some(m) = d.next_message().unwrap() {
            got.push(m);
        }
        assert_eq!(got, sent);
    }
}
