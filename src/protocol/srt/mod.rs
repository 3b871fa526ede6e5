//! SRT packets as values: the wire format of draft-sharabayko-srt §3, no I/O.
//!
//! [`Packet::parse`] turns one UDP datagram into a [`Packet`] and
//! [`Packet::encode`] appends one to a caller-owned buffer. Both are pure
//! functions over bytes; a malformed datagram is a [`PacketError`] naming the
//! field and its offset, never a panic.
//!
//! ```
//! use rustic_rtmp::protocol::srt::{Control, Packet};
//!
//! let keepalive = [
//!     0x80, 0x01, 0x00, 0x00, // control, KEEPALIVE, subtype 0
//!     0x00, 0x00, 0x00, 0x00, // type-specific information
//!     0x00, 0x0f, 0x42, 0x40, // timestamp: 1 s
//!     0x04, 0x5f, 0x77, 0x33, // destination socket id
//!     0x00, 0x00, 0x00, 0x00, // libsrt's padding
//! ];
//! let Packet::Control(packet) = Packet::parse(&keepalive)? else {
//!     unreachable!("the first bit says control")
//! };
//! assert_eq!(packet.body, Control::KeepAlive);
//! assert_eq!(packet.timestamp, 1_000_000);
//!
//! let mut out = Vec::new();
//! Packet::Control(packet).encode(&mut out);
//! assert_eq!(out, keepalive);
//! # Ok::<(), rustic_rtmp::protocol::srt::PacketError>(())
//! ```
//!
//! In scope:
//! - the 16-byte header of data and control packets (§3.1, §3.2);
//! - the control bodies a live-mode listener needs: HANDSHAKE with its v5
//!   extension blocks HSREQ/HSRSP and SID (§3.2.1), KEEPALIVE, ACK (full,
//!   small and light), NAK loss lists, ACKACK, SHUTDOWN and DROPREQ (§3.2.2-8);
//! - the stream id a caller sends, read as a [`StreamRequest`] (publish or
//!   read, app, name, query) in MediaMTX's, SRT's access-control and SRS's
//!   forms;
//! - encryption as pure functions: the Key Material message of a KMREQ or
//!   KMRSP block ([`KeyMaterial`], [`KmResponse`]) and the keys it wraps,
//!   which encrypt and decrypt data payloads ([`Keys`]), and take a key
//!   refresh's new keys ([`Keys::renew`]) from a KMREQ control packet
//!   ([`Control::KeyMaterialRequest`]).
//!
//! Out of scope (`session::srt`): the handshake and connection state
//! machines, ARQ, TSBPD and congestion control. KMREQ/KMRSP blocks and
//! control packets, other extension blocks and unknown control types are
//! kept as raw bytes so that they survive a parse/encode round trip;
//! `KeyMaterial::parse` reads a KMREQ's bytes as they are.

mod control;
mod error;
mod handshake;
mod key_error;
mod key_material;
mod keys;
mod packet;
mod stream_id;
mod wire;

pub use control::{Ack, AckStats, Control, DropRequest, LossRange};
pub use error::PacketError;
pub use handshake::{Extension, Handshake, HandshakeType, SrtFlags, SrtHandshake};
pub use key_error::KeyError;
pub use key_material::{KeyMaterial, KmResponse, KmState};
pub use keys::Keys;
pub use packet::{ControlPacket, DataPacket, KeyFlags, Packet, Position};
pub use stream_id::{MAX_LEN as MAX_STREAM_ID_LEN, Mode, StreamIdError, StreamRequest};
pub use wire::SocketId;

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: [&[u8]; 10] = [
        include_bytes!("../../../tests/data/srt-induction-response-slt.bin"),
        include_bytes!("../../../tests/data/srt-conclusion-response-slt.bin"),
        include_bytes!("../../../tests/data/srt-ack-slt.bin"),
        include_bytes!("../../../tests/data/srt-ackack-ffmpeg.bin"),
        include_bytes!("../../../tests/data/srt-data-ffmpeg.bin"),
        include_bytes!("../../../tests/data/srt-shutdown-ffmpeg.bin"),
        include_bytes!("../../../tests/data/srt-induction-ffmpeg.bin"),
        include_bytes!("../../../tests/data/srt-conclusion-ffmpeg.bin"),
        include_bytes!("../../../tests/data/srt-conclusion-ffmpeg-read.bin"),
        include_bytes!("../../../tests/data/srt-conclusion-slt.bin"),
    ];

    /// Whatever `parse` accepts, it accepts again after `encode`, as the
    /// same value.
    fn parse_is_stable(bytes: &[u8]) {
        if let Ok(packet) = Packet::parse(bytes) {
            let mut out = Vec::new();
            packet.encode(&mut out);
            assert_eq!(Packet::parse(&out), Ok(packet), "{bytes:02x?}");
        }
    }

    #[test]
    fn every_prefix_of_every_vector_parses_or_errs() {
        for vector in VECTORS {
            for len in 0..=vector.len() {
                parse_is_stable(&vector[..len]);
            }
            assert!(Packet::parse(&vector[..15]).is_err(), "the header is 16 bytes");
            if vector.starts_with(&[0x80, 0x00]) {
                assert!(Packet::parse(&vector[..63]).is_err(), "the CIF is 48 bytes");
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        // xorshift64: a fixed sequence, so a failure reproduces.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let len = (next() % 120) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Half the time, a control packet of a known type, so the body
            // parsers see random input too.
            if round % 2 == 0 && len >= 4 {
                bytes[0] = 0x80;
                bytes[1] = (next() % 9) as u8;
            }
            parse_is_stable(&bytes);
        }
        // And each vector with one byte flipped.
        for vector in VECTORS {
            for i in 0..vector.len() {
                let mut bytes = vector.to_vec();
                bytes[i] ^= next() as u8 | 1;
                parse_is_stable(&bytes);
            }
        }
    }
}
