//! The FP9 ("digest", "complex") handshake scheme: HMAC-SHA256 digests
//! hidden in C1/S1 and signatures at the end of C2/S2.
//!
//! Not in the RTMP 1.0 spec; this is the layout Flash Player 9+, ffmpeg
//! (`libavformat/rtmpproto.c`) and librtmp (`handshake.h`) use:
//!
//! ```text
//! C1/S1: time(4) version(4) ... 32-byte digest at a position derived from
//!        4 bytes at 8 (digest at 12 + sum % 728) or at 772 (776 + sum % 728)
//!        digest = HMAC-SHA256(key prefix, packet without the digest)
//! S2/C2: 1504 random bytes, then HMAC-SHA256(HMAC-SHA256(full key, peer's
//!        C1/S1 digest), those 1504 bytes)
//! ```
//!
//! The crypto is the `hmac` and `sha2` crates'; nothing is hand-rolled.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::PACKET_SIZE;

/// A digest and a signature are SHA-256 sized.
pub(super) const DIGEST_SIZE: usize = 32;

/// The constant both keys end with.
const KEY_TAIL: [u8; 32] = [
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D,
    0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
];
const SERVER_NAME: &[u8] = b"Genuine Adobe Flash Media Server 001";
const CLIENT_NAME: &[u8] = b"Genuine Adobe Flash Player 001";

/// Whose key signs: the server's (S1, S2) or the client's (C1, C2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Signer {
    Server,
    Client,
}

impl Signer {
    /// The name alone keys the C1/S1 digest.
    fn name(self) -> &'static [u8] {
        match self {
            Signer::Server => SERVER_NAME,
            Signer::Client => CLIENT_NAME,
        }
    }

    /// Name plus the constant tail keys the C2/S2 signature.
    fn full_key(self) -> Vec<u8> {
        [self.name(), &KEY_TAIL].concat()
    }
}

/// Where the digest sits: found from the 4 bytes at 8 or at 772.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// Offset bytes at 8..12, digest at 12 + sum % 728 (ffmpeg and Flash
    /// clients use it in C1).
    At8,
    /// Offset bytes at 772..776, digest at 776 + sum % 728.
    At772,
}

impl Layout {
    /// The digest's position in a 1536-byte packet.
    fn offset(self, packet: &[u8]) -> usize {
        let (at, base) = match self {
            Layout::At8 => (8, 12),
            Layout::At772 => (772, 776),
        };
        let sum: usize = packet
            .get(at..at + 4)
            .unwrap_or_default()
            .iter()
            .map(|&b| b as usize)
            .sum();
        base + sum % 728
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; DIGEST_SIZE] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// The digest of `packet` (C1 or S1) for `layout`: HMAC over everything but
/// the 32 bytes where the digest goes.
fn digest_of(packet: &[u8], layout: Layout, signer: Signer) -> [u8; DIGEST_SIZE] {
    let at = layout.offset(packet);
    let before = packet.get(..at).unwrap_or_default();
    let after = packet.get(at + DIGEST_SIZE..).unwrap_or_default();
    hmac(signer.name(), &[before, after])
}

/// Writes the digest into `packet` (C1 or S1) at `layout`'s position and
/// returns it.
pub(super) fn sign_packet(packet: &mut [u8], layout: Layout, signer: Signer) -> [u8; DIGEST_SIZE] {
    let digest = digest_of(packet, layout, signer);
    let at = layout.offset(packet);
    if let Some(slot) = packet.get_mut(at..at + DIGEST_SIZE) {
        slot.copy_from_slice(&digest);
    }
    digest
}

/// Finds a valid digest in a peer's C1 or S1, trying 772 then 8 (as
/// nginx-rtmp and ffmpeg do); returns its layout and value.
pub(super) fn find_digest(packet: &[u8], signer: Signer) -> Option<(Layout, [u8; DIGEST_SIZE])> {
    [Layout::At772, Layout::At8].into_iter().find_map(|layout| {
        let at = layout.offset(packet);
        let found = packet.get(at..at + DIGEST_SIZE)?;
        let expected = digest_of(packet, layout, signer);
        (found == expected).then_some((layout, expected))
    })
}

/// A C2 or S2 answering a peer whose C1/S1 carried `peer_digest`:
/// `random` filler with the signature in the last 32 bytes.
pub(super) fn signed_reply(random: &[u8], peer_digest: &[u8; DIGEST_SIZE], signer: Signer) -> Vec<u8> {
    let mut reply: Vec<u8> = random.iter().copied().cycle().take(PACKET_SIZE - DIGEST_SIZE).collect();
    let key = hmac(&signer.full_key(), &[peer_digest]);
    let signature = hmac(&key, &[&reply]);
    reply.extend_from_slice(&signature);
    reply
}

/// True when `reply` (S2 or C2) is signed for our digest `own_digest`.
pub(super) fn reply_is_signed(reply: &[u8], own_digest: &[u8; DIGEST_SIZE], signer: Signer) -> bool {
    let (body, signature) = reply.split_at(reply.len().saturating_sub(DIGEST_SIZE));
    let key = hmac(&signer.full_key(), &[own_digest]);
    hmac(&key, &[body]) == signature
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ffmpeg_c1_capture_has_a_valid_client_digest() {
        // tests/data/ffmpeg-c0c1.bin: ffmpeg 5.1 signs its C1 with the
        // layout found from the bytes at 8.
        let c1 = &include_bytes!("../../../tests/data/ffmpeg-c0c1.bin")[1..];
        let (layout, _) = find_digest(c1, Signer::Client).expect("ffmpeg's digest verifies");
        assert_eq!(layout, Layout::At8);
        let mut tampered = c1.to_vec();
        tampered[100] ^= 1;
        assert_eq!(find_digest(&tampered, Signer::Client), None);
    }

    #[test]
    fn layouts_place_the_digest_from_the_offset_bytes() {
        let mut packet = vec![0u8; PACKET_SIZE];
        packet[8..12].copy_from_slice(&[200, 200, 200, 200]); // 800 % 728 = 72
        assert_eq!(Layout::At8.offset(&packet), 12 + 72);
        packet[772..776].copy_from_slice(&[255, 255, 255, 255]); // 1020 % 728 = 292
        assert_eq!(Layout::At772.offset(&packet), 776 + 292);
    }

    #[test]
    fn replies_verify_only_with_the_right_digest() {
        let digest = [9u8; DIGEST_SIZE];
        let reply = signed_reply(&[1, 2, 3], &digest, Signer::Server);
        assert_eq!(reply.len(), PACKET_SIZE);
        assert!(reply_is_signed(&reply, &digest, Signer::Server));
        assert!(!reply_is_signed(&reply, &[8u8; DIGEST_SIZE], Signer::Server));
        assert!(!reply_is_signed(&reply, &digest, Signer::Client));
    }
}
