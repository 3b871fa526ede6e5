//! RTMP messages (RTMP 1.0 §5.4, §6, §7): what a chunk stream carries.
//!
//! The chunk layer yields a [`RawMessage`] (header fields and payload bytes);
//! [`Message::decode`] says what the payload means and [`Message::encode`]
//! writes it back.
//!
//! In scope: protocol control (1, 2, 3, 5, 6), user control (4), audio (8),
//! video (9), AMF0 data and command (18, 20), their AMF3-typed forms (15, 17:
//! a format byte, then AMF0 values that may switch to AMF3 with the AVM+
//! marker; switched values come out in their AMF0 form), and aggregate (22)
//! splitting.
//! Out of scope: shared objects (16, 19), which pass as [`Message::Other`].

use std::fmt;

use super::amf0::{self, Amf0Value, AmfError};
use super::command::{Command, CommandError};
use super::reader::Reader;
use super::time::RtmpTime;

/// Message type ids (RTMP 1.0 §5.4, §7.1).
pub mod type_id {
    /// §5.4.1 Set Chunk Size.
    pub const SET_CHUNK_SIZE: u8 = 1;
    /// §5.4.2 Abort Message.
    pub const ABORT: u8 = 2;
    /// §5.4.3 Acknowledgement.
    pub const ACKNOWLEDGEMENT: u8 = 3;
    /// §6.2 User Control Message.
    pub const USER_CONTROL: u8 = 4;
    /// §5.4.4 Window Acknowledgement Size.
    pub const WINDOW_ACK_SIZE: u8 = 5;
    /// §5.4.5 Set Peer Bandwidth.
    pub const SET_PEER_BANDWIDTH: u8 = 6;
    /// §7.1.5 Audio.
    pub const AUDIO: u8 = 8;
    /// §7.1.5 Video.
    pub const VIDEO: u8 = 9;
    /// §7.1.2 Data, AMF3.
    pub const DATA_AMF3: u8 = 15;
    /// §7.1.3 Shared object, AMF3.
    pub const SHARED_OBJECT_AMF3: u8 = 16;
    /// §7.1.1 Command, AMF3.
    pub const COMMAND_AMF3: u8 = 17;
    /// §7.1.2 Data, AMF0.
    pub const DATA_AMF0: u8 = 18;
    /// §7.1.3 Shared object, AMF0.
    pub const SHARED_OBJECT_AMF0: u8 = 19;
    /// §7.1.1 Command, AMF0.
    pub const COMMAND_AMF0: u8 = 20;
    /// §7.1.6 Aggregate.
    pub const AGGREGATE: u8 = 22;
}

/// The message stream id `createStream` hands out and media travels on.
/// One stream per connection is what every client uses; nginx-rtmp answers
/// 1 too.
pub const MEDIA_STREAM_ID: u32 = 1;

/// A message as the chunk stream delivers it: header fields and raw payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// The chunk stream it arrived on.
    pub csid: u32,
    /// Absolute timestamp.
    pub timestamp: RtmpTime,
    /// Message type id (see [`type_id`]).
    pub type_id: u8,
    /// Message stream id.
    pub stream_id: u32,
    /// The payload bytes.
    pub payload: Vec<u8>,
}

/// User Control events (RTMP 1.0 §7.1.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserControl {
    /// Event 0: the stream became functional.
    StreamBegin(u32),
    /// Event 1: playback of the stream is over.
    StreamEof(u32),
    /// Event 2: no more data on the stream for now.
    StreamDry(u32),
    /// Event 3: the client's buffer length in milliseconds.
    SetBufferLength {
        /// The stream the buffer is for.
        stream_id: u32,
        /// Buffer length in milliseconds.
        buffer_ms: u32,
    },
    /// Event 4: the stream is recorded.
    StreamIsRecorded(u32),
    /// Event 6: the peer asks for a PingResponse with this timestamp.
    PingRequest(u32),
    /// Event 7: the answer to a PingRequest.
    PingResponse(u32),
    /// Any other event, kept as its raw data.
    Other {
        /// The event type.
        event_type: u16,
        /// The event data.
        data: Vec<u8>,
    },
}

/// A decoded message body.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// §5.4.1: the sender's new maximum chunk size.
    SetChunkSize(u32),
    /// §5.4.2: discard the partial message on this chunk stream.
    Abort(u32),
    /// §5.4.3: bytes received so far.
    Acknowledgement(u32),
    /// §6.2 / §7.1.7.
    UserControl(UserControl),
    /// §5.4.4: the window after which the receiver acknowledges.
    WindowAckSize(u32),
    /// §5.4.5: the peer's output bandwidth limit.
    SetPeerBandwidth {
        /// Window size in bytes.
        window: u32,
        /// 0 hard, 1 soft, 2 dynamic.
        limit_type: u8,
    },
    /// §7.1.5: an FLV audio tag body.
    Audio(Vec<u8>),
    /// §7.1.5: an FLV video tag body.
    Video(Vec<u8>),
    /// §7.1.2: AMF values such as `@setDataFrame`, `onMetaData`.
    Data(Vec<Amf0Value>),
    /// §7.1.1: a command such as `connect` or `play` (type 20).
    Command(Command),
    /// §7.1.1: a command sent as type 17: a format byte, then AMF0 values
    /// that may switch to AMF3. Clients that connect with objectEncoding 3
    /// send and expect these.
    CommandAmf3(Command),
    /// §7.1.2: data sent as type 15, the AMF3 form of `Data`.
    DataAmf3(Vec<Amf0Value>),
    /// §7.1.6: several audio/video/data messages in one payload.
    Aggregate(Vec<u8>),
    /// A message type carried through unread (shared objects, unknown ids).
    Other {
        /// The message type id.
        type_id: u8,
        /// The payload.
        payload: Vec<u8>,
    },
}

/// Why a message payload could not be decoded.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MessageError {
    /// The payload is shorter than its type requires.
    Truncated {
        /// The message type id.
        type_id: u8,
        /// Bytes present.
        len: usize,
    },
    /// The AMF body of a data or command message is malformed.
    Amf {
        /// The message type id.
        type_id: u8,
        /// What was wrong.
        source: AmfError,
    },
    /// A command message that does not start with a name and a number.
    BadCommand(CommandError),
    /// A part of an aggregate message that is not audio, video or data
    /// (an aggregate inside an aggregate, say).
    BadAggregatePart {
        /// The part's type id.
        type_id: u8,
    },
}

impl From<CommandError> for MessageError {
    fn from(source: CommandError) -> MessageError {
        MessageError::BadCommand(source)
    }
}

impl fmt::Display for MessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageError::Truncated { type_id, len } => {
                write!(f, "message type {type_id} payload of {len} bytes is truncated")
            }
            MessageError::Amf { type_id, source } => {
                write!(f, "message type {type_id} has a bad amf body: {source}")
            }
            MessageError::BadCommand(why) => write!(f, "command message {why}"),
            MessageError::BadAggregatePart { type_id } => {
                write!(
                    f,
                    "aggregate part of type {type_id} refused: only audio, video and data may be aggregated"
                )
            }
        }
    }
}

impl std::error::Error for MessageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            MessageError::Amf { source, .. } => Some(source),
            MessageError::BadCommand(source) => Some(source),
            _ => None,
        }
    }
}

impl Message {
    /// Decodes a payload of the given type. Audio, video and unknown payloads
    /// are moved, not copied.
    pub fn decode(type_id: u8, payload: Vec<u8>) -> Result<Message, MessageError> {
        Message::decode_limited(type_id, payload, amf0::MAX_DEPTH)
    }

    /// `decode`, with AMF bodies nesting at most `max_amf_depth` deep.
    pub fn decode_limited(type_id: u8, payload: Vec<u8>, max_amf_depth: usize) -> Result<Message, MessageError> {
        use self::type_id as t;
        let truncated = |len| MessageError::Truncated { type_id, len };
        let len = payload.len();
        let mut r = Reader::new(&payload);
        Ok(match type_id {
            // The top bit of a chunk size must be zero (§5.4.1).
            t::SET_CHUNK_SIZE => Message::SetChunkSize(r.u32().map_err(|_| truncated(len))? & 0x7FFF_FFFF),
            t::ABORT => Message::Abort(r.u32().map_err(|_| truncated(len))?),
            t::ACKNOWLEDGEMENT => Message::Acknowledgement(r.u32().map_err(|_| truncated(len))?),
            t::WINDOW_ACK_SIZE => Message::WindowAckSize(r.u32().map_err(|_| truncated(len))?),
            t::SET_PEER_BANDWIDTH => {
                let window = r.u32().map_err(|_| truncated(len))?;
                // Some peers omit the limit type; treat that as dynamic.
                let limit_type = r.u8().unwrap_or(2);
                Message::SetPeerBandwidth { window, limit_type }
            }
            t::USER_CONTROL => {
                let event_type = r.u16().map_err(|_| truncated(len))?;
                Message::UserControl(decode_user_control(event_type, &mut r).ok_or(truncated(len))?)
            }
            t::AUDIO => Message::Audio(payload),
            t::VIDEO => Message::Video(payload),
            t::AGGREGATE => Message::Aggregate(payload),
            t::DATA_AMF0 => Message::Data(amf_values(type_id, &payload, max_amf_depth)?),
            // AMF3-typed data and commands start with a format byte; what
            // follows is AMF0, with AVM+ switches to AMF3 values inside.
            t::DATA_AMF3 => Message::DataAmf3(amf_values(
                type_id,
                payload.get(1..).unwrap_or_default(),
                max_amf_depth,
            )?),
            t::COMMAND_AMF0 => Message::Command(Command::from_values(amf_values(type_id, &payload, max_amf_depth)?)?),
            t::COMMAND_AMF3 => Message::CommandAmf3(Command::from_values(amf_values(
                type_id,
                payload.get(1..).unwrap_or_default(),
                max_amf_depth,
            )?)?),
            other => Message::Other {
                type_id: other,
                payload,
            },
        })
    }

    /// The type id this message is sent with.
    pub fn type_id(&self) -> u8 {
        use self::type_id as t;
        match self {
            Message::SetChunkSize(_) => t::SET_CHUNK_SIZE,
            Message::Abort(_) => t::ABORT,
            Message::Acknowledgement(_) => t::ACKNOWLEDGEMENT,
            Message::UserControl(_) => t::USER_CONTROL,
            Message::WindowAckSize(_) => t::WINDOW_ACK_SIZE,
            Message::SetPeerBandwidth { .. } => t::SET_PEER_BANDWIDTH,
            Message::Audio(_) => t::AUDIO,
            Message::Video(_) => t::VIDEO,
            Message::Data(_) => t::DATA_AMF0,
            Message::Command(_) => t::COMMAND_AMF0,
            Message::DataAmf3(_) => t::DATA_AMF3,
            Message::CommandAmf3(_) => t::COMMAND_AMF3,
            Message::Aggregate(_) => t::AGGREGATE,
            Message::Other { type_id, .. } => *type_id,
        }
    }

    /// Appends the payload to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Message::SetChunkSize(v) | Message::Abort(v) | Message::Acknowledgement(v) | Message::WindowAckSize(v) => {
                out.extend_from_slice(&v.to_be_bytes())
            }
            Message::SetPeerBandwidth { window, limit_type } => {
                out.extend_from_slice(&window.to_be_bytes());
                out.push(*limit_type);
            }
            Message::UserControl(event) => encode_user_control(event, out),
            Message::Audio(p) | Message::Video(p) | Message::Aggregate(p) | Message::Other { payload: p, .. } => {
                out.extend_from_slice(p)
            }
            Message::Data(values) => amf0::encode_all(values, out),
            Message::Command(command) => command.encode(out),
            // The format byte is 0: the body is AMF0 (which may switch to
            // AMF3 value by value).
            Message::DataAmf3(values) => {
                out.push(0);
                amf0::encode_all(values, out);
            }
            Message::CommandAmf3(command) => {
                out.push(0);
                command.encode(out);
            }
        }
    }
}

/// Decodes a data or command body; values behind an AVM+ switch come out
/// in their AMF0 form.
fn amf_values(type_id: u8, bytes: &[u8], max_depth: usize) -> Result<Vec<Amf0Value>, MessageError> {
    let values = amf0::decode_all_limited(bytes, max_depth).map_err(|source| MessageError::Amf { type_id, source })?;
    Ok(values.into_iter().map(Amf0Value::without_avmplus).collect())
}

fn decode_user_control(event_type: u16, r: &mut Reader<'_>) -> Option<UserControl> {
    Some(match event_type {
        0 => UserControl::StreamBegin(r.u32().ok()?),
        1 => UserControl::StreamEof(r.u32().ok()?),
        2 => UserControl::StreamDry(r.u32().ok()?),
        3 => UserControl::SetBufferLength {
            stream_id: r.u32().ok()?,
            buffer_ms: r.u32().ok()?,
        },
        4 => UserControl::StreamIsRecorded(r.u32().ok()?),
        6 => UserControl::PingRequest(r.u32().ok()?),
        7 => UserControl::PingResponse(r.u32().ok()?),
        other => UserControl::Other {
            event_type: other,
            data: r.rest().to_vec(),
        },
    })
}

fn encode_user_control(event: &UserControl, out: &mut Vec<u8>) {
    let (event_type, a, b): (u16, u32, Option<u32>) = match event {
        UserControl::StreamBegin(id) => (0, *id, None),
        UserControl::StreamEof(id) => (1, *id, None),
        UserControl::StreamDry(id) => (2, *id, None),
        UserControl::SetBufferLength { stream_id, buffer_ms } => (3, *stream_id, Some(*buffer_ms)),
        UserControl::StreamIsRecorded(id) => (4, *id, None),
        UserControl::PingRequest(t) => (6, *t, None),
        UserControl::PingResponse(t) => (7, *t, None),
        UserControl::Other { event_type, data } => {
            out.extend_from_slice(&event_type.to_be_bytes());
            out.extend_from_slice(data);
            return;
        }
    };
    out.extend_from_slice(&event_type.to_be_bytes());
    out.extend_from_slice(&a.to_be_bytes());
    if let Some(b) = b {
        out.extend_from_slice(&b.to_be_bytes());
    }
}

/// The parts of an aggregate message (§7.1.6), one at a time. Each part
/// is an FLV tag (type, 24-bit size, timestamp, stream id, body, back
/// pointer); the parts' timestamps are shifted so the first one equals the
/// aggregate's own, as the spec asks.
///
/// Parts may be audio, video or data only: an aggregate inside an
/// aggregate (or any other type) is an error, so no nesting depth and no
/// number of copies depends on the peer. Each part's body is copied once,
/// when it is yielded; the parts are never all held at once.
#[derive(Debug)]
pub struct AggregateParts {
    payload: Vec<u8>,
    pos: usize,
    timestamp: RtmpTime,
    stream_id: u32,
    first: Option<RtmpTime>,
}

impl AggregateParts {
    /// The parts of the aggregate `payload` that arrived at `timestamp` on
    /// message stream `stream_id`.
    pub fn new(timestamp: RtmpTime, stream_id: u32, payload: Vec<u8>) -> Self {
        AggregateParts {
            payload,
            pos: 0,
            timestamp,
            stream_id,
            first: None,
        }
    }

    fn part(&mut self) -> Result<RawMessage, MessageError> {
        let truncated = MessageError::Truncated {
            type_id: type_id::AGGREGATE,
            len: self.payload.len(),
        };
        let mut r = Reader::new(self.payload.get(self.pos..).unwrap_or_default());
        let header = (|| {
            let type_id = r.u8()?;
            let size = r.u24()?;
            let low = r.u24()?;
            let high = r.u8()?;
            r.u24()?; // stream id: the aggregate's own applies
            Ok::<_, super::reader::Incomplete>((type_id, size, RtmpTime(low | (high as u32) << 24)))
        })();
        let (part_type, size, part_time) = header.map_err(|_| truncated.clone())?;
        if !matches!(
            part_type,
            type_id::AUDIO | type_id::VIDEO | type_id::DATA_AMF0 | type_id::DATA_AMF3
        ) {
            return Err(MessageError::BadAggregatePart { type_id: part_type });
        }
        let body = r.take(size as usize).map_err(|_| truncated.clone())?;
        r.u32().map_err(|_| truncated)?; // back pointer
        let first = *self.first.get_or_insert(part_time);
        let part = RawMessage {
            csid: 0,
            timestamp: self.timestamp.wrapping_add(part_time.delta_since(first)),
            type_id: part_type,
            stream_id: self.stream_id,
            payload: body.to_vec(),
        };
        self.pos += r.position();
        Ok(part)
    }
}

impl Iterator for AggregateParts {
    type Item = Result<RawMessage, MessageError>;

    /// The next part; after an error, `None`.
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.payload.len() {
            return None;
        }
        let part = self.part();
        if part.is_err() {
            self.pos = self.payload.len();
        }
        Some(part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(type_id: u8, payload: &[u8], expected: Message) {
        let decoded = Message::decode(type_id, payload.to_vec()).unwrap();
        assert_eq!(decoded, expected);
        assert_eq!(decoded.type_id(), type_id);
        let mut out = Vec::new();
        decoded.encode(&mut out);
        assert_eq!(out, payload);
    }

    #[test]
    fn control_messages_round_trip() {
        round_trip(1, &[0, 0, 0x10, 0], Message::SetChunkSize(4096));
        round_trip(2, &[0, 0, 0, 4], Message::Abort(4));
        round_trip(3, &[0, 0, 1, 0], Message::Acknowledgement(256));
        round_trip(5, &[0, 0x26, 0x25, 0xA0], Message::WindowAckSize(2_500_000));
        round_trip(
            6,
            &[0, 0x26, 0x25, 0xA0, 2],
            Message::SetPeerBandwidth {
                window: 2_500_000,
                limit_type: 2,
            },
        );
        round_trip(
            4,
            &[0, 0, 0, 0, 0, 1],
            Message::UserControl(UserControl::StreamBegin(1)),
        );
        round_trip(4, &[0, 1, 0, 0, 0, 1], Message::UserControl(UserControl::StreamEof(1)));
        round_trip(
            4,
            &[0, 3, 0, 0, 0, 1, 0, 0, 0x0B, 0xB8],
            Message::UserControl(UserControl::SetBufferLength {
                stream_id: 1,
                buffer_ms: 3000,
            }),
        );
        round_trip(
            4,
            &[0, 6, 0, 0, 0, 9],
            Message::UserControl(UserControl::PingRequest(9)),
        );
        round_trip(
            4,
            &[0, 7, 0, 0, 0, 9],
            Message::UserControl(UserControl::PingResponse(9)),
        );
    }

    #[test]
    fn amf3_typed_messages_round_trip_with_their_format_byte() {
        let command = Command::new("onStatus", 0.0, Amf0Value::Null, vec![]);
        let mut body = vec![0];
        command.encode(&mut body);
        round_trip(17, &body, Message::CommandAmf3(command));
        round_trip(15, &[0, 0x05], Message::DataAmf3(vec![Amf0Value::Null]));
    }

    #[test]
    fn set_chunk_size_ignores_the_reserved_top_bit() {
        assert_eq!(
            Message::decode(1, vec![0x80, 0, 0x10, 0]),
            Ok(Message::SetChunkSize(4096))
        );
    }

    #[test]
    fn short_control_payloads_are_errors() {
        assert_eq!(
            Message::decode(1, vec![0, 1]),
            Err(MessageError::Truncated { type_id: 1, len: 2 })
        );
        assert_eq!(
            MessageError::Truncated { type_id: 1, len: 2 }.to_string(),
            "message type 1 payload of 2 bytes is truncated"
        );
    }

    #[test]
    fn amf3_typed_command_with_amf0_body_decodes() {
        let mut payload = vec![0]; // format byte
        amf0::encode_all(
            &[
                Amf0Value::string("play"),
                Amf0Value::Number(4.0),
                Amf0Value::Null,
                Amf0Value::string("s"),
            ],
            &mut payload,
        );
        let Message::CommandAmf3(cmd) = Message::decode(17, payload).unwrap() else {
            panic!("not a command")
        };
        assert_eq!(cmd.name, "play");
        assert_eq!(cmd.transaction_id, 4.0);
    }

    #[test]
    fn amf3_command_with_switched_values_reads_like_amf0() {
        use crate::protocol::amf3::Amf3Value;
        let mut payload = vec![0]; // format byte
        amf0::encode_all(
            &[
                Amf0Value::string("connect"),
                Amf0Value::Number(1.0),
                Amf0Value::Avmplus(Amf3Value::Object {
                    class_name: String::new(),
                    sealed: vec![("app".into(), Amf3Value::String("live".into()))],
                    dynamic: None,
                }),
            ],
            &mut payload,
        );
        let Message::CommandAmf3(cmd) = Message::decode(17, payload).unwrap() else {
            panic!("not a command")
        };
        assert_eq!(cmd.object.property("app").and_then(Amf0Value::as_str), Some("live"));
    }

    #[test]
    fn aggregate_splits_and_rebases_timestamps() {
        let mut payload = Vec::new();
        for (ts, body) in [(1000u32, &[0x17u8, 1][..]), (1040, &[0x27, 1, 2][..])] {
            payload.push(9); // video
            payload.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
            payload.extend_from_slice(&ts.to_be_bytes()[1..]);
            payload.push((ts >> 24) as u8);
            payload.extend_from_slice(&[0, 0, 0]);
            payload.extend_from_slice(body);
            payload.extend_from_slice(&(11 + body.len() as u32).to_be_bytes());
        }
        let parts: Vec<RawMessage> = AggregateParts::new(RtmpTime(50), 1, payload.clone())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].timestamp, RtmpTime(50));
        assert_eq!(parts[1].timestamp, RtmpTime(90));
        assert_eq!(parts[1].payload, vec![0x27, 1, 2]);
        let mut cut = AggregateParts::new(RtmpTime(0), 1, payload[..payload.len() - 1].to_vec());
        assert!(cut.next().unwrap().is_ok());
        assert!(cut.next().unwrap().is_err());
        assert!(cut.next().is_none(), "nothing after an error");
    }

    #[test]
    fn an_aggregate_inside_an_aggregate_is_refused() {
        // A part of type 22 holding one video part.
        let inner = [9u8, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x17, 0, 0, 0, 12];
        let mut outer = vec![22u8, 0, 0, inner.len() as u8, 0, 0, 0, 0, 0, 0, 0];
        outer.extend_from_slice(&inner);
        outer.extend_from_slice(&(11 + inner.len() as u32).to_be_bytes());
        let mut parts = AggregateParts::new(RtmpTime(0), 1, outer);
        assert_eq!(parts.next(), Some(Err(MessageError::BadAggregatePart { type_id: 22 })));
        assert_eq!(parts.next(), None);
    }
}
