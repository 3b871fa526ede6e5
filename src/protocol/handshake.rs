//! The RTMP handshake (RTMP 1.0 §5.2), both roles, simple scheme.
//!
//! ```text
//!  client                      server
//!  C0 C1  ------------------>             WaitC0C1 -> S0 S1 S2
//!         <------------------  S0 S1 S2
//!  C2     ------------------>             WaitC2   -> Done(leftover)
//! ```
//!
//! In scope: accepting every C1 real clients send (version zero, as OBS,
//! GStreamer and rtmpdump send, and the FP9 digest layout ffmpeg sends) and
//! answering with the simple scheme; the client role, for tests and relays.
//! Out of scope (issue #3): computing or checking FP9 digests.
//!
//! Interop: a simple-scheme S1 carries version 0.0.0.0, because ffmpeg checks
//! the server's digest whenever S1's version byte is 3 or more, and librtmp
//! falls back to the simple scheme only when it is zero. S2 echoes C1 whole,
//! because GStreamer rejects an S2 whose bytes 8.. differ from its C1. C2 is
//! never checked: GStreamer overwrites bytes 4..8 and ffmpeg sends random
//! bytes plus a digest.
//!
//! Time and random bytes come in as arguments, so the output is exact:
//!
//! ```
//! use rustic_rtmp::protocol::handshake::{Handshake, Progress};
//! let mut client = Handshake::client(7, &[1; 1528]);
//! let mut server = Handshake::server(9, &[2; 1528]);
//! assert_eq!(server.push(&client.take_output()).unwrap(), Progress::InProgress);
//! let done = client.push(&server.take_output()).unwrap();
//! assert_eq!(done, Progress::Done { leftover: vec![] });
//! let mut c2_and_more = client.take_output();
//! c2_and_more.extend_from_slice(b"chunks");
//! let done = server.push(&c2_and_more).unwrap();
//! assert_eq!(done, Progress::Done { leftover: b"chunks".to_vec() });
//! ```

use std::fmt;

/// The only protocol version RTMP 1.0 defines (C0/S0).
pub const RTMP_VERSION: u8 = 3;
/// Size of C1, C2, S1 and S2.
pub const PACKET_SIZE: usize = 1536;
/// Random bytes in C1/S1 after the 4-byte time and 4-byte version fields.
pub const RANDOM_SIZE: usize = PACKET_SIZE - 8;

/// What went wrong in a handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// C0 or S0 named a version other than 3 (6 is RTMPE; an ASCII letter is
    /// usually HTTP or TLS sent to the RTMP port).
    UnsupportedVersion(u8),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::UnsupportedVersion(v) => {
                write!(f, "handshake version {v} (0x{v:02x}) is not RTMP version 3")
            }
        }
    }
}

impl std::error::Error for HandshakeError {}

/// Where a handshake stands after a `push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// More bytes are needed; send whatever `take_output` returns.
    InProgress,
    /// The handshake is over; `leftover` are bytes that followed it in the
    /// same read and belong to the chunk stream.
    Done {
        /// Bytes after the last handshake packet.
        leftover: Vec<u8>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Server: waiting for C0 and C1.
    WaitC0C1,
    /// Server: waiting for C2.
    WaitC2,
    /// Client: waiting for S0, S1 and S2.
    WaitS0S1S2,
    Done,
}

/// One side of the handshake as a push/pull state machine.
#[derive(Debug)]
pub struct Handshake {
    state: State,
    input: Vec<u8>,
    output: Vec<u8>,
    /// Our C1 or S1, as sent.
    own_packet: Vec<u8>,
}

fn own_packet(epoch: u32, random: &[u8; RANDOM_SIZE]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(PACKET_SIZE);
    packet.extend_from_slice(&epoch.to_be_bytes());
    packet.extend_from_slice(&[0; 4]); // version 0.0.0.0: the simple scheme
    packet.extend_from_slice(random);
    packet
}

impl Handshake {
    /// The server role: waits for C0+C1. `epoch` is S1's time field.
    pub fn server(epoch: u32, random: &[u8; RANDOM_SIZE]) -> Handshake {
        Handshake {
            state: State::WaitC0C1,
            input: Vec::new(),
            output: Vec::new(),
            own_packet: own_packet(epoch, random),
        }
    }

    /// The client role: C0+C1 are ready in `take_output` at once.
    pub fn client(epoch: u32, random: &[u8; RANDOM_SIZE]) -> Handshake {
        let own = own_packet(epoch, random);
        let mut output = Vec::with_capacity(1 + PACKET_SIZE);
        output.push(RTMP_VERSION);
        output.extend_from_slice(&own);
        Handshake {
            state: State::WaitS0S1S2,
            input: Vec::new(),
            output,
            own_packet: own,
        }
    }

    /// Bytes to send to the peer now; empty when there are none.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Feeds bytes read from the peer. Bytes pushed after `Done` are returned
    /// as leftover again.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Progress, HandshakeError> {
        self.input.extend_from_slice(bytes);
        loop {
            match self.state {
                State::WaitC0C1 => {
                    let Some((c0, c1)) = split_version(&self.input, 1 + PACKET_SIZE)? else {
                        return Ok(Progress::InProgress);
                    };
                    debug_assert_eq!(c0, RTMP_VERSION);
                    self.output.push(RTMP_VERSION); // S0
                    self.output.extend_from_slice(&self.own_packet); // S1
                    self.output.extend_from_slice(c1); // S2 echoes C1
                    self.input.drain(..1 + PACKET_SIZE);
                    self.state = State::WaitC2;
                }
                State::WaitC2 => {
                    if self.input.len() < PACKET_SIZE {
                        return Ok(Progress::InProgress);
                    }
                    self.input.drain(..PACKET_SIZE);
                    self.state = State::Done;
                }
                State::WaitS0S1S2 => {
                    let Some((_, s1_s2)) = split_version(&self.input, 1 + 2 * PACKET_SIZE)? else {
                        return Ok(Progress::InProgress);
                    };
                    let s1 = s1_s2.get(..PACKET_SIZE).unwrap_or_default();
                    self.output.extend_from_slice(s1); // C2 echoes S1
                    self.input.drain(..1 + 2 * PACKET_SIZE);
                    self.state = State::Done;
                }
                State::Done => {
                    return Ok(Progress::Done {
                        leftover: std::mem::take(&mut self.input),
                    });
                }
            }
        }
    }
}

/// When `input` holds at least `len` bytes, checks the version byte and
/// returns it with the `len - 1` bytes after it.
fn split_version(input: &[u8], len: usize) -> Result<Option<(u8, &[u8])>, HandshakeError> {
    let Some((&version, rest)) = input.split_first() else {
        return Ok(None);
    };
    if version != RTMP_VERSION {
        return Err(HandshakeError::UnsupportedVersion(version));
    }
    Ok(rest.get(..len - 1).map(|packet| (version, packet)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c0c1_from_ffmpeg_layout() -> Vec<u8> {
        // ffmpeg sends version 9.0.124.2 and a digest; the server must answer
        // it with the simple scheme all the same.
        let mut c0c1 = vec![3, 0, 0, 0, 0, 9, 0, 124, 2];
        c0c1.extend((0..RANDOM_SIZE).map(|i| (i % 251) as u8));
        c0c1
    }

    #[test]
    fn server_answers_s0_s1_s2_byte_exact() {
        let c0c1 = c0c1_from_ffmpeg_layout();
        let mut server = Handshake::server(0x01020304, &[0xAB; RANDOM_SIZE]);
        assert_eq!(server.push(&c0c1), Ok(Progress::InProgress));
        let out = server.take_output();
        assert_eq!(out.len(), 1 + 2 * PACKET_SIZE);
        assert_eq!(&out[..9], &[3, 1, 2, 3, 4, 0, 0, 0, 0]); // S0, time, zero version
        assert!(out[9..1 + PACKET_SIZE].iter().all(|&b| b == 0xAB));
        assert_eq!(&out[1 + PACKET_SIZE..], &c0c1[1..]); // S2 == C1
    }

    #[test]
    fn server_accepts_any_c2_and_returns_what_follows_it() {
        let c0c1 = c0c1_from_ffmpeg_layout();
        let mut input = c0c1.clone();
        input.extend_from_slice(&[0x55; PACKET_SIZE]); // C2 unlike S1: never checked
        input.extend_from_slice(&[0x02, 0xFF]);
        // Fed split at every point, the outcome is the same.
        for split in 0..=input.len() {
            let mut server = Handshake::server(0, &[0; RANDOM_SIZE]);
            let mut leftover = Vec::new();
            for piece in [&input[..split], &input[split..]] {
                if let Progress::Done { leftover: more } = server.push(piece).unwrap() {
                    leftover.extend(more);
                }
            }
            assert_eq!(leftover, vec![0x02, 0xFF], "split at {split}");
            assert_eq!(server.take_output().len(), 1 + 2 * PACKET_SIZE);
        }
    }

    #[test]
    fn byte_at_a_time_completes() {
        let mut input = c0c1_from_ffmpeg_layout();
        input.extend_from_slice(&[0; PACKET_SIZE]);
        let mut server = Handshake::server(0, &[0; RANDOM_SIZE]);
        let mut last = Progress::InProgress;
        for b in &input {
            last = server.push(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(last, Progress::Done { leftover: vec![] });
    }

    #[test]
    fn ffmpeg_c0c1_capture_gets_s2_echoing_it() {
        // ffmpeg 5.1's C0+C1: version 9.0.124.2 with a digest.
        let c0c1 = include_bytes!("../../tests/data/ffmpeg-c0c1.bin");
        assert_eq!(&c0c1[..9], &[3, 0, 0, 0, 0, 9, 0, 124, 2]);
        let mut server = Handshake::server(0, &[0; RANDOM_SIZE]);
        assert_eq!(server.push(c0c1), Ok(Progress::InProgress));
        let out = server.take_output();
        assert_eq!(&out[5..9], &[0, 0, 0, 0], "S1 version stays zero");
        assert_eq!(&out[1 + PACKET_SIZE..], &c0c1[1..]);
    }

    #[test]
    fn rejects_a_version_other_than_3() {
        let mut server = Handshake::server(0, &[0; RANDOM_SIZE]);
        assert_eq!(
            server.push(b"GET / HTTP/1.1"),
            Err(HandshakeError::UnsupportedVersion(b'G'))
        );
        assert_eq!(
            HandshakeError::UnsupportedVersion(6).to_string(),
            "handshake version 6 (0x06) is not RTMP version 3"
        );
    }

    #[test]
    fn client_sends_c0_c1_then_echoes_s1_as_c2() {
        let mut client = Handshake::client(5, &[7; RANDOM_SIZE]);
        let c0c1 = client.take_output();
        assert_eq!(&c0c1[..9], &[3, 0, 0, 0, 5, 0, 0, 0, 0]);
        let mut s = vec![3];
        s.extend_from_slice(&[9; PACKET_SIZE]);
        s.extend_from_slice(&c0c1[1..]);
        assert_eq!(client.push(&s), Ok(Progress::Done { leftover: vec![] }));
        assert_eq!(client.take_output(), vec![9; PACKET_SIZE]);
    }
}
