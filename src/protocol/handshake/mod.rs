//! The RTMP handshake (RTMP 1.0 §5.2), both roles, simple and FP9 digest
//! schemes.
//!
//! ```text
//!  client                      server
//!  C0 C1  ------------------>             WaitC0C1 -> S0 S1 S2
//!         <------------------  S0 S1 S2
//!  C2     ------------------>             WaitC2   -> Done(leftover)
//! ```
//!
//! In scope: answering every C1 real clients send; a C1 with version zero
//! (OBS, GStreamer, rtmpdump without SWF verification) gets the simple
//! scheme, a C1 carrying a valid FP9 digest (ffmpeg, Flash) gets a digest
//! S1 and an S2 signed from that digest (see `digest.rs`); a non-zero version
//! without a valid digest gets the simple scheme too, as nginx-rtmp does.
//! The client role sends either scheme and checks a digest server's answer.
//!
//! Interop: a simple-scheme S1 carries version 0.0.0.0, because ffmpeg checks
//! the server's digest whenever S1's version byte is 3 or more, and librtmp
//! falls back to the simple scheme only when it is zero. A simple S2 echoes
//! C1 whole, because GStreamer rejects an S2 whose bytes 8.. differ from its
//! C1. C2 is never checked: GStreamer overwrites bytes 4..8 and Flash fails
//! strict checks.
//!
//! Time and random bytes come in as arguments, so the output is exact:
//!
//! ```
//! use rustic_rtmp::protocol::handshake::{Handshake, Progress, Scheme};
//! let mut client = Handshake::client(7, &[1; 1528], Scheme::Digest);
//! let mut server = Handshake::server(9, &[2; 1528]);
//! assert_eq!(server.push(&client.take_output()).unwrap(), Progress::InProgress);
//! assert_eq!(server.scheme(), Some(Scheme::Digest));
//! let done = client.push(&server.take_output()).unwrap();
//! assert_eq!(done, Progress::Done { leftover: vec![] });
//! let mut c2_and_more = client.take_output();
//! c2_and_more.extend_from_slice(b"chunks");
//! let done = server.push(&c2_and_more).unwrap();
//! assert_eq!(done, Progress::Done { leftover: b"chunks".to_vec() });
//! ```

mod digest;

use std::fmt;

use digest::{DIGEST_SIZE, Layout, Signer};

/// The only protocol version RTMP 1.0 defines (C0/S0).
pub const RTMP_VERSION: u8 = 3;
/// Size of C1, C2, S1 and S2.
pub const PACKET_SIZE: usize = 1536;
/// Random bytes in C1/S1 after the 4-byte time and 4-byte version fields.
pub const RANDOM_SIZE: usize = PACKET_SIZE - 8;
/// The version our digest S1 announces (a Flash Media Server 5 style
/// version; any first byte of 3 or more makes ffmpeg check the digest).
const SERVER_VERSION: [u8; 4] = [5, 0, 3, 1];
/// The version our digest C1 announces, as ffmpeg does.
const CLIENT_VERSION: [u8; 4] = [9, 0, 124, 2];

/// Which handshake scheme a side uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// RTMP 1.0 §5.2: version 0, echoed packets.
    Simple,
    /// FP9: HMAC-SHA256 digests and signatures.
    Digest,
}

/// What went wrong in a handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandshakeError {
    /// C0 or S0 named a version other than 3 (6 is RTMPE; an ASCII letter is
    /// usually HTTP or TLS sent to the RTMP port).
    UnsupportedVersion(u8),
    /// The server's S1 announced a version but its digest does not verify.
    BadServerDigest,
    /// The server's S2 is not signed for our C1's digest.
    BadServerSignature,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::UnsupportedVersion(v) => {
                write!(f, "handshake version {v} (0x{v:02x}) is not RTMP version 3")
            }
            HandshakeError::BadServerDigest => write!(f, "handshake S1 digest does not verify"),
            HandshakeError::BadServerSignature => write!(f, "handshake S2 signature does not verify"),
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
    epoch: u32,
    random: Vec<u8>,
    /// Client: the digest of our C1, when we sent one.
    own_digest: Option<[u8; DIGEST_SIZE]>,
    /// The scheme agreed on, once known.
    scheme: Option<Scheme>,
}

/// Filler for the random field of C1/S1, from a seed the caller picks (the
/// clock, a connection id). Not a secret, only distinct per connection, so
/// a xorshift generator does.
pub fn random_filler(seed: u64) -> [u8; RANDOM_SIZE] {
    let mut x = seed | 1;
    let mut out = [0u8; RANDOM_SIZE];
    for chunk in out.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(x.to_le_bytes().get(..chunk.len()).unwrap_or_default());
    }
    out
}

/// C1 or S1: time, version, random bytes.
fn packet(epoch: u32, version: [u8; 4], random: &[u8]) -> Vec<u8> {
    let mut packet = Vec::with_capacity(PACKET_SIZE);
    packet.extend_from_slice(&epoch.to_be_bytes());
    packet.extend_from_slice(&version);
    packet.extend(random.iter().copied().cycle().take(RANDOM_SIZE));
    packet
}

impl Handshake {
    /// The server role: waits for C0+C1. `epoch` is S1's time field.
    pub fn server(epoch: u32, random: &[u8; RANDOM_SIZE]) -> Handshake {
        Handshake {
            state: State::WaitC0C1,
            input: Vec::new(),
            output: Vec::new(),
            epoch,
            random: random.to_vec(),
            own_digest: None,
            scheme: None,
        }
    }

    /// The client role: C0+C1 of `scheme` are ready in `take_output` at once.
    pub fn client(epoch: u32, random: &[u8; RANDOM_SIZE], scheme: Scheme) -> Handshake {
        let mut c1 = match scheme {
            Scheme::Simple => packet(epoch, [0; 4], random),
            Scheme::Digest => packet(epoch, CLIENT_VERSION, random),
        };
        // Interop: ffmpeg and Flash place their C1 digest by the bytes at 8.
        let own_digest = (scheme == Scheme::Digest).then(|| digest::sign_packet(&mut c1, Layout::At8, Signer::Client));
        let mut output = Vec::with_capacity(1 + PACKET_SIZE);
        output.push(RTMP_VERSION);
        output.extend_from_slice(&c1);
        Handshake {
            state: State::WaitS0S1S2,
            input: Vec::new(),
            output,
            epoch,
            random: random.to_vec(),
            own_digest,
            scheme: None,
        }
    }

    /// The scheme in use, once the peer's first packet has been read.
    pub fn scheme(&self) -> Option<Scheme> {
        self.scheme
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
                    let Some(c1) = split_version(&self.input, 1 + PACKET_SIZE)? else {
                        return Ok(Progress::InProgress);
                    };
                    let c1 = c1.to_vec();
                    let reply = self.answer_c1(&c1);
                    self.output.push(RTMP_VERSION);
                    self.output.extend_from_slice(&reply);
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
                    let Some(s1_s2) = split_version(&self.input, 1 + 2 * PACKET_SIZE)? else {
                        return Ok(Progress::InProgress);
                    };
                    let (s1, s2) = s1_s2.split_at(PACKET_SIZE);
                    let (s1, s2) = (s1.to_vec(), s2.to_vec());
                    let c2 = self.answer_s1_s2(&s1, &s2)?;
                    self.output.extend_from_slice(&c2);
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

    /// S1 and S2 for a client's C1.
    fn answer_c1(&mut self, c1: &[u8]) -> Vec<u8> {
        let client_digest = match c1.get(4..8) {
            Some([0, 0, 0, 0]) | None => None,
            Some(_) => digest::find_digest(c1, Signer::Client),
        };
        let mut reply = Vec::with_capacity(2 * PACKET_SIZE);
        match client_digest {
            None => {
                self.scheme = Some(Scheme::Simple);
                reply.extend_from_slice(&packet(self.epoch, [0; 4], &self.random));
                reply.extend_from_slice(c1); // S2 echoes C1
            }
            Some((layout, c1_digest)) => {
                self.scheme = Some(Scheme::Digest);
                let mut s1 = packet(self.epoch, SERVER_VERSION, &self.random);
                digest::sign_packet(&mut s1, layout, Signer::Server);
                reply.extend_from_slice(&s1);
                reply.extend_from_slice(&digest::signed_reply(&self.random, &c1_digest, Signer::Server));
            }
        }
        reply
    }

    /// C2 for a server's S1 and S2; checks a digest server's answer.
    fn answer_s1_s2(&mut self, s1: &[u8], s2: &[u8]) -> Result<Vec<u8>, HandshakeError> {
        let Some(own) = self
            .own_digest
            .filter(|_| !matches!(s1.get(4..8), Some([0, 0, 0, 0]) | None))
        else {
            // We or the server chose the simple scheme: C2 echoes S1. (As
            // librtmp, a digest client falls back when S1's version is 0.)
            self.scheme = Some(Scheme::Simple);
            return Ok(s1.to_vec());
        };
        let (_, s1_digest) = digest::find_digest(s1, Signer::Server).ok_or(HandshakeError::BadServerDigest)?;
        if !digest::reply_is_signed(s2, &own, Signer::Server) {
            return Err(HandshakeError::BadServerSignature);
        }
        self.scheme = Some(Scheme::Digest);
        Ok(digest::signed_reply(&self.random, &s1_digest, Signer::Client))
    }
}

/// When `input` holds at least `len` bytes, checks the version byte and
/// returns the `len - 1` bytes after it.
fn split_version(input: &[u8], len: usize) -> Result<Option<&[u8]>, HandshakeError> {
    let Some((&version, rest)) = input.split_first() else {
        return Ok(None);
    };
    if version != RTMP_VERSION {
        return Err(HandshakeError::UnsupportedVersion(version));
    }
    Ok(rest.get(..len - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Version 9.0.124.2 as ffmpeg sends it, but no valid digest.
    fn c0c1_versioned_without_digest() -> Vec<u8> {
        let mut c0c1 = vec![3, 0, 0, 0, 0, 9, 0, 124, 2];
        c0c1.extend((0..RANDOM_SIZE).map(|i| (i % 251) as u8));
        c0c1
    }

    #[test]
    fn version_without_a_valid_digest_gets_the_simple_scheme_byte_exact() {
        let c0c1 = c0c1_versioned_without_digest();
        let mut server = Handshake::server(0x01020304, &[0xAB; RANDOM_SIZE]);
        assert_eq!(server.push(&c0c1), Ok(Progress::InProgress));
        assert_eq!(server.scheme(), Some(Scheme::Simple));
        let out = server.take_output();
        assert_eq!(out.len(), 1 + 2 * PACKET_SIZE);
        assert_eq!(&out[..9], &[3, 1, 2, 3, 4, 0, 0, 0, 0]); // S0, time, zero version
        assert!(out[9..1 + PACKET_SIZE].iter().all(|&b| b == 0xAB));
        assert_eq!(&out[1 + PACKET_SIZE..], &c0c1[1..]); // S2 == C1
    }

    #[test]
    fn ffmpeg_c0c1_capture_gets_a_digest_s1_and_a_signed_s2() {
        // ffmpeg 5.1's C0+C1: version 9.0.124.2 with a valid digest.
        let c0c1 = include_bytes!("../../../tests/data/ffmpeg-c0c1.bin");
        let mut server = Handshake::server(0, &[0x5A; RANDOM_SIZE]);
        assert_eq!(server.push(c0c1), Ok(Progress::InProgress));
        assert_eq!(server.scheme(), Some(Scheme::Digest));
        let out = server.take_output();
        let (s1, s2) = out[1..].split_at(PACKET_SIZE);
        assert_eq!(&s1[4..8], &SERVER_VERSION);
        assert!(
            digest::find_digest(s1, Signer::Server).is_some(),
            "S1 digest verifies as ffmpeg checks it"
        );
        let (_, c1_digest) = digest::find_digest(&c0c1[1..], Signer::Client).unwrap();
        assert!(
            digest::reply_is_signed(s2, &c1_digest, Signer::Server),
            "S2 signature verifies"
        );
    }

    #[test]
    fn a_digest_at_772_is_found_and_answered_in_the_same_layout() {
        let mut c1 = packet(0, CLIENT_VERSION, &[0x33; RANDOM_SIZE]);
        let c1_digest = digest::sign_packet(&mut c1, Layout::At772, Signer::Client);
        assert_eq!(
            digest::find_digest(&c1, Signer::Client),
            Some((Layout::At772, c1_digest))
        );
        let mut server = Handshake::server(0, &[0x44; RANDOM_SIZE]);
        server.push(&[&[RTMP_VERSION][..], &c1].concat()).unwrap();
        assert_eq!(server.scheme(), Some(Scheme::Digest));
        let out = server.take_output();
        let (s1, s2) = out[1..].split_at(PACKET_SIZE);
        assert_eq!(
            digest::find_digest(s1, Signer::Server).map(|(layout, _)| layout),
            Some(Layout::At772)
        );
        assert!(digest::reply_is_signed(s2, &c1_digest, Signer::Server));
    }

    #[test]
    fn server_accepts_any_c2_and_returns_what_follows_it() {
        let mut input = c0c1_versioned_without_digest();
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
        let mut input = c0c1_versioned_without_digest();
        input.extend_from_slice(&[0; PACKET_SIZE]);
        let mut server = Handshake::server(0, &[0; RANDOM_SIZE]);
        let mut last = Progress::InProgress;
        for b in &input {
            last = server.push(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(last, Progress::Done { leftover: vec![] });
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
    fn simple_client_sends_c0_c1_then_echoes_s1_as_c2() {
        let mut client = Handshake::client(5, &[7; RANDOM_SIZE], Scheme::Simple);
        let c0c1 = client.take_output();
        assert_eq!(&c0c1[..9], &[3, 0, 0, 0, 5, 0, 0, 0, 0]);
        let mut s = vec![3];
        s.extend_from_slice(&[9; PACKET_SIZE]);
        s.extend_from_slice(&c0c1[1..]);
        assert_eq!(client.push(&s), Ok(Progress::Done { leftover: vec![] }));
        assert_eq!(client.take_output(), vec![9; PACKET_SIZE]);
    }

    #[test]
    fn digest_client_checks_the_servers_digest_and_signature() {
        let server_reply = |client: &mut Handshake| {
            let mut server = Handshake::server(1, &[4; RANDOM_SIZE]);
            server.push(&client.take_output()).unwrap();
            server.take_output()
        };
        // A good server.
        let mut client = Handshake::client(0, &[1; RANDOM_SIZE], Scheme::Digest);
        let reply = server_reply(&mut client);
        assert_eq!(client.push(&reply), Ok(Progress::Done { leftover: vec![] }));
        assert_eq!(client.scheme(), Some(Scheme::Digest));
        // S2 signed for someone else.
        let mut client = Handshake::client(0, &[1; RANDOM_SIZE], Scheme::Digest);
        let mut reply = server_reply(&mut client);
        reply[1 + PACKET_SIZE + 10] ^= 1;
        assert_eq!(client.push(&reply), Err(HandshakeError::BadServerSignature));
        // A version in S1 but no digest.
        let mut client = Handshake::client(0, &[1; RANDOM_SIZE], Scheme::Digest);
        let mut reply = server_reply(&mut client);
        reply[200] ^= 1;
        assert_eq!(client.push(&reply), Err(HandshakeError::BadServerDigest));
    }
}
