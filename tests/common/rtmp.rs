//! A raw RTMP client built from the library's public protocol pieces, for
//! exchanges no installed client makes (exact status codes, odd timing).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use rustic_rtmp::protocol::amf0::Amf0Value;
use rustic_rtmp::protocol::chunk::{ChunkDecoder, ChunkEncoder, DecoderLimits};
use rustic_rtmp::protocol::command::Command;
use rustic_rtmp::protocol::handshake::{Handshake, Progress, Scheme};
use rustic_rtmp::protocol::message::{Message, RawMessage};
use rustic_rtmp::protocol::time::RtmpTime;

use super::WAIT;

pub struct RawClient {
    pub socket: TcpStream,
    decoder: ChunkDecoder,
    encoder: ChunkEncoder,
}

impl RawClient {
    /// Connects and completes the handshake.
    pub fn handshake(addr: SocketAddr) -> RawClient {
        let mut socket = TcpStream::connect(addr).expect("server accepts");
        socket.set_read_timeout(Some(WAIT)).unwrap();
        let mut handshake = Handshake::client(0, &[7; 1528], Scheme::Digest);
        socket.write_all(&handshake.take_output()).unwrap();
        let mut buf = [0u8; 4096];
        let leftover = loop {
            let n = socket.read(&mut buf).expect("handshake reply");
            assert!(n > 0, "server closed during the handshake");
            if let Progress::Done { leftover } = handshake.push(&buf[..n]).unwrap() {
                break leftover;
            }
        };
        socket.write_all(&handshake.take_output()).unwrap();
        Self::after_handshake(socket, &leftover)
    }

    /// Wraps a socket whose handshake is done.
    pub fn after_handshake(socket: TcpStream, leftover: &[u8]) -> RawClient {
        socket.set_read_timeout(Some(WAIT)).unwrap();
        let mut decoder = ChunkDecoder::new(DecoderLimits::default());
        decoder.push(leftover);
        RawClient {
            socket,
            decoder,
            encoder: ChunkEncoder::new(),
        }
    }

    pub fn send(&mut self, csid: u32, stream_id: u32, timestamp: u32, message: &Message) {
        self.try_send(csid, stream_id, timestamp, message).unwrap();
    }

    /// `send`, for a peer the server may close mid-write.
    pub fn try_send(&mut self, csid: u32, stream_id: u32, timestamp: u32, message: &Message) -> std::io::Result<()> {
        let mut out = Vec::new();
        self.encoder
            .encode(csid, RtmpTime(timestamp), stream_id, message, &mut out);
        self.socket.write_all(&out)
    }

    pub fn call(&mut self, stream_id: u32, name: &str, tx: f64, object: Amf0Value, args: Vec<Amf0Value>) {
        self.send(3, stream_id, 0, &Message::Command(Command::new(name, tx, object, args)));
    }

    /// The next message, or `None` once the server closes the connection.
    pub fn recv(&mut self) -> Option<(RawMessage, Message)> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(raw) = self.decoder.next_message().expect("server sends valid chunks") {
                let message = Message::decode(raw.type_id, raw.payload.clone()).expect("server sends valid messages");
                return Some((raw, message));
            }
            match self.socket.read(&mut buf) {
                Ok(0) => return None,
                Ok(n) => self.decoder.push(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("read from server: {e}"),
            }
        }
    }

    /// Reads until a message satisfies `want`; panics on close or after WAIT.
    pub fn recv_until(&mut self, what: &str, mut want: impl FnMut(&Message) -> bool) -> Message {
        let deadline = Instant::now() + WAIT;
        loop {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            match self.recv() {
                Some((_, m)) if want(&m) => return m,
                Some(_) => {}
                None => panic!("server closed before {what}"),
            }
        }
    }

    /// Reads until a command named `name` arrives and returns it.
    pub fn recv_command(&mut self, name: &str) -> Command {
        let is_it = |m: &Message| matches!(m, Message::Command(c) | Message::CommandAmf3(c) if c.name == name);
        match self.recv_until(name, is_it) {
            Message::Command(c) | Message::CommandAmf3(c) => c,
            _ => unreachable!(),
        }
    }

    /// The code of the next onStatus.
    pub fn recv_status_code(&mut self) -> String {
        let status = self.recv_command("onStatus");
        status.args[0]
            .property("code")
            .and_then(Amf0Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    /// Starts a `len`-byte video message on each of `csids` and feeds them
    /// in chunks of `chunk` bytes, never finishing one, until `total` bytes
    /// are offered or the server closes; returns the bytes the socket took.
    pub fn hold_unfinished(&mut self, chunk: usize, len: u32, csids: std::ops::Range<u8>, total: usize) -> usize {
        self.socket.set_write_timeout(Some(WAIT)).unwrap();
        let mut sent = 0;
        for round in 0.. {
            for csid in csids.clone() {
                let mut bytes = if round == 0 {
                    let mut header = vec![csid, 0, 0, 0];
                    header.extend_from_slice(&len.to_be_bytes()[1..]);
                    header.extend_from_slice(&[9, 1, 0, 0, 0]);
                    header
                } else {
                    vec![0xC0 | csid]
                };
                bytes.resize(bytes.len() + chunk, 0x5A);
                if sent >= total || self.socket.write_all(&bytes).is_err() {
                    return sent;
                }
                sent += bytes.len();
            }
        }
        sent
    }

    /// `connect` to `app` and wait for its `_result`.
    pub fn connect(&mut self, app: &str) {
        let object = Amf0Value::object([
            ("app", Amf0Value::string(app)),
            ("tcUrl", Amf0Value::string("rtmp://x/")),
        ]);
        let result = self.connect_with(1.0, object);
        assert_eq!((result.name.as_str(), result.transaction_id), ("_result", 1.0));
    }

    /// `connect` with transaction id `tx` and command object `object`;
    /// the `_result` or `_error` it gets.
    pub fn connect_with(&mut self, tx: f64, object: Amf0Value) -> Command {
        self.call(0, "connect", tx, object, vec![]);
        let is_reply = |m: &Message| matches!(m, Message::Command(c) | Message::CommandAmf3(c) if c.name == "_result" || c.name == "_error");
        match self.recv_until("_result or _error", is_reply) {
            Message::Command(c) | Message::CommandAmf3(c) => c,
            _ => unreachable!(),
        }
    }

    /// `createStream` then `publish name`; returns the first status code.
    pub fn publish(&mut self, name: &str) -> String {
        self.call(0, "createStream", 2.0, Amf0Value::Null, vec![]);
        self.recv_command("_result");
        self.call(
            1,
            "publish",
            3.0,
            Amf0Value::Null,
            vec![Amf0Value::string(name), Amf0Value::string("live")],
        );
        self.recv_status_code()
    }

    /// `createStream`, then `play name` (without waiting for its status).
    pub fn play(&mut self, name: &str) {
        self.call(0, "createStream", 2.0, Amf0Value::Null, vec![]);
        self.recv_command("_result");
        self.call(1, "play", 3.0, Amf0Value::Null, vec![Amf0Value::string(name)]);
    }

    /// True once the server has closed the connection (within WAIT).
    pub fn closed_by_server(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if self.recv().is_none() {
                return true;
            }
        }
        false
    }
}
