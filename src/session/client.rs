//! `ClientSession`: the client side of one RTMP connection, for publishing
//! or playing one stream.
//!
//! ```text
//!  start --> connect ----_result----> createStream (publish: after
//!                                      releaseStream and FCPublish, sent
//!                                      back to back as OBS does)
//!           --_result(stream id)--> publish | play (+ SetBufferLength)
//!           --onStatus Publish.Start | Play.Start--> Publishing | Playing
//!  any _error or onStatus of level "error" --> Failed
//! ```
//!
//! In scope: what a relay, a load tool or a test needs to publish or play.
//! Out of scope: reconnecting, authentication, seeking.

use log::debug;

use super::{AckWindow, Outbound, SessionError};
use crate::media::{Frame, FrameKind};
use crate::protocol::amf0::{self, Amf0Value};
use crate::protocol::chunk::csid;
use crate::protocol::command::{Command, status};
use crate::protocol::escape::Escaped;
use crate::protocol::message::{Message, RawMessage, UserControl, type_id};
use crate::protocol::time::RtmpTime;

/// What the client connects to and how it presents itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// The application (`live` in `rtmp://host/live/name`).
    pub app: String,
    /// The `tcUrl`: `rtmp://host:port/app`.
    pub tc_url: String,
    /// The stream name, with any `?query`.
    pub stream: String,
    /// The chunk size announced before `connect`.
    pub chunk_size: u32,
    /// The `flashVer` to send instead of the role's usual one (an
    /// encoder's for a publish, a player's for a play).
    pub flash_ver: Option<String>,
}

/// Publish or play.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Send frames.
    Publish,
    /// Receive frames.
    Play,
}

/// What the client session asks its caller to do or tells it.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// Send a message to the server.
    Send(Outbound),
    /// The server accepted the publish: frames may be sent.
    Publishing,
    /// The server started playback.
    Playing,
    /// A frame of the played stream.
    Media(Frame),
    /// The played stream's publisher left (StreamEOF).
    StreamEnd,
    /// The server refused: `code` and `description` from its reply.
    Failed {
        /// The status code, or the failed call's name.
        code: String,
        /// The server's description.
        description: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting,
    CreatingStream,
    Starting,
    Running,
    Failed,
}

/// The client side of one connection.
#[derive(Debug)]
pub struct ClientSession {
    config: ClientConfig,
    role: Role,
    state: State,
    next_tx: f64,
    create_stream_tx: f64,
    stream_id: u32,
    acks: AckWindow,
}

const CONNECT_TX: f64 = 1.0;

impl ClientSession {
    /// A session that will publish or play `config.stream`.
    pub fn new(config: ClientConfig, role: Role) -> ClientSession {
        ClientSession {
            config,
            role,
            state: State::Connecting,
            next_tx: CONNECT_TX + 1.0,
            create_stream_tx: 0.0,
            stream_id: 0,
            acks: AckWindow::default(),
        }
    }

    /// The message stream id the server gave us (0 before `createStream`).
    pub fn stream_id(&self) -> u32 {
        self.stream_id
    }

    /// The first messages: Set Chunk Size, then `connect`.
    pub fn start(&mut self) -> Vec<ClientEvent> {
        let usual = match self.role {
            Role::Publish => "FMLE/3.0 (compatible; rustic_rtmp)",
            Role::Play => "LNX 9,0,124,2",
        };
        let flash_ver = self.config.flash_ver.clone().unwrap_or_else(|| usual.to_owned());
        let object = Amf0Value::object([
            ("app", Amf0Value::string(self.config.app.clone())),
            ("type", Amf0Value::string("nonprivate")),
            ("flashVer", Amf0Value::string(flash_ver)),
            ("tcUrl", Amf0Value::string(self.config.tc_url.clone())),
            ("fpad", Amf0Value::Boolean(false)),
            ("capabilities", Amf0Value::Number(15.0)),
            ("audioCodecs", Amf0Value::Number(4071.0)),
            ("videoCodecs", Amf0Value::Number(252.0)),
            ("videoFunction", Amf0Value::Number(1.0)),
            ("objectEncoding", Amf0Value::Number(0.0)),
            // E-RTMP: relays forward whatever codec arrives.
            ("fourCcList", Amf0Value::StrictArray(vec![Amf0Value::string("*")])),
        ]);
        vec![
            control_message(Message::SetChunkSize(self.config.chunk_size)),
            command(0, Command::new("connect", CONNECT_TX, object, vec![])),
        ]
    }

    /// Counts bytes read; returns an Acknowledgement when a window is full.
    pub fn bytes_received(&mut self, n: usize) -> Option<ClientEvent> {
        self.acks.bytes_received(n).map(ClientEvent::Send)
    }

    /// A frame to send while publishing, as a message on our stream.
    pub fn frame_message(&self, frame: &Frame) -> Outbound {
        let (chunk_csid, message) = match frame.kind {
            FrameKind::Audio => (csid::AUDIO, Message::Audio(frame.payload.clone())),
            FrameKind::Video => (csid::VIDEO, Message::Video(frame.payload.clone())),
            FrameKind::Metadata => (
                csid::DATA,
                Message::Other {
                    type_id: type_id::DATA_AMF0,
                    payload: frame.payload.clone(),
                },
            ),
        };
        Outbound {
            csid: chunk_csid,
            timestamp: frame.timestamp,
            stream_id: self.stream_id,
            message,
        }
    }

    /// Handles one message from the server.
    pub fn handle(&mut self, raw: RawMessage) -> Result<Vec<ClientEvent>, SessionError> {
        let timestamp = raw.timestamp;
        let mut events = Vec::new();
        match Message::decode(raw.type_id, raw.payload)? {
            Message::Command(c) | Message::CommandAmf3(c) => self.command(c, &mut events),
            Message::WindowAckSize(size) => self.acks.window = size,
            Message::UserControl(UserControl::PingRequest(t)) => {
                events.push(control_message(Message::UserControl(UserControl::PingResponse(t))));
            }
            Message::UserControl(UserControl::StreamEof(_)) => events.push(ClientEvent::StreamEnd),
            Message::Audio(payload) => self.media(FrameKind::Audio, timestamp, payload, &mut events),
            Message::Video(payload) => self.media(FrameKind::Video, timestamp, payload, &mut events),
            Message::Data(values) | Message::DataAmf3(values)
                if values.first().and_then(Amf0Value::as_str) == Some("onMetaData") =>
            {
                let mut payload = Vec::new();
                amf0::encode_all(&values, &mut payload);
                self.media(FrameKind::Metadata, timestamp, payload, &mut events);
            }
            _ => {}
        }
        Ok(events)
    }

    fn media(&self, kind: FrameKind, timestamp: RtmpTime, payload: Vec<u8>, events: &mut Vec<ClientEvent>) {
        if self.role == Role::Play && self.state == State::Running {
            events.push(ClientEvent::Media(Frame {
                kind,
                timestamp,
                payload,
            }));
        }
    }

    fn take_tx(&mut self) -> f64 {
        let tx = self.next_tx;
        self.next_tx += 1.0;
        tx
    }

    fn fail(&mut self, code: &str, description: &str, events: &mut Vec<ClientEvent>) {
        self.state = State::Failed;
        events.push(ClientEvent::Failed {
            code: code.to_owned(),
            description: description.to_owned(),
        });
    }

    fn command(&mut self, c: Command, events: &mut Vec<ClientEvent>) {
        debug!("client got {} tx={}", Escaped(&c.name), c.transaction_id);
        let info_text = |key: &str| {
            c.args
                .first()
                .and_then(|info| info.property(key))
                .and_then(Amf0Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match (c.name.as_str(), self.state) {
            ("_result", State::Connecting) if c.transaction_id == CONNECT_TX => {
                let name = Amf0Value::string(self.config.stream.clone());
                if self.role == Role::Publish {
                    // Interop: as OBS and ffmpeg, without waiting for replies.
                    let release = self.take_tx();
                    events.push(command(
                        0,
                        Command::new("releaseStream", release, Amf0Value::Null, vec![name.clone()]),
                    ));
                    let fc = self.take_tx();
                    events.push(command(0, Command::new("FCPublish", fc, Amf0Value::Null, vec![name])));
                }
                self.create_stream_tx = self.take_tx();
                events.push(command(
                    0,
                    Command::new("createStream", self.create_stream_tx, Amf0Value::Null, vec![]),
                ));
                self.state = State::CreatingStream;
            }
            ("_result", State::CreatingStream) if c.transaction_id == self.create_stream_tx => {
                self.stream_id = c.args.first().and_then(Amf0Value::as_number).unwrap_or(1.0) as u32;
                let name = Amf0Value::string(self.config.stream.clone());
                let tx = self.take_tx();
                let start = match self.role {
                    Role::Publish => {
                        Command::new("publish", tx, Amf0Value::Null, vec![name, Amf0Value::string("live")])
                    }
                    Role::Play => Command::new("play", tx, Amf0Value::Null, vec![name, Amf0Value::Number(-2.0)]),
                };
                events.push(command(self.stream_id, start));
                if self.role == Role::Play {
                    events.push(control_message(Message::UserControl(UserControl::SetBufferLength {
                        stream_id: self.stream_id,
                        buffer_ms: 3000,
                    })));
                }
                self.state = State::Starting;
            }
            ("_error", State::Connecting | State::CreatingStream) => {
                let description = info_text("description");
                let code = info_text("code");
                self.fail(&code, &description, events);
            }
            ("onStatus", _) => {
                let (level, code) = (info_text("level"), info_text("code"));
                if level == status::LEVEL_ERROR {
                    let description = info_text("description");
                    self.fail(&code, &description, events);
                } else if self.state == State::Starting && code == status::PUBLISH_START {
                    self.state = State::Running;
                    events.push(ClientEvent::Publishing);
                } else if self.state == State::Starting && code == status::PLAY_START {
                    self.state = State::Running;
                    events.push(ClientEvent::Playing);
                }
            }
            _ => {}
        }
    }
}

fn command(stream_id: u32, command: Command) -> ClientEvent {
    ClientEvent::Send(Outbound {
        csid: csid::COMMAND,
        timestamp: RtmpTime::ZERO,
        stream_id,
        message: Message::Command(command),
    })
}

fn control_message(message: Message) -> ClientEvent {
    ClientEvent::Send(Outbound::control(message))
}
