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
        let mut out = Vec::new();
        self.encoder
            .encode(csid, RtmpTime(timestamp), stream_id, message, &mut out);
        self.socket.write_all(&out).unwrap();
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

    /// `connect` to `app` and wait for its `_result`.
    pub fn connect(&mut self, app: &str) {
        let object = Amf0Value::object([
            ("app", Amf0Value::string(app)),
            ("tcUrl", Amf0Value::string("rtmp://x/")),
        ]);
        self.call(0, "connect", 1.0, object, vec![]);
        let result = self.recv_command("_result");
        assert_eq!(result.transaction_id, 1.0);
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
