//! `ChunkDecoder`: bytes in, whole messages out.

use std::collections::HashMap;
use std::fmt;

use super::{DEFAULT_CHUNK_SIZE, EXTENDED_TIMESTAMP, MAX_CHUNK_SIZE};
use crate::protocol::message::{RawMessage, type_id};
use crate::protocol::reader::{Incomplete, Reader};
use crate::protocol::time::RtmpTime;

/// A read buffer larger than twice this and twice what it holds is shrunk.
const SHRINK_FLOOR: usize = 64 * 1024;

/// Limits on what a peer controls in the chunk stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderLimits {
    /// Largest message length accepted, in bytes.
    pub max_message_len: u32,
    /// Most chunk stream ids a connection may use.
    pub max_chunk_streams: usize,
    /// Most bytes held at once: unfinished messages over all chunk streams
    /// (a peer could otherwise start a long message on every one) and the
    /// unfinished chunk waiting in the read buffer.
    pub max_partial_bytes: usize,
    /// Largest chunk size the peer may announce (a bigger one gains it
    /// nothing: no message is longer than `max_message_len`).
    pub max_chunk_size: u32,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            // Interop: a 20 Mbit/s stream's keyframes pass 1 MiB (nginx-rtmp's
            // 1 MiB default disconnects such publishers).
            max_message_len: 16 * 1024 * 1024,
            max_chunk_streams: 64,
            max_partial_bytes: 32 * 1024 * 1024,
            max_chunk_size: 16 * 1024 * 1024,
        }
    }
}

impl DecoderLimits {
    /// `Ok` while `bytes` held fit `max_partial_bytes`.
    fn check_held(&self, bytes: usize) -> Result<(), ChunkError> {
        if bytes > self.max_partial_bytes {
            return Err(ChunkError::TooMuchPartialData {
                limit: self.max_partial_bytes,
            });
        }
        Ok(())
    }
}

/// What was wrong with the chunk stream. Each one ends the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChunkError {
    /// Set Chunk Size asked for 0 (the top bit is already masked off).
    InvalidChunkSize(u32),
    /// Set Chunk Size asked for more than the limit.
    ChunkSizeTooLarge {
        /// The size asked for.
        size: u32,
        /// The limit in force.
        limit: u32,
    },
    /// A message header announced more bytes than the limit.
    MessageTooLong {
        /// The announced length.
        len: u32,
        /// The limit in force.
        limit: u32,
    },
    /// The peer opened more chunk streams than the limit.
    TooManyChunkStreams {
        /// The csid that went over.
        csid: u32,
        /// The limit in force.
        limit: usize,
    },
    /// Unfinished messages together passed the limit.
    TooMuchPartialData {
        /// The limit in force.
        limit: usize,
    },
    /// Set Chunk Size or Abort with a payload shorter than 4 bytes.
    ShortControlMessage {
        /// Its type id.
        type_id: u8,
    },
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkError::InvalidChunkSize(size) => write!(f, "chunk size {size} is invalid"),
            ChunkError::ChunkSizeTooLarge { size, limit } => write!(f, "chunk size {size} exceeds limit {limit}"),
            ChunkError::MessageTooLong { len, limit } => {
                write!(f, "message length {len} exceeds limit {limit}")
            }
            ChunkError::TooManyChunkStreams { csid, limit } => {
                write!(f, "chunk stream {csid} exceeds the limit of {limit} chunk streams")
            }
            ChunkError::TooMuchPartialData { limit } => {
                write!(f, "unfinished messages and chunks exceed the limit of {limit} bytes")
            }
            ChunkError::ShortControlMessage { type_id } => {
                write!(f, "control message type {type_id} is shorter than 4 bytes")
            }
        }
    }
}

impl std::error::Error for ChunkError {}

/// Per-csid header state (§5.3.1.2: later headers inherit from earlier ones).
#[derive(Debug, Default)]
struct ChunkStream {
    timestamp: RtmpTime,
    /// The last timestamp field: the delta a fmt 3 header repeats. After a
    /// fmt 0 header it is the absolute value, as ffmpeg reads and writes it.
    delta: u32,
    length: u32,
    type_id: u8,
    stream_id: u32,
    /// The last header carried an extended timestamp, so fmt 3 chunks do too.
    extended: bool,
    /// Bytes of the message being assembled; empty between messages.
    payload: Vec<u8>,
}

/// Decodes a chunk stream into messages, one `next_message` at a time.
///
/// Set Chunk Size and Abort are applied by the decoder before it reads the
/// next chunk (and still returned, for the record).
#[derive(Debug)]
pub struct ChunkDecoder {
    /// Bytes from the peer: `pos..end` not yet decoded; past `end`, room
    /// for the next read (see `unfilled`).
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    chunk_size: u32,
    limits: DecoderLimits,
    streams: HashMap<u32, ChunkStream>,
    /// Bytes allocated for unfinished messages, over all chunk streams.
    partial_bytes: usize,
}

/// A parsed chunk header, not yet applied to the chunk stream's state.
struct Header {
    fmt: u8,
    csid: u32,
    timestamp_field: Option<u32>,
    length: Option<u32>,
    type_id: Option<u8>,
    stream_id: Option<u32>,
    extended: bool,
}

impl ChunkDecoder {
    /// A decoder at the default chunk size of 128.
    pub fn new(limits: DecoderLimits) -> Self {
        ChunkDecoder {
            buf: Vec::new(),
            pos: 0,
            end: 0,
            chunk_size: DEFAULT_CHUNK_SIZE,
            limits,
            streams: HashMap::new(),
            partial_bytes: 0,
        }
    }

    /// The peer's current chunk size.
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Changes the limits from the next chunk on (a server allows more
    /// once a publish is accepted). What is already held is not re-checked
    /// until more arrives.
    pub fn set_limits(&mut self, limits: DecoderLimits) {
        self.limits = limits;
    }

    /// Bytes received and not yet handed out: unfinished messages and the
    /// unfinished chunk in the read buffer. What `max_partial_bytes` limits.
    /// (The buffer's empty room is at most twice this or 128 KiB: it
    /// shrinks after a large chunk.)
    pub fn held(&self) -> usize {
        self.partial_bytes + self.buffered()
    }

    /// Appends bytes read from the peer.
    pub fn push(&mut self, bytes: &[u8]) {
        if let Some(room) = self.unfilled(bytes.len()).get_mut(..bytes.len()) {
            room.copy_from_slice(bytes);
            self.filled(bytes.len());
        }
    }

    /// Room for at least `min` bytes after those not yet decoded, to read
    /// from the peer into directly; then `filled` says how many were read.
    /// Saves `push`'s copy of every byte, which shows in the profile of a
    /// load tool reading many players.
    pub fn unfilled(&mut self, min: usize) -> &mut [u8] {
        if self.pos > 0 {
            // Only an unfinished chunk is left to move.
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        let wanted = self.end + min;
        if self.buf.len() < wanted {
            self.buf.resize(wanted, 0);
        } else if self.buf.len() > 2 * wanted.max(SHRINK_FLOOR) {
            // A large chunk has been decoded: give its room back rather
            // than hold it for the life of the connection.
            self.buf.truncate(wanted);
            self.buf.shrink_to_fit();
        }
        self.buf.get_mut(self.end..).unwrap_or_default()
    }

    /// Takes in `n` bytes read into `unfilled`'s slice.
    pub fn filled(&mut self, n: usize) {
        assert!(
            self.end + n <= self.buf.len(),
            "filled({n}) with room for {}",
            self.buf.len() - self.end
        );
        self.end += n;
    }

    /// Bytes pushed but not yet decoded.
    pub fn buffered(&self) -> usize {
        self.end - self.pos
    }

    /// The next complete message, `Ok(None)` when more bytes are needed.
    pub fn next_message(&mut self) -> Result<Option<RawMessage>, ChunkError> {
        // The buffer is moved out while chunks are read from it, so the
        // per-csid state can change as each chunk is applied.
        let buf = std::mem::take(&mut self.buf);
        let result = self.decode_from(buf.get(..self.end).unwrap_or_default());
        self.buf = buf;
        result
    }

    fn decode_from(&mut self, buf: &[u8]) -> Result<Option<RawMessage>, ChunkError> {
        loop {
            let mut r = Reader::new(buf.get(self.pos..).unwrap_or_default());
            let header = match self.read_header(&mut r) {
                Ok(header) => header,
                Err(Incomplete) => return self.incomplete(),
            };
            let message = match self.read_chunk(header, &mut r)? {
                None if r.position() == 0 => return self.incomplete(),
                other => other,
            };
            self.pos += r.position();
            if let Some(message) = message {
                self.apply_control(&message)?;
                return Ok(Some(message));
            }
        }
    }

    /// More bytes are needed: fine while the unfinished chunk waiting for
    /// them and the unfinished messages fit the limit together (a chunk
    /// can be as long as the chunk size, up to 16 MiB).
    fn incomplete(&self) -> Result<Option<RawMessage>, ChunkError> {
        self.limits.check_held(self.held())?;
        Ok(None)
    }

    fn read_header(&self, r: &mut Reader<'_>) -> Result<Header, Incomplete> {
        let b0 = r.u8()?;
        let fmt = b0 >> 6;
        let csid = match b0 & 0x3F {
            0 => 64 + r.u8()? as u32,
            1 => {
                let low = r.u8()? as u32;
                64 + low + ((r.u8()? as u32) << 8)
            }
            id => id as u32,
        };
        let mut h = Header {
            fmt,
            csid,
            timestamp_field: None,
            length: None,
            type_id: None,
            stream_id: None,
            extended: false,
        };
        if fmt <= 2 {
            h.timestamp_field = Some(r.u24()?);
        }
        if fmt <= 1 {
            h.length = Some(r.u24()?);
            h.type_id = Some(r.u8()?);
        }
        if fmt == 0 {
            h.stream_id = Some(r.u32_le()?);
        }
        match h.timestamp_field {
            Some(EXTENDED_TIMESTAMP) => {
                h.timestamp_field = Some(r.u32()?);
                h.extended = true;
            }
            Some(_) => {}
            None => {
                // Interop: ffmpeg and librtmp repeat the extended timestamp
                // on fmt 3 chunks of a message whose header carried one.
                // The value only repeats what the chunk stream already has.
                if self.streams.get(&csid).is_some_and(|s| s.extended) {
                    r.u32()?;
                    h.extended = true;
                }
            }
        }
        Ok(h)
    }

    /// Reads the chunk's payload and applies its header. Returns the message
    /// when this chunk completes one. Leaves all state untouched when the
    /// payload is not all there (the reader then shows position 0).
    fn read_chunk(&mut self, h: Header, r: &mut Reader<'_>) -> Result<Option<RawMessage>, ChunkError> {
        if !self.streams.contains_key(&h.csid) && self.streams.len() >= self.limits.max_chunk_streams {
            return Err(ChunkError::TooManyChunkStreams {
                csid: h.csid,
                limit: self.limits.max_chunk_streams,
            });
        }
        // Interop: librtmp opens a chunk stream with fmt 1 and FMLE with fmt
        // 3, so a first header that is not fmt 0 inherits zeros.
        let state = self.streams.entry(h.csid).or_default();
        let continuing = !state.payload.is_empty();
        // A non-fmt-3 header in the middle of a message starts a new one: the
        // partial message is dropped rather than glued to the wrong bytes.
        let restart = continuing && h.fmt != 3;
        let length = if continuing && !restart {
            state.length
        } else {
            h.length.unwrap_or(state.length)
        };
        if length > self.limits.max_message_len {
            return Err(ChunkError::MessageTooLong {
                len: length,
                limit: self.limits.max_message_len,
            });
        }
        let have = if restart { 0 } else { state.payload.len() as u32 };
        let take = (length - have).min(self.chunk_size);
        let Ok(body) = r.take(take as usize) else {
            *r = Reader::new(&[]);
            return Ok(None);
        };
        if restart {
            self.partial_bytes -= state.payload.capacity();
            state.payload = Vec::new();
        }
        // Room for the body: doubling as a Vec would, but never past the
        // message's length, and counted as allocated, so that what the
        // limit counts is what is held.
        let old_capacity = state.payload.capacity();
        let needed = state.payload.len() + body.len();
        let grow_to = if needed > old_capacity {
            needed.max((2 * old_capacity).min(length as usize))
        } else {
            old_capacity
        };
        self.limits.check_held(self.partial_bytes + (grow_to - old_capacity))?;
        if state.payload.is_empty() {
            match h.fmt {
                0 => {
                    let field = h.timestamp_field.unwrap_or(0);
                    state.timestamp = RtmpTime(field);
                    state.delta = field;
                }
                1 | 2 => {
                    state.delta = h.timestamp_field.unwrap_or(0);
                    state.timestamp = state.timestamp.wrapping_add(state.delta);
                }
                _ => state.timestamp = state.timestamp.wrapping_add(state.delta),
            }
            if let Some(len) = h.length {
                state.length = len;
            }
            if let Some(type_id) = h.type_id {
                state.type_id = type_id;
            }
            if let Some(stream_id) = h.stream_id {
                state.stream_id = stream_id;
            }
            if h.fmt != 3 {
                state.extended = h.extended;
            }
        }
        state.payload.reserve_exact(grow_to - state.payload.len());
        self.partial_bytes += state.payload.capacity() - old_capacity;
        state.payload.extend_from_slice(body);
        if state.payload.len() as u32 == state.length {
            self.partial_bytes -= state.payload.capacity();
            return Ok(Some(RawMessage {
                csid: h.csid,
                timestamp: state.timestamp,
                type_id: state.type_id,
                stream_id: state.stream_id,
                payload: std::mem::take(&mut state.payload),
            }));
        }
        Ok(None)
    }

    fn apply_control(&mut self, message: &RawMessage) -> Result<(), ChunkError> {
        if message.stream_id != 0 && message.csid != 2 {
            // Control messages arrive on stream 0; anything else is not ours
            // to act on.
            return Ok(());
        }
        let value = || {
            Reader::new(&message.payload)
                .u32()
                .map_err(|_| ChunkError::ShortControlMessage {
                    type_id: message.type_id,
                })
        };
        match message.type_id {
            type_id::SET_CHUNK_SIZE => {
                let size = value()? & MAX_CHUNK_SIZE;
                if size == 0 {
                    return Err(ChunkError::InvalidChunkSize(size));
                }
                if size > self.limits.max_chunk_size {
                    return Err(ChunkError::ChunkSizeTooLarge {
                        size,
                        limit: self.limits.max_chunk_size,
                    });
                }
                self.chunk_size = size;
            }
            type_id::ABORT => {
                if let Some(stream) = self.streams.get_mut(&value()?) {
                    self.partial_bytes -= stream.payload.capacity();
                    stream.payload = Vec::new();
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message a fresh decoder yields when fed `pieces` in turn, and
    /// the bytes it still holds at the end. Every other piece is read into
    /// `unfilled` room larger than it, as a socket read would, instead of
    /// pushed.
    fn decode_pieces(pieces: &[&[u8]]) -> (Vec<RawMessage>, usize) {
        let mut d = ChunkDecoder::new(DecoderLimits::default());
        let mut out = Vec::new();
        for (i, piece) in pieces.iter().enumerate() {
            if i % 2 == 0 {
                d.push(piece);
            } else {
                d.unfilled(piece.len() + 7)[..piece.len()].copy_from_slice(piece);
                d.filled(piece.len());
            }
            while let Some(m) = d.next_message().unwrap() {
                out.push(m);
            }
        }
        (out, d.buffered())
    }

    /// Feeds `bytes` whole, split at every point, and one byte at a time, and
    /// checks each way yields `expected` and leaves nothing buffered.
    fn split_everywhere(bytes: &[u8], expected: &[RawMessage]) {
        let run = |pieces: &[&[u8]]| {
            let (out, left) = decode_pieces(pieces);
            assert_eq!(left, 0);
            out
        };
        assert_eq!(run(&[bytes]), expected, "whole");
        for split in 1..bytes.len() {
            assert_eq!(run(&[&bytes[..split], &bytes[split..]]), expected, "split at {split}");
        }
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(run(&singles), expected, "byte at a time");
    }

    fn msg(csid: u32, ts: u32, type_id: u8, stream_id: u32, payload: &[u8]) -> RawMessage {
        RawMessage {
            csid,
            timestamp: RtmpTime(ts),
            type_id,
            stream_id,
            payload: payload.to_vec(),
        }
    }

    #[test]
    fn fmt0_then_fmt1_fmt2_fmt3_accumulate_timestamps() {
        let bytes = [
            0x04, 0, 0, 10, 0, 0, 2, 8, 1, 0, 0, 0, // fmt 0, csid 4, ts 10, len 2, audio, msid 1
            0xAA, 0xBB, //
            0x44, 0, 0, 5, 0, 0, 1, 9,    // fmt 1, csid 4, delta 5, len 1, video
            0xCC, //
            0x84, 0, 0, 7,    // fmt 2, csid 4, delta 7
            0xDD, //
            0xC4, // fmt 3, csid 4: delta 7 again
            0xEE,
        ];
        split_everywhere(
            &bytes,
            &[
                msg(4, 10, 8, 1, &[0xAA, 0xBB]),
                msg(4, 15, 9, 1, &[0xCC]),
                msg(4, 22, 9, 1, &[0xDD]),
                msg(4, 29, 9, 1, &[0xEE]),
            ],
        );
    }

    #[test]
    fn fmt3_after_fmt0_repeats_the_timestamp_field_as_a_delta() {
        // Interop: ffmpeg writes fmt 3 after fmt 0 when the new delta equals
        // the previous field, and reads it back that way.
        let bytes = [
            0x06, 0, 0, 40, 0, 0, 1, 8, 1, 0, 0, 0, 0x01, // fmt 0 ts 40
            0xC6, 0x02, // fmt 3: ts 80
        ];
        split_everywhere(&bytes, &[msg(6, 40, 8, 1, &[1]), msg(6, 80, 8, 1, &[2])]);
    }

    #[test]
    fn message_longer_than_chunk_size_spans_fmt3_chunks() {
        let mut bytes = vec![0x03, 0, 0, 0, 0, 0, 200, 20, 0, 0, 0, 0];
        bytes.extend_from_slice(&[1; 128]);
        bytes.push(0xC3);
        bytes.extend_from_slice(&[2; 72]);
        let mut payload = vec![1; 128];
        payload.extend_from_slice(&[2; 72]);
        split_everywhere(&bytes, &[msg(3, 0, 20, 0, &payload)]);
    }

    #[test]
    fn extended_timestamp_on_fmt0_and_on_fmt3_continuations() {
        let mut bytes = vec![
            0x07, 0xFF, 0xFF, 0xFF, 0, 0, 130, 9, 1, 0, 0, 0, // fmt 0, ts = extended
            0x01, 0x00, 0x00, 0x00, // extended ts 0x01000000
        ];
        bytes.extend_from_slice(&[9; 128]);
        bytes.extend_from_slice(&[0xC7, 0x01, 0x00, 0x00, 0x00]); // fmt 3 repeats it
        bytes.extend_from_slice(&[8; 2]);
        let mut payload = vec![9; 128];
        payload.extend_from_slice(&[8; 2]);
        split_everywhere(&bytes, &[msg(7, 0x0100_0000, 9, 1, &payload)]);
    }

    #[test]
    fn set_chunk_size_applies_to_the_next_chunk_mid_message_elsewhere() {
        // A 300-byte video message is cut at 128; between its chunks the peer
        // raises the chunk size on csid 2, so the rest arrives in one chunk.
        let mut bytes = vec![0x06, 0, 0, 0, 0, 1, 44, 9, 1, 0, 0, 0]; // len 300
        bytes.extend_from_slice(&[1; 128]);
        bytes.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x10, 0]); // SetChunkSize 4096
        bytes.push(0xC6);
        bytes.extend_from_slice(&[2; 172]);
        let mut payload = vec![1; 128];
        payload.extend_from_slice(&[2; 172]);
        split_everywhere(&bytes, &[msg(2, 0, 1, 0, &[0, 0, 0x10, 0]), msg(6, 0, 9, 1, &payload)]);
    }

    #[test]
    fn two_and_three_byte_csids() {
        let bytes = [
            0x00, 0x00, 0, 0, 1, 0, 0, 1, 8, 0, 0, 0, 0, 0xA1, // csid 64 (2-byte form)
            0x01, 0xFF, 0xFF, 0, 0, 2, 0, 0, 1, 8, 0, 0, 0, 0, 0xA2, // csid 65599 (3-byte form)
            0x01, 0x2C, 0x01, 0, 0, 3, 0, 0, 1, 8, 0, 0, 0, 0, 0xA3, // csid 64+300 (3-byte form)
        ];
        split_everywhere(
            &bytes,
            &[
                msg(64, 1, 8, 0, &[0xA1]),
                msg(65599, 2, 8, 0, &[0xA2]),
                msg(364, 3, 8, 0, &[0xA3]),
            ],
        );
    }

    #[test]
    fn abort_discards_the_partial_message() {
        let mut bytes = vec![0x05, 0, 0, 0, 0, 0, 200, 18, 1, 0, 0, 0];
        bytes.extend_from_slice(&[1; 128]);
        bytes.extend_from_slice(&[0x02, 0, 0, 0, 0, 0, 4, 2, 0, 0, 0, 0, 0, 0, 0, 5]); // Abort csid 5
        bytes.extend_from_slice(&[0x45, 0, 0, 1, 0, 0, 1, 18, 0x7F]); // fmt 1, a new 1-byte message
        split_everywhere(&bytes, &[msg(2, 0, 2, 0, &[0, 0, 0, 5]), msg(5, 1, 18, 1, &[0x7F])]);
    }

    /// Decodes a captured client-to-server stream whole, one byte at a time,
    /// and split at every point of its first `split_prefix` bytes.
    fn decode_capture(bytes: &[u8], split_prefix: usize) -> Vec<RawMessage> {
        let decode = |pieces: &[&[u8]]| decode_pieces(pieces).0;
        let whole = decode(&[bytes]);
        let singles: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(decode(&singles), whole, "byte at a time");
        let prefix = &bytes[..split_prefix];
        let expected = decode(&[prefix]);
        for split in 1..prefix.len() {
            assert_eq!(
                decode(&[&prefix[..split], &prefix[split..]]),
                expected,
                "split at {split}"
            );
        }
        whole
    }

    fn command_names(messages: &[RawMessage]) -> Vec<String> {
        messages
            .iter()
            .filter(|m| m.type_id == 20)
            .map(|m| {
                crate::protocol::amf0::decode_all(&m.payload).unwrap()[0]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn ffmpeg_publish_capture() {
        // tests/data/README.md: ffmpeg 5.1 publishing 1 s of H.264/AAC.
        let messages = decode_capture(include_bytes!("../../../tests/data/ffmpeg-publish.bin"), 1200);
        assert_eq!(
            command_names(&messages),
            [
                "connect",
                "releaseStream",
                "FCPublish",
                "createStream",
                "_checkbw",
                "publish",
                "FCUnpublish",
                "deleteStream"
            ]
        );
        assert_eq!(messages.iter().filter(|m| m.type_id == 9).count(), 27);
        assert_eq!(messages.iter().filter(|m| m.type_id == 8).count(), 46);
        // ffmpeg raises its chunk size right after connect.
        assert_eq!(messages[1].type_id, 1);
    }

    #[test]
    fn ffmpeg_play_capture() {
        let messages = decode_capture(include_bytes!("../../../tests/data/ffmpeg-play.bin"), 438);
        assert_eq!(
            command_names(&messages),
            [
                "connect",
                "createStream",
                "_checkbw",
                "getStreamLength",
                "play",
                "deleteStream"
            ]
        );
    }

    #[test]
    fn gstreamer_publish_capture() {
        let messages = decode_capture(include_bytes!("../../../tests/data/gst-publish.bin"), 1200);
        assert_eq!(
            command_names(&messages),
            [
                "connect",
                "releaseStream",
                "FCPublish",
                "createStream",
                "publish",
                "FCUnpublish",
                "deleteStream"
            ]
        );
        assert_eq!(messages.iter().filter(|m| m.type_id == 9).count(), 27);
    }

    #[test]
    fn a_shorter_header_in_the_middle_of_a_message_restarts_it() {
        // Found by fuzzing: a fmt 1 header with a smaller length arriving
        // mid-message once made the decoder subtract past zero.
        let mut bytes = vec![0x04, 0, 0, 0, 0, 0, 200, 8, 1, 0, 0, 0];
        bytes.extend_from_slice(&[1; 128]); // 128 of 200 bytes
        bytes.extend_from_slice(&[0x44, 0, 0, 5, 0, 0, 3, 9, 7, 7, 7]); // fmt 1: a new 3-byte message
        bytes.extend_from_slice(&[0xC4, 0xAA, 0xBB, 0xCC]); // fmt 3 after it: a new message, same header
        split_everywhere(
            &bytes,
            &[msg(4, 5, 9, 1, &[7, 7, 7]), msg(4, 10, 9, 1, &[0xAA, 0xBB, 0xCC])],
        );
    }

    #[test]
    fn limits_are_errors() {
        let mut d = ChunkDecoder::new(DecoderLimits {
            max_message_len: 100,
            max_chunk_streams: 2,
            max_partial_bytes: 1000,
            max_chunk_size: 1000,
        });
        d.push(&[0x03, 0, 0, 0, 0, 0, 101, 20, 0, 0, 0, 0]);
        assert_eq!(
            d.next_message(),
            Err(ChunkError::MessageTooLong { len: 101, limit: 100 })
        );

        let mut d = ChunkDecoder::new(DecoderLimits::default());
        d.push(&[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x80, 0, 0, 0]);
        assert_eq!(d.next_message(), Err(ChunkError::InvalidChunkSize(0)));
        let mut d = ChunkDecoder::new(DecoderLimits::default());
        d.push(&[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF]);
        assert_eq!(
            d.next_message(),
            Err(ChunkError::ChunkSizeTooLarge {
                size: 0x7FFF_FFFF,
                limit: 16 * 1024 * 1024
            })
        );

        let mut d = ChunkDecoder::new(DecoderLimits {
            max_message_len: 100,
            max_chunk_streams: 2,
            max_partial_bytes: 1000,
            max_chunk_size: 1000,
        });
        for csid in 3..6u8 {
            d.push(&[csid, 0, 0, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0]);
        }
        assert!(d.next_message().unwrap().is_some());
        assert!(d.next_message().unwrap().is_some());
        assert_eq!(
            d.next_message(),
            Err(ChunkError::TooManyChunkStreams { csid: 5, limit: 2 })
        );
        // Long messages started on many chunk streams at once.
        let mut d = ChunkDecoder::new(DecoderLimits {
            max_message_len: 1000,
            max_chunk_streams: 10,
            max_partial_bytes: 300,
            max_chunk_size: 1000,
        });
        for csid in 3..6u8 {
            d.push(&[csid, 0, 0, 0, 0, 0x03, 0xE8, 8, 0, 0, 0, 0]); // 1000 bytes announced
            d.push(&[0; 128]); // one chunk of it
            let expected = if csid < 5 {
                Ok(None)
            } else {
                Err(ChunkError::TooMuchPartialData { limit: 300 })
            };
            assert_eq!(d.next_message(), expected, "csid {csid}");
        }
        assert_eq!(
            ChunkError::MessageTooLong { len: 101, limit: 100 }.to_string(),
            "message length 101 exceeds limit 100"
        );
    }

    #[test]
    fn an_unfinished_chunk_counts_against_the_limit() {
        // A chunk size of 100 000 and a message that long: its one chunk
        // waits in the read buffer, not yet in any message.
        let mut d = ChunkDecoder::new(DecoderLimits {
            max_message_len: 1 << 20,
            max_chunk_streams: 4,
            max_partial_bytes: 50_000,
            max_chunk_size: 1 << 20,
        });
        d.push(&[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 1, 0x86, 0xA0]);
        assert!(d.next_message().unwrap().is_some());
        d.push(&[0x04, 0, 0, 0, 0x01, 0x86, 0xA0, 9, 1, 0, 0, 0]);
        d.push(&[0; 40_000]);
        assert_eq!(d.next_message(), Ok(None));
        d.push(&[0; 10_000]);
        assert_eq!(d.next_message(), Err(ChunkError::TooMuchPartialData { limit: 50_000 }));
    }

    #[test]
    fn the_read_buffer_shrinks_after_a_large_chunk() {
        let mut d = ChunkDecoder::new(DecoderLimits::default());
        d.push(&[0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0x10, 0, 0]);
        assert!(d.next_message().unwrap().is_some());
        d.push(&[0x04, 0, 0, 0, 0x10, 0, 0, 9, 1, 0, 0, 0]);
        d.push(&[0x17; 1 << 20]);
        assert_eq!(d.next_message().unwrap().map(|m| m.payload.len()), Some(1 << 20));
        assert_eq!(d.held(), 0);
        let room = d.unfilled(1024).len();
        assert!(room <= 2 * SHRINK_FLOOR, "{room} bytes of room after shrinking");
    }

    #[test]
    fn unfinished_messages_count_what_is_allocated_and_never_past_their_length() {
        let mut d = ChunkDecoder::new(DecoderLimits::default());
        // A 1000-byte message in 128-byte chunks: room doubles from 128
        // but stops at 1000, and held bytes are the room, not the bytes in it.
        let mut bytes = vec![0x04, 0, 0, 0, 0, 0x03, 0xE8, 9, 1, 0, 0, 0];
        for i in 0..8 {
            if i > 0 {
                bytes.push(0xC4);
            }
            bytes.extend_from_slice(&[7; 128][..if i == 7 { 1000 - 7 * 128 } else { 128 }]);
        }
        let last_chunk = 1 + (1000 - 7 * 128);
        d.push(&bytes[..bytes.len() - last_chunk]);
        assert_eq!(d.next_message(), Ok(None));
        assert_eq!(d.held(), 1000, "896 bytes in, room for 1000");
        d.push(&bytes[bytes.len() - last_chunk..]);
        assert_eq!(d.next_message().unwrap().map(|m| m.payload.capacity()), Some(1000));
        assert_eq!(d.held(), 0);
    }
}
