//! `ServerSession`: the server side of one RTMP connection.
//!
//! ```text
//!               connect                     accept_connect
//!  AwaitConnect ---------> PendingConnect ----------------> Connected <--+
//!                                 | reject_connect            |   |      | createStream,
//!                                 v                           |   |      | FC*, ...
//!                               Close          publish        |   | play +
//!                                       +---------------------+   +-------------+
//!                                       v                                       v
//!                                PendingPublish                            PendingPlay
//!                   accept_publish |     | reject_publish      accept_play |     | reject_play
//!                                  v     v                                 v     v
//!                          Publishing   Close                        Playing   Close
//!                                  |                                       |
//!     FCUnpublish/deleteStream/closeStream -> Connected   deleteStream/closeStream -> Connected
//! ```
//!
//! The `Pending*` states are requests the caller answers (`Action::Connect`,
//! `Action::Publish`, `Action::Play`), so access control, name conflicts
//! and authentication are decided outside this pure state machine, and
//! every refusal comes before a success status.
//!
//! In scope: the NetConnection and NetStream calls ffmpeg, OBS, librtmp and
//! GStreamer make; acknowledgements; pings; metadata and aggregate
//! messages from publishers; replies in the client's object encoding.
//! Out of scope: the policy behind accept/reject (the server decides).

use std::fmt;

use log::{debug, trace};

use super::{AckWindow, Action, Outbound};
use crate::media::{Frame, FrameKind, StreamKey};
use crate::protocol::amf0::{self, Amf0Value};
use crate::protocol::chunk::csid;
use crate::protocol::command::{Command, info, status};
use crate::protocol::escape::Escaped;
use crate::protocol::message::{
    self, AggregateParts, MEDIA_STREAM_ID as STREAM_ID, Message, MessageError, RawMessage, UserControl,
};
use crate::protocol::time::RtmpTime;

/// Server settings that show in the session's replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// The chunk size announced with Set Chunk Size after `connect`.
    pub chunk_size: u32,
    /// The Window Acknowledgement Size announced after `connect`.
    pub window_ack_size: u32,
    /// The Set Peer Bandwidth window announced after `connect`.
    pub peer_bandwidth: u32,
    /// How deep AMF values in commands and data may nest.
    pub max_amf_depth: usize,
    /// Largest command, data or shared-object message decoded. Decoded AMF
    /// takes many times its bytes, so this is far below the media limit.
    pub max_amf_message_len: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            chunk_size: 4096,
            window_ack_size: 2_500_000,
            peer_bandwidth: 2_500_000,
            max_amf_depth: crate::protocol::amf0::MAX_DEPTH,
            // Interop: commands and metadata from ffmpeg, OBS, librtmp and
            // GStreamer are a few hundred bytes to a few KiB.
            max_amf_message_len: 64 * 1024,
        }
    }
}

/// A message the session could not use. The message is dropped; the
/// connection may go on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionError {
    /// The payload did not decode.
    BadMessage(MessageError),
    /// A command, data or shared-object message longer than the limit.
    TooLarge {
        /// Its type id.
        type_id: u8,
        /// Its length.
        len: usize,
        /// The limit in force.
        limit: usize,
    },
    /// Audio, video or metadata from a connection that does not publish.
    NotPublishing {
        /// What it was.
        kind: FrameKind,
    },
    /// A data message that would grow past the limit when re-encoded as
    /// AMF0 for players.
    Amplified {
        /// Its length.
        len: usize,
        /// The length it re-encodes to.
        encoded: usize,
        /// The limit in force.
        limit: usize,
    },
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::BadMessage(e) => write!(f, "bad message: {e}"),
            SessionError::TooLarge { type_id, len, limit } => {
                write!(
                    f,
                    "message type {type_id} of {len} bytes exceeds the amf message limit {limit}"
                )
            }
            SessionError::NotPublishing { kind } => {
                write!(f, "{kind:?} from a connection that does not publish refused")
            }
            SessionError::Amplified { len, encoded, limit } => write!(
                f,
                "data message of {len} bytes re-encodes to {encoded}, past the limit {limit}"
            ),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SessionError::BadMessage(e) => Some(e),
            _ => None,
        }
    }
}

impl From<MessageError> for SessionError {
    fn from(e: MessageError) -> Self {
        SessionError::BadMessage(e)
    }
}

/// The `objectEncoding` a client connected with: replies use the command
/// message type that goes with it (20 for AMF0, 17 for AMF3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectEncoding {
    Amf0,
    Amf3,
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    AwaitConnect,
    /// `connect` is waiting for `accept_connect` or `reject_connect`.
    PendingConnect {
        transaction_id: f64,
        object_encoding: f64,
        capabilities: Vec<(String, Amf0Value)>,
    },
    Connected,
    PendingPublish(StreamKey),
    Publishing(StreamKey),
    PendingPlay(StreamKey),
    Playing(StreamKey),
}

/// The server side of one connection.
#[derive(Debug)]
pub struct ServerSession {
    config: SessionConfig,
    state: State,
    app: String,
    encoding: ObjectEncoding,
    /// The peer's Window Acknowledgement Size; 0 until it sends one.
    acks: AckWindow,
    /// The parts of the aggregate message being handled.
    aggregate: Option<AggregateParts>,
}

/// How many times its own length a data message may grow when it is
/// re-encoded as AMF0 for players.
const MAX_DATA_GROWTH: usize = 4;

/// Aggregate parts handled per `next_parts` call.
const PARTS_PER_CALL: usize = 16;

impl ServerSession {
    /// A session waiting for `connect`.
    pub fn new(config: SessionConfig) -> Self {
        ServerSession {
            config,
            state: State::AwaitConnect,
            app: String::new(),
            encoding: ObjectEncoding::Amf0,
            acks: AckWindow::default(),
            aggregate: None,
        }
    }

    /// The application named in `connect`, once connected.
    pub fn app(&self) -> Option<&str> {
        (!matches!(self.state, State::AwaitConnect | State::PendingConnect { .. })).then_some(self.app.as_str())
    }

    /// Counts bytes read from the peer; returns an Acknowledgement to send
    /// when a whole window has arrived since the last one (§5.4.3).
    pub fn bytes_received(&mut self, n: usize) -> Option<Action> {
        self.acks.bytes_received(n).map(Action::Send)
    }

    /// Handles one message from the peer. An aggregate's parts are handled
    /// by [`next_parts`](Self::next_parts), which the caller then calls
    /// until it returns `None`, before the next `handle`.
    pub fn handle(&mut self, raw: RawMessage) -> Result<Vec<Action>, SessionError> {
        // A caller that did not drain the last aggregate gives up its rest.
        self.aggregate = None;
        if raw.type_id == message::type_id::AGGREGATE {
            self.aggregate = Some(AggregateParts::new(raw.timestamp, raw.stream_id, raw.payload));
            return Ok(Vec::new());
        }
        let mut actions = Vec::new();
        self.dispatch(raw, &mut actions)?;
        Ok(actions)
    }

    /// The actions for the next few parts of the aggregate message `handle`
    /// was last given; `None` once every part is handled. A few parts at a
    /// time, so that an aggregate of a million empty parts never becomes a
    /// million actions held at once. A part that is not audio, video or
    /// data (an aggregate inside an aggregate) ends the aggregate with an
    /// error; the connection may go on.
    pub fn next_parts(&mut self) -> Option<Result<Vec<Action>, SessionError>> {
        let mut parts = self.aggregate.take()?;
        let mut actions = Vec::new();
        for _ in 0..PARTS_PER_CALL {
            let handled = match parts.next() {
                Some(Ok(part)) => self.dispatch(part, &mut actions),
                Some(Err(e)) => Err(e.into()),
                None if actions.is_empty() => return None,
                None => return Some(Ok(actions)),
            };
            if let Err(e) = handled {
                return Some(Err(e));
            }
        }
        self.aggregate = Some(parts);
        Some(Ok(actions))
    }

    /// Handles a message that is not an aggregate.
    fn dispatch(&mut self, raw: RawMessage, actions: &mut Vec<Action>) -> Result<(), SessionError> {
        let (timestamp, stream_id, type_id) = (raw.timestamp, raw.stream_id, raw.type_id);
        let is_amf = matches!(type_id, 15..=20);
        if is_amf && raw.payload.len() > self.config.max_amf_message_len {
            return Err(SessionError::TooLarge {
                type_id,
                len: raw.payload.len(),
                limit: self.config.max_amf_message_len,
            });
        }
        let len = raw.payload.len();
        match Message::decode_limited(type_id, raw.payload, self.config.max_amf_depth)? {
            Message::Command(command) | Message::CommandAmf3(command) => self.command(command, stream_id, actions),
            Message::Audio(payload) => self.media(FrameKind::Audio, timestamp, payload, actions)?,
            Message::Video(payload) => self.media(FrameKind::Video, timestamp, payload, actions)?,
            Message::Data(values) | Message::DataAmf3(values) => self.data(timestamp, values, len, actions)?,
            Message::WindowAckSize(size) => self.acks.window = size,
            Message::UserControl(UserControl::PingRequest(t)) => {
                actions.push(control_message(Message::UserControl(UserControl::PingResponse(t))));
            }
            // Set Chunk Size and Abort were applied by the chunk decoder;
            // the rest needs no answer.
            other => trace!("ignored message type {}", other.type_id()),
        }
        Ok(())
    }

    /// Answers an `Action::Publish`: the name is ours now.
    pub fn accept_publish(&mut self) -> Vec<Action> {
        let State::PendingPublish(key) = &self.state else {
            return Vec::new();
        };
        let description = format!("{key} is now published");
        self.state = State::Publishing(key.clone());
        vec![
            control_message(Message::UserControl(UserControl::StreamBegin(STREAM_ID))),
            self.on_status(status::LEVEL_STATUS, status::PUBLISH_START, &description),
        ]
    }

    /// Answers an `Action::Publish`: refused with `code` (an
    /// `onStatus` code such as `NetStream.Publish.BadName`) and a
    /// description for the client's log. The connection is closed after the
    /// status.
    pub fn reject_publish(&mut self, code: &str, description: &str) -> Vec<Action> {
        self.state = State::Connected;
        // Interop: refusing before Publish.Start with a code OBS knows makes
        // OBS show an error instead of reconnecting forever.
        vec![
            self.on_status(status::LEVEL_ERROR, code, description),
            Action::Close("publish refused"),
        ]
    }

    /// Answers an `Action::Play`: the status replies; the caller then
    /// subscribes the connection, so cached frames follow Play.Start.
    pub fn accept_play(&mut self) -> Vec<Action> {
        let State::PendingPlay(key) = &self.state else {
            return Vec::new();
        };
        let description = format!("playing {key}");
        self.state = State::Playing(key.clone());
        vec![
            control_message(Message::UserControl(UserControl::StreamBegin(STREAM_ID))),
            self.on_status(status::LEVEL_STATUS, status::PLAY_RESET, &description),
            self.on_status(status::LEVEL_STATUS, status::PLAY_START, &description),
            Action::Send(Outbound {
                csid: csid::DATA,
                timestamp: RtmpTime::ZERO,
                stream_id: STREAM_ID,
                message: Message::Data(vec![
                    Amf0Value::string("|RtmpSampleAccess"),
                    Amf0Value::Boolean(true),
                    Amf0Value::Boolean(true),
                ]),
            }),
        ]
    }

    /// Answers an `Action::Play`: refused with `NetStream.Play.Failed`,
    /// then the connection is closed.
    pub fn reject_play(&mut self, description: &str) -> Vec<Action> {
        self.state = State::Connected;
        vec![
            self.on_status(status::LEVEL_ERROR, status::PLAY_FAILED, description),
            Action::Close("play refused"),
        ]
    }

    fn command(&mut self, command: Command, stream_id: u32, actions: &mut Vec<Action>) {
        let tx = command.transaction_id;
        debug!("command {} tx={tx} stream={stream_id}", Escaped(&command.name));
        match command.name.as_str() {
            "connect" if self.state == State::AwaitConnect => self.connect(&command, actions),
            // A second connect would reset the login and let one connection
            // publish and play at once: refused, and the state stays.
            "connect" => {
                let info = info(
                    status::LEVEL_ERROR,
                    status::CONNECT_REJECTED,
                    "already connected: connect once per connection",
                );
                actions.push(self.reply(Command::error(tx, Amf0Value::Null, vec![info])));
            }
            _ if matches!(self.state, State::AwaitConnect | State::PendingConnect { .. }) => {
                actions.push(Action::Close("a command before connect"));
            }
            "createStream" => actions.push(self.reply(Command::result(
                tx,
                Amf0Value::Null,
                vec![Amf0Value::Number(STREAM_ID.into())],
            ))),
            "releaseStream" | "FCSubscribe" => actions.push(self.reply(Command::result(tx, Amf0Value::Null, vec![]))),
            "FCPublish" => {
                let name = command.first_arg_str().unwrap_or_default();
                actions.push(self.reply(Command::result(tx, Amf0Value::Null, vec![])));
                // Interop: Livestream Studio and hardware encoders wait for
                // onFCPublish and match it by transaction id.
                actions.push(self.reply(Command::new(
                    "onFCPublish",
                    tx,
                    Amf0Value::Null,
                    vec![info(status::LEVEL_STATUS, status::PUBLISH_START, name)],
                )));
            }
            "publish" => self.publish(&command, actions),
            "play" => self.play(&command, actions),
            "FCUnpublish" => {
                if tx != 0.0 {
                    actions.push(self.reply(Command::result(tx, Amf0Value::Null, vec![])));
                }
                self.stop(actions);
            }
            "deleteStream" | "closeStream" => self.stop(actions),
            // Interop: ffmpeg reads the length as a number; 0 means live.
            "getStreamLength" => {
                actions.push(self.reply(Command::result(tx, Amf0Value::Null, vec![Amf0Value::Number(0.0)])))
            }
            // Replies and notifications from the peer need no answer.
            "_result" | "_error" | "onStatus" => {}
            _ if tx != 0.0 => actions.push(self.reply(Command::result(tx, Amf0Value::Null, vec![]))),
            _ => {}
        }
    }

    fn connect(&mut self, command: &Command, actions: &mut Vec<Action>) {
        let app = command
            .object
            .property("app")
            .and_then(Amf0Value::as_str)
            .unwrap_or_default();
        // Interop: some clients append the query or a trailing slash to app;
        // authentication parameters travel in that query.
        let (app, query) = split_query(app);
        self.app = app.trim_matches('/').to_owned();
        let encoding = command
            .object
            .property("objectEncoding")
            .and_then(Amf0Value::as_number)
            .unwrap_or(0.0);
        debug!("connect app={} objectEncoding={encoding}", Escaped(&self.app));
        self.encoding = if encoding == 3.0 {
            ObjectEncoding::Amf3
        } else {
            ObjectEncoding::Amf0
        };
        let flash_ver = command
            .object
            .property("flashVer")
            .and_then(Amf0Value::as_str)
            .unwrap_or_default();
        self.state = State::PendingConnect {
            transaction_id: command.transaction_id,
            object_encoding: encoding,
            capabilities: enhanced_capabilities(&command.object),
        };
        let tc_url = command
            .object
            .property("tcUrl")
            .and_then(Amf0Value::as_str)
            .unwrap_or_default();
        actions.push(Action::Connect {
            app: self.app.clone(),
            query: query.to_owned(),
            flash_ver: flash_ver.to_owned(),
            tc_url: tc_url.to_owned(),
        });
    }

    /// Answers an `Action::Connect`: the connection is accepted.
    pub fn accept_connect(&mut self) -> Vec<Action> {
        let State::PendingConnect {
            transaction_id,
            object_encoding,
            capabilities,
        } = std::mem::replace(&mut self.state, State::Connected)
        else {
            return Vec::new();
        };
        let mut properties = vec![
            ("fmsVer".to_owned(), Amf0Value::string("FMS/3,0,1,123")),
            ("capabilities".to_owned(), Amf0Value::Number(31.0)),
        ];
        properties.extend(capabilities);
        let info = Amf0Value::object([
            ("level", Amf0Value::string(status::LEVEL_STATUS)),
            ("code", Amf0Value::string(status::CONNECT_SUCCESS)),
            ("description", Amf0Value::string("Connection succeeded.")),
            ("objectEncoding", Amf0Value::Number(object_encoding)),
        ]);
        vec![
            control_message(Message::WindowAckSize(self.config.window_ack_size)),
            control_message(Message::SetPeerBandwidth {
                window: self.config.peer_bandwidth,
                limit_type: 2,
            }),
            control_message(Message::SetChunkSize(self.config.chunk_size)),
            self.reply(Command::result(
                transaction_id,
                Amf0Value::Object(properties),
                vec![info],
            )),
            self.reply(Command::new("onBWDone", 0.0, Amf0Value::Null, vec![])),
        ]
    }

    /// Answers an `Action::Connect`: refused with `_error` carrying
    /// `description` (where authentication challenges travel), then the
    /// connection is closed.
    pub fn reject_connect(&mut self, description: &str) -> Vec<Action> {
        let transaction_id = match &self.state {
            State::PendingConnect { transaction_id, .. } => *transaction_id,
            _ => 1.0,
        };
        self.state = State::AwaitConnect;
        let info = info(status::LEVEL_ERROR, status::CONNECT_REJECTED, description);
        vec![
            self.reply(Command::error(transaction_id, Amf0Value::Null, vec![info])),
            Action::Close("connect refused"),
        ]
    }

    fn publish(&mut self, command: &Command, actions: &mut Vec<Action>) {
        let (name, query) = split_query(command.first_arg_str().unwrap_or_default());
        if name.is_empty() {
            let description = "publish refused: the stream name is empty";
            actions.push(self.on_status(status::LEVEL_ERROR, status::PUBLISH_BAD_NAME, description));
            actions.push(Action::Close("publish refused: empty name"));
            return;
        }
        if self.state != State::Connected {
            let description = "publish refused: this connection already publishes or plays";
            actions.push(self.on_status(status::LEVEL_ERROR, status::PUBLISH_BAD_NAME, description));
            return;
        }
        let key = StreamKey::new(self.app.clone(), name);
        self.state = State::PendingPublish(key.clone());
        actions.push(Action::Publish(key, query.to_owned()));
    }

    fn play(&mut self, command: &Command, actions: &mut Vec<Action>) {
        let (name, query) = split_query(command.first_arg_str().unwrap_or_default());
        if name.is_empty() || self.state != State::Connected {
            let description = if name.is_empty() {
                "play refused: the stream name is empty"
            } else {
                "play refused: this connection already publishes or plays"
            };
            actions.push(self.on_status(status::LEVEL_ERROR, status::PLAY_STREAM_NOT_FOUND, description));
            actions.push(Action::Close("play refused"));
            return;
        }
        let key = StreamKey::new(self.app.clone(), name);
        self.state = State::PendingPlay(key.clone());
        actions.push(Action::Play(key, query.to_owned()));
    }

    fn stop(&mut self, actions: &mut Vec<Action>) {
        match std::mem::replace(&mut self.state, State::Connected) {
            State::Publishing(key) => {
                actions.push(self.on_status(
                    status::LEVEL_STATUS,
                    status::UNPUBLISH_SUCCESS,
                    &format!("{key} stopped"),
                ));
                actions.push(Action::Unpublish);
            }
            State::Playing(_) => actions.push(Action::StopPlay),
            other => self.state = other,
        }
    }

    /// A frame for the players; refused from a connection that does not
    /// publish.
    fn media(
        &mut self,
        kind: FrameKind,
        timestamp: RtmpTime,
        payload: Vec<u8>,
        actions: &mut Vec<Action>,
    ) -> Result<(), SessionError> {
        if !matches!(self.state, State::Publishing(_)) {
            return Err(SessionError::NotPublishing { kind });
        }
        actions.push(Action::Media(Frame {
            kind,
            timestamp,
            payload,
        }));
        Ok(())
    }

    /// `len` is the message's own length: what it re-encodes to may not
    /// grow past [`MAX_DATA_GROWTH`] times that.
    fn data(
        &mut self,
        timestamp: RtmpTime,
        values: Vec<Amf0Value>,
        len: usize,
        actions: &mut Vec<Action>,
    ) -> Result<(), SessionError> {
        // `@setDataFrame onMetaData {..}` from encoders is kept and sent to
        // players as `onMetaData {..}`, as Flash Media Server did.
        let values = match values.first().and_then(Amf0Value::as_str) {
            Some("@setDataFrame") => &values[1..],
            _ => &values[..],
        };
        if values.first().and_then(Amf0Value::as_str) != Some("onMetaData") {
            // Interop: ffmpeg's 4-byte timecode and other data are not
            // forwarded.
            trace!("dropped a data message");
            return Ok(());
        }
        let mut payload = Vec::new();
        amf0::encode_all(values, &mut payload);
        // AMF3 values (type 15, or behind an AVM+ switch) are re-encoded as
        // AMF0, which is larger: an AMF3 integer of 2 bytes becomes a 9-byte
        // number, a string reference the whole string again.
        let limit = len * MAX_DATA_GROWTH + 64;
        if payload.len() > limit {
            return Err(SessionError::Amplified {
                len,
                encoded: payload.len(),
                limit,
            });
        }
        self.media(FrameKind::Metadata, timestamp, payload, actions)
    }

    /// A command message in the encoding the client connected with.
    fn command_message(&self, command: Command) -> Message {
        match self.encoding {
            ObjectEncoding::Amf0 => Message::Command(command),
            ObjectEncoding::Amf3 => Message::CommandAmf3(command),
        }
    }

    fn reply(&self, command: Command) -> Action {
        Action::Send(Outbound {
            csid: csid::COMMAND,
            timestamp: RtmpTime::ZERO,
            stream_id: 0,
            message: self.command_message(command),
        })
    }

    fn on_status(&self, level: &str, code: &str, description: &str) -> Action {
        Action::Send(Outbound {
            csid: csid::COMMAND,
            timestamp: RtmpTime::ZERO,
            stream_id: STREAM_ID,
            message: self.command_message(Command::on_status(level, code, description)),
        })
    }
}

/// E-RTMP v2 capability bits of `videoFourCcInfoMap` / `audioFourCcInfoMap`.
const CAN_FORWARD: f64 = 4.0;
/// E-RTMP v2 `capsEx` bits a forwarding server supports: multitrack, ModEx
/// and nanosecond timestamp offsets all pass through untouched. Reconnect
/// (1) is left out: this server never asks a client to reconnect.
const CAPS_EX_FORWARDED: u32 = 0x02 | 0x04 | 0x08;

/// The Enhanced RTMP capabilities to put in the connect `_result`, answering
/// what the client announced: every codec it lists can be forwarded (the
/// server relays payloads it does not decode), and the `capsEx` bits both
/// sides support. A legacy client announces nothing and gets nothing.
fn enhanced_capabilities(connect: &Amf0Value) -> Vec<(String, Amf0Value)> {
    let mut caps = Vec::new();
    if let Some(Amf0Value::StrictArray(list)) = connect.property("fourCcList") {
        let names = list.iter().filter(|v| v.as_str().is_some()).cloned().collect();
        caps.push(("fourCcList".to_owned(), Amf0Value::StrictArray(names)));
    }
    for map in ["videoFourCcInfoMap", "audioFourCcInfoMap"] {
        if let Some(codecs) = connect.property(map).and_then(Amf0Value::properties) {
            let forwarded = codecs
                .iter()
                .map(|(fourcc, _)| (fourcc.clone(), Amf0Value::Number(CAN_FORWARD)));
            caps.push((map.to_owned(), Amf0Value::Object(forwarded.collect())));
        }
    }
    if let Some(caps_ex) = connect.property("capsEx").and_then(Amf0Value::as_number) {
        let shared = (caps_ex as u32) & CAPS_EX_FORWARDED;
        caps.push(("capsEx".to_owned(), Amf0Value::Number(shared.into())));
    }
    caps
}

/// A stream name and its `?query` (empty when there is none).
fn split_query(name: &str) -> (&str, &str) {
    name.split_once('?').unwrap_or((name, ""))
}

fn control_message(message: Message) -> Action {
    Action::Send(Outbound::control(message))
}
