//! Entry points for fuzzers: bytes in, and the only acceptable outcomes are
//! values or errors. A panic here is a bug in rustic_rtmp, never bad input.
//!
//! `tests/fuzz_smoke.rs` runs them over the test vectors and deterministic
//! mutations in `cargo test`; `scripts/fuzz.sh` runs them under libFuzzer.

use crate::protocol::amf0;
use crate::protocol::amf3;
use crate::protocol::chunk::{ChunkDecoder, DecoderLimits};
use crate::protocol::handshake::{Handshake, Scheme};
use crate::protocol::message::{AggregateParts, Message};
use crate::protocol::reader::Reader;
use crate::session::{Action, ClientConfig, ClientSession, Role, ServerSession, SessionConfig};

/// Small limits so inputs reach them.
fn limits() -> DecoderLimits {
    DecoderLimits {
        max_message_len: 64 * 1024,
        max_chunk_streams: 8,
        max_partial_bytes: 128 * 1024,
        max_chunk_size: 64 * 1024,
    }
}

/// Splits `data` into pieces whose sizes come from the data itself, so a
/// fuzzer also explores where reads end.
fn pieces(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let (step, rest) = match data.split_first() {
        Some((&b, rest)) => ((b as usize % 61) + 1, rest),
        None => (1, data),
    };
    rest.chunks(step)
}

/// Both handshake roles fed the input.
pub fn handshake(data: &[u8]) {
    let mut server = Handshake::server(1, &[7; 1528]);
    for piece in pieces(data) {
        if server.push(piece).is_err() {
            break;
        }
        server.take_output();
    }
    for scheme in [Scheme::Simple, Scheme::Digest] {
        let mut client = Handshake::client(2, &[9; 1528], scheme);
        let _ = client.push(data);
    }
}

/// The chunk decoder, every message decoded, aggregates split.
pub fn chunk_decoder(data: &[u8]) {
    let mut decoder = ChunkDecoder::new(limits());
    for piece in pieces(data) {
        decoder.push(piece);
        loop {
            match decoder.next_message() {
                Ok(Some(raw)) => {
                    if let Ok(Message::Aggregate(payload)) = Message::decode(raw.type_id, raw.payload) {
                        AggregateParts::new(raw.timestamp, raw.stream_id, payload).for_each(drop);
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
}

/// AMF0 and AMF3 decoding; what decodes must encode and decode again.
pub fn amf(data: &[u8]) {
    if let Ok(values) = amf0::decode_all(data) {
        let mut out = Vec::new();
        amf0::encode_all(&values, &mut out);
        amf0::decode_all(&out).expect("what amf0 encodes, it decodes");
    }
    let mut r = Reader::new(data);
    if let Ok(value) = amf3::decode(&mut r) {
        let mut out = Vec::new();
        amf3::encode(&value, &mut out);
        amf3::decode(&mut Reader::new(&out)).expect("what amf3 encodes, it decodes");
    }
}

/// A server session and a client session fed the chunk stream.
pub fn session(data: &[u8]) {
    let mut decoder = ChunkDecoder::new(limits());
    let mut server = ServerSession::new(SessionConfig::default());
    let config = ClientConfig {
        app: "live".into(),
        tc_url: "rtmp://localhost/live".into(),
        stream: "s".into(),
        chunk_size: 4096,
    };
    let mut client = ClientSession::new(config, Role::Play);
    client.start();
    decoder.push(data);
    while let Ok(Some(raw)) = decoder.next_message() {
        server.bytes_received(raw.payload.len());
        let _ = client.handle(raw.clone());
        let mut handled = server.handle(raw);
        loop {
            for action in handled.into_iter().flatten() {
                match action {
                    Action::Connect { .. } => drop(server.accept_connect()),
                    Action::Publish(..) => drop(server.accept_publish()),
                    Action::Play(..) => drop(server.accept_play()),
                    _ => {}
                }
            }
            match server.next_parts() {
                Some(next) => handled = next,
                None => break,
            }
        }
    }
}
