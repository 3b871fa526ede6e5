//! Entry points for fuzzers: bytes in, and the only acceptable outcomes are
//! values or errors. A panic here is a bug in rustic_rtmp, never bad input.
//!
//! Each runs on a thread with the stack a connection thread has, so that
//! recursion a peer could drive shows as the stack overflow it would be in
//! the server. `tests/fuzz_smoke.rs` runs them over the test vectors and
//! deterministic mutations in `cargo test`; `scripts/fuzz.sh` runs them
//! under libFuzzer.

use crate::config::THREAD_STACK;
use crate::media::ts_demux::Demuxer;
use crate::protocol::amf0::{self, Amf0Value};
use crate::protocol::amf3;
use crate::protocol::chunk::{ChunkDecoder, DecoderLimits};
use crate::protocol::command::Command;
use crate::protocol::handshake::{Handshake, Scheme};
use crate::protocol::message::{AggregateParts, Message, RawMessage, type_id};
use crate::protocol::reader::Reader;
use crate::protocol::srt::{Control, Extension, KeyFlags, Keys, KmResponse, Packet};
use crate::protocol::time::RtmpTime;
use crate::session::{Action, ClientConfig, ClientSession, Role, ServerSession, SessionConfig};

/// Runs `f` on a thread with a connection thread's stack; a panic there
/// is re-raised here, so the fuzzer sees it.
fn on_connection_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .stack_size(THREAD_STACK)
            .spawn_scoped(scope, f)
            .expect("a fuzz thread starts");
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    });
}

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
    on_connection_stack(|| handshake_on_this_thread(data));
}

fn handshake_on_this_thread(data: &[u8]) {
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
    on_connection_stack(|| chunk_decoder_on_this_thread(data));
}

fn chunk_decoder_on_this_thread(data: &[u8]) {
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
    on_connection_stack(|| amf_on_this_thread(data));
}

fn amf_on_this_thread(data: &[u8]) {
    // What decodes encodes to bytes that decode to the same value: the
    // same bytes again (compared as bytes, so a NaN equals itself). The
    // second decode gets the first one's memory budget: encoding writes
    // AMF3 inline, and the budget follows the length of the bytes.
    let budget = amf3::decode_budget(data.len());
    if let Ok(values) = amf0::decode_all(data) {
        let mut out = Vec::new();
        amf0::encode_all(&values, &mut out);
        let again = amf0::decode_all_within(&out, amf0::MAX_DEPTH, budget).expect("what amf0 encodes, it decodes");
        let mut out_again = Vec::new();
        amf0::encode_all(&again, &mut out_again);
        assert_eq!(out_again, out, "amf0 round trip changed the value");
    }
    let mut r = Reader::new(data);
    if let Ok(value) = amf3::decode(&mut r) {
        let mut out = Vec::new();
        amf3::encode(&value, &mut out);
        let (again, _) = amf3::decode_within(&mut Reader::new(&out), amf3::MAX_DEPTH, budget)
            .expect("what amf3 encodes, it decodes");
        let mut out_again = Vec::new();
        amf3::encode(&again, &mut out_again);
        assert_eq!(out_again, out, "amf3 round trip changed the value");
    }
}

/// A server session and a client session fed the chunk stream.
pub fn session(data: &[u8]) {
    on_connection_stack(|| session_on_this_thread(data));
}

fn session_on_this_thread(data: &[u8]) {
    let mut decoder = ChunkDecoder::new(limits());
    let mut server = ServerSession::new(SessionConfig::default());
    let config = ClientConfig {
        app: "live".into(),
        tc_url: "rtmp://localhost/live".into(),
        stream: "s".into(),
        chunk_size: 4096,
        flash_ver: None,
    };
    let mut client = ClientSession::new(config, Role::Play);
    client.start();
    decoder.push(data);
    while let Ok(Some(raw)) = decoder.next_message() {
        server.bytes_received(raw.payload.len());
        let _ = client.handle(raw.clone());
        drive(&mut server, raw);
    }
}

/// Hands `raw` to the server session with every part of an aggregate and
/// every request accepted, as the server's connection does.
fn drive(server: &mut ServerSession, raw: RawMessage) {
    let mut next = Some(server.handle(raw));
    while let Some(handled) = next {
        for action in handled.into_iter().flatten() {
            match action {
                Action::Connect { .. } => drop(server.accept_connect()),
                Action::Publish(..) => drop(server.accept_publish()),
                Action::Play(..) => drop(server.accept_play()),
                _ => {}
            }
        }
        next = server.next_parts();
    }
}

/// A server session taken through connect and publish (or play, when the
/// first byte is odd), then fed whole messages: each a type id, a 16-bit
/// length and that many payload bytes. It reaches the states behind
/// `connect` and `publish` (media, metadata, aggregates) that random chunk
/// streams rarely do.
pub fn session_messages(data: &[u8]) {
    on_connection_stack(|| session_messages_on_this_thread(data));
}

fn session_messages_on_this_thread(data: &[u8]) {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let mut server = ServerSession::new(SessionConfig::default());
    let command = |name: &str, tx: f64, object: Amf0Value, args: Vec<Amf0Value>| {
        let mut payload = Vec::new();
        Command::new(name, tx, object, args).encode(&mut payload);
        RawMessage {
            csid: 3,
            timestamp: RtmpTime::ZERO,
            type_id: type_id::COMMAND_AMF0,
            stream_id: 0,
            payload,
        }
    };
    let role = if first % 2 == 0 { "publish" } else { "play" };
    for raw in [
        command(
            "connect",
            1.0,
            Amf0Value::object([("app", Amf0Value::string("live"))]),
            vec![],
        ),
        command("createStream", 2.0, Amf0Value::Null, vec![]),
        command(role, 3.0, Amf0Value::Null, vec![Amf0Value::string("s")]),
    ] {
        drive(&mut server, raw);
    }
    let mut timestamp = 0u32;
    while let [type_id, high, low, more @ ..] = rest {
        let len = (usize::from(*high) << 8 | usize::from(*low)).min(more.len());
        let (payload, next) = more.split_at(len);
        timestamp = timestamp.wrapping_add(u32::from(*low));
        drive(
            &mut server,
            RawMessage {
                csid: 4,
                timestamp: RtmpTime(timestamp),
                type_id: *type_id,
                stream_id: 1,
                payload: payload.to_vec(),
            },
        );
        rest = next;
    }
}

/// The MPEG-TS demuxer an SRT publisher's stream goes through, fed in
/// pieces as datagrams come, with a small PES limit so inputs reach it.
pub fn ts_demux(data: &[u8]) {
    on_connection_stack(|| {
        let mut demuxer = Demuxer::new(64 * 1024);
        for piece in pieces(data) {
            drop(demuxer.push(piece));
        }
        drop(demuxer.finish());
    });
}

/// One SRT datagram parsed; what parses must encode to bytes that parse
/// to the same packet.
pub fn srt_packet(data: &[u8]) {
    on_connection_stack(|| {
        if let Ok(packet) = Packet::parse(data) {
            let mut bytes = Vec::new();
            packet.encode(&mut bytes);
            assert_eq!(
                Packet::parse(&bytes).as_ref(),
                Ok(&packet),
                "{packet:?} encodes to what it parses"
            );
        }
    });
}

/// SRT key material, from the bytes themselves and from the KMREQ/KMRSP
/// blocks of a handshake datagram: what parses must encode to bytes that
/// parse to the same value. Material parsed from the bytes themselves is
/// also unwrapped with a fixed passphrase (which fails unless the input
/// wrapped its keys with it) and, if that succeeds, used on a payload; the
/// blocks inside datagrams are not, as PBKDF2 per mutant would make the
/// smoke test crawl.
pub fn srt_key_material(data: &[u8]) {
    fn round_trip(bytes: &[u8]) -> Option<KmResponse> {
        let response = KmResponse::parse(bytes).ok()?;
        let mut out = Vec::new();
        response.encode(&mut out);
        assert_eq!(
            KmResponse::parse(&out).as_ref(),
            Ok(&response),
            "{response:?} encodes to what it parses"
        );
        Some(response)
    }
    on_connection_stack(|| {
        if let Some(KmResponse::Accepted(km)) = round_trip(data)
            && let Ok(keys) = Keys::new(b"0123456789abc", &km)
        {
            for key in [KeyFlags::Even, KeyFlags::Odd] {
                drop(keys.crypt(key, 1, &mut [0; 64]));
            }
        }
        if let Ok(Packet::Control(packet)) = Packet::parse(data)
            && let Control::Handshake(hs) = packet.body
        {
            for extension in &hs.extensions {
                if let Extension::KmReq(bytes) | Extension::KmRsp(bytes) = extension {
                    round_trip(bytes);
                }
            }
        }
    });
}
