//! `KeyMaterial`: the Key Material message that carries SRT's wrapped
//! stream-encrypting keys (draft-sharabayko-srt §3.2.2; libsrt haicrypt
//! `hcrypt_msg.h`), and `KmResponse`, the KMRSP block that answers it.
//!
//! A caller that has a passphrase sends one in the KMREQ block of its
//! CONCLUSION; the listener answers with a KMRSP block that repeats it (the
//! keys are used in both directions) or, on failure, one word carrying a
//! [`KmState`].
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! |S|  V  |   PT  |              Sign             |   Resv1   | KK|
//! |                              KEKI                             |
//! |     Cipher    |      Auth     |       SE      |     Resv2     |
//! |             Resv3             |     SLen/4    |     KLen/4    |
//! |                     Salt (SLen bytes) ...                     |
//! |              Wrapped keys (8 + KLen × keys bytes) ...         |
//! ```
//!
//! Interop: the block arrives in this byte order inside a HANDSHAKE (libsrt
//! 1.5.1 swaps the words of the already network-ordered message before the
//! per-word htonl every control packet gets, which undoes it), unlike the
//! stream id, whose every word arrives reversed. The one-word failure form
//! does arrive reversed: see [`KmState`].
//!
//! In scope: parsing and encoding the message, and the failure word.
//! Out of scope: what the keys are ([`Keys`](super::Keys)), and the KMREQ/KMRSP
//! control packets a sender uses to refresh keys mid-stream.

use super::key_error::KeyError;
use super::packet::KeyFlags;
use crate::protocol::reader::Reader;

/// The Key Material message (§3.2.2). Version 1, packet type 2 and sign
/// 0x2029 are the same in every message, so they are checked by
/// [`parse`](Self::parse) and written by [`encode`](Self::encode) rather than
/// kept; so are the reserved fields, which are zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMaterial {
    /// KK: which keys are wrapped: the even, the odd or both (even first).
    pub keys: KeyFlags,
    /// KEKI: which key-encrypting key wrapped them; 0, the one from the
    /// passphrase.
    pub keki: u32,
    /// The cipher: [`CIPHER_AES_CTR`](Self::CIPHER_AES_CTR) from libsrt 1.5.1.
    pub cipher: u8,
    /// The authentication: [`AUTH_NONE`](Self::AUTH_NONE) with AES-CTR.
    pub auth: u8,
    /// SE, the stream encapsulation: [`SE_SRT`](Self::SE_SRT).
    pub se: u8,
    /// The salt: the last 8 bytes salt the passphrase, the first 14 make the
    /// counter-mode IVs.
    pub salt: [u8; 16],
    /// The length of each key in bytes: 16, 24 or 32 (AES-128/192/256).
    pub key_len: usize,
    /// The keys wrapped together with RFC 3394 AES key wrap under the
    /// key-encrypting key: 8 + `key_len` × the number of keys bytes.
    pub wrapped: Vec<u8>,
}

/// The bytes before the salt.
const HEADER_LEN: usize = 16;
/// The salt length every libsrt sends (HAICRYPT_SALT_SZ).
const SALT_LEN: usize = 16;
/// What RFC 3394 adds to the keys it wraps: its integrity check value.
pub(super) const WRAP_OVERHEAD: usize = 8;

impl KeyMaterial {
    /// V: the message version.
    pub const VERSION: u8 = 1;
    /// PT: 2 is key material (1 would be a media stream).
    pub const PACKET_TYPE: u8 = 2;
    /// Sign: "HAI", Haivision's PnP manufacturer id, 5 bits a letter.
    pub const SIGN: u16 = 0x2029;
    /// Cipher 2: AES in counter mode.
    pub const CIPHER_AES_CTR: u8 = 2;
    /// Auth 0: none (AES-GCM, auth 1, came with libsrt 1.5.2).
    pub const AUTH_NONE: u8 = 0;
    /// SE 2: MPEG-TS over SRT (1 would be over plain UDP).
    pub const SE_SRT: u8 = 2;

    /// Decodes a whole Key Material message, e.g. the content of a KMREQ
    /// block.
    pub fn parse(bytes: &[u8]) -> Result<KeyMaterial, KeyError> {
        let mut r = Reader::new(bytes);
        let header = r.take(HEADER_LEN).map_err(|_| KeyError::Truncated {
            what: "key material header",
            offset: 0,
        })?;
        let mut h = Reader::new(header);
        let mut byte = || h.u8().expect("the header is 16 bytes");
        let (first, sign_high, sign_low, kk) = (byte(), byte(), byte(), byte());
        let keki = u32::from_be_bytes([byte(), byte(), byte(), byte()]);
        let (cipher, auth, se, _resv1) = (byte(), byte(), byte(), byte());
        let (_resv2, _resv3, salt_words, key_words) = (byte(), byte(), byte(), byte());

        for (what, value, expected) in [
            ("version", first >> 4, Self::VERSION),
            ("packet type", first & 0xf, Self::PACKET_TYPE),
        ] {
            if value != expected {
                return Err(KeyError::Field {
                    what,
                    value: value.into(),
                    expected: expected.into(),
                });
            }
        }
        let sign = u16::from_be_bytes([sign_high, sign_low]);
        if sign != Self::SIGN {
            return Err(KeyError::Field {
                what: "sign",
                value: sign.into(),
                expected: Self::SIGN.into(),
            });
        }
        let keys = match kk & 0b11 {
            0b01 => KeyFlags::Even,
            0b10 => KeyFlags::Odd,
            0b11 => KeyFlags::Both,
            _ => return Err(KeyError::NoKey),
        };
        let key_len = usize::from(key_words) * 4;
        check_key_len(key_len)?;
        let salt_len = usize::from(salt_words) * 4;
        if salt_len != SALT_LEN {
            return Err(KeyError::SaltLength { len: salt_len });
        }
        let salt = r
            .take(SALT_LEN)
            .ok()
            .and_then(|salt| <[u8; SALT_LEN]>::try_from(salt).ok())
            .ok_or(KeyError::Truncated {
                what: "key material salt",
                offset: HEADER_LEN,
            })?;
        let km = KeyMaterial {
            keys,
            keki,
            cipher,
            auth,
            se,
            salt,
            key_len,
            wrapped: r.rest().to_vec(),
        };
        km.check_wrapped_len()?;
        Ok(km)
    }

    /// Appends the message. Each field is written as it is; a `key_len` too
    /// large for the length byte is written as 255 words (only hand-built
    /// values can have one, and the peer will refuse it).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let kk = match self.keys {
            KeyFlags::Clear => 0b00,
            KeyFlags::Even => 0b01,
            KeyFlags::Odd => 0b10,
            KeyFlags::Both => 0b11,
        };
        out.push(Self::VERSION << 4 | Self::PACKET_TYPE);
        out.extend_from_slice(&Self::SIGN.to_be_bytes());
        out.push(kk);
        out.extend_from_slice(&self.keki.to_be_bytes());
        out.extend_from_slice(&[self.cipher, self.auth, self.se, 0, 0, 0]);
        out.push((SALT_LEN / 4) as u8);
        out.push(u8::try_from(self.key_len / 4).unwrap_or(u8::MAX));
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.wrapped);
    }

    /// How many keys are wrapped: 2 for KK = both, else 1.
    pub fn key_count(&self) -> usize {
        match self.keys {
            KeyFlags::Both => 2,
            _ => 1,
        }
    }

    /// Checks that the wrapped keys are as long as KK and the key length
    /// say, as libsrt does before it unwraps them.
    pub(super) fn check_wrapped_len(&self) -> Result<(), KeyError> {
        let expected = WRAP_OVERHEAD + self.key_len * self.key_count();
        if self.wrapped.len() != expected {
            return Err(KeyError::WrappedLength {
                len: self.wrapped.len(),
                expected,
            });
        }
        Ok(())
    }
}

/// The key lengths AES has: 16, 24 and 32 bytes.
pub(super) fn check_key_len(len: usize) -> Result<(), KeyError> {
    match len {
        16 | 24 | 32 => Ok(()),
        _ => Err(KeyError::KeyLength { len }),
    }
}

/// The state of one direction's encryption, as libsrt's `SRT_KM_STATE`
/// names it; a KMRSP that refuses key material carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KmState(pub u32);

impl KmState {
    /// 0: not encrypted; libsrt's listener answers this when the caller
    /// sent no KMREQ but the listener has a passphrase.
    pub const UNSECURED: KmState = KmState(0);
    /// 1: encrypted, keys still being exchanged.
    pub const SECURING: KmState = KmState(1);
    /// 2: encrypted and the keys are known.
    pub const SECURED: KmState = KmState(2);
    /// 3: the peer sent keys but this side has no passphrase.
    pub const NOSECRET: KmState = KmState(3);
    /// 4: the keys do not unwrap with this side's passphrase.
    pub const BADSECRET: KmState = KmState(4);
    /// 5: the peer uses a cipher mode this side does not (libsrt 1.5.2+).
    pub const BADCRYPTOMODE: KmState = KmState(5);
}

/// The content of a KMRSP block: the key material repeated back, which
/// means it was accepted, or a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KmResponse {
    /// The key material the responder accepted (the KMREQ's, unchanged).
    Accepted(KeyMaterial),
    /// Why the responder refused it.
    Failed(KmState),
}

/// The length of the failure form: one word.
const FAILURE_LEN: usize = 4;

impl KmResponse {
    /// Decodes a KMRSP block's content.
    pub fn parse(bytes: &[u8]) -> Result<KmResponse, KeyError> {
        match <[u8; FAILURE_LEN]>::try_from(bytes) {
            // Interop: libsrt 1.5.1 sends the state as a host-order word
            // through the same swap as the key material, which here is not
            // undone: on the little-endian machines encoders run on, the
            // state comes first (BADSECRET is `04 00 00 00`).
            Ok(word) => Ok(KmResponse::Failed(KmState(u32::from_le_bytes(word)))),
            Err(_) => KeyMaterial::parse(bytes).map(KmResponse::Accepted),
        }
    }

    /// Appends the block's content, the failure word in libsrt's order.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            KmResponse::Accepted(km) => km.encode(out),
            KmResponse::Failed(state) => out.extend_from_slice(&state.0.to_le_bytes()),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::{Control, Extension, Handshake, Packet};
    use super::*;

    pub(in super::super) fn handshake(datagram: &[u8]) -> Handshake {
        let Ok(Packet::Control(packet)) = Packet::parse(datagram) else {
            panic!("not a control packet")
        };
        let Control::Handshake(hs) = packet.body else {
            panic!("not a handshake")
        };
        hs
    }

    /// The KMREQ block of a captured CONCLUSION, as bytes.
    pub(in super::super) fn kmreq(datagram: &[u8]) -> Vec<u8> {
        handshake(datagram)
            .extensions
            .into_iter()
            .find_map(|extension| match extension {
                Extension::KmReq(bytes) => Some(bytes),
                _ => None,
            })
            .expect("a KMREQ block")
    }

    /// The KMRSP block of a captured CONCLUSION response, as bytes.
    fn kmrsp(datagram: &[u8]) -> Vec<u8> {
        handshake(datagram)
            .extensions
            .into_iter()
            .find_map(|extension| match extension {
                Extension::KmRsp(bytes) => Some(bytes),
                _ => None,
            })
            .expect("a KMRSP block")
    }

    const CONCLUSION_16: &[u8] = include_bytes!("../../../tests/data/srt-conclusion-ffmpeg-enc16.bin");
    const CONCLUSION_24: &[u8] = include_bytes!("../../../tests/data/srt-conclusion-ffmpeg-enc24.bin");
    const CONCLUSION_32: &[u8] = include_bytes!("../../../tests/data/srt-conclusion-ffmpeg-enc32.bin");
    const RESPONSE_16: &[u8] = include_bytes!("../../../tests/data/srt-conclusion-response-slt-enc16.bin");

    #[test]
    fn ffmpeg_kmreq_in_a_conclusion() {
        let bytes = kmreq(CONCLUSION_16);
        assert_eq!(
            &bytes[..4],
            [0x12, 0x20, 0x29, 0x01],
            "not byte-swapped, unlike the SID"
        );
        let km = KeyMaterial::parse(&bytes).unwrap();
        assert_eq!(km.keys, KeyFlags::Even, "a new sender starts with the even key");
        assert_eq!(km.keki, 0);
        assert_eq!(km.cipher, KeyMaterial::CIPHER_AES_CTR);
        assert_eq!(km.auth, KeyMaterial::AUTH_NONE);
        assert_eq!(km.se, KeyMaterial::SE_SRT);
        assert_eq!(km.key_len, 16);
        assert_eq!(km.salt[..4], [0xde, 0x15, 0x40, 0x86]);
        assert_eq!(km.wrapped.len(), 24);
        assert_eq!(handshake(CONCLUSION_16).encryption, 2, "pbkeylen 16 / 8");
    }

    #[test]
    fn key_lengths_24_and_32() {
        for (datagram, len) in [(CONCLUSION_24, 24), (CONCLUSION_32, 32)] {
            let km = KeyMaterial::parse(&kmreq(datagram)).unwrap();
            assert_eq!(km.key_len, len);
            assert_eq!(km.wrapped.len(), 8 + len);
            assert_eq!(usize::from(handshake(datagram).encryption) * 8, len);
        }
    }

    #[test]
    fn libsrt_listener_repeats_the_key_material() {
        let response = KmResponse::parse(&kmrsp(RESPONSE_16)).unwrap();
        let request = KeyMaterial::parse(&kmreq(CONCLUSION_16)).unwrap();
        assert_eq!(response, KmResponse::Accepted(request));
    }

    #[test]
    fn libsrt_listener_refusals() {
        for (datagram, state) in [
            (
                &include_bytes!("../../../tests/data/srt-conclusion-response-slt-enc-badsecret.bin")[..],
                KmState::BADSECRET,
            ),
            (
                include_bytes!("../../../tests/data/srt-conclusion-response-slt-enc-nosecret.bin"),
                KmState::NOSECRET,
            ),
        ] {
            let content = kmrsp(datagram);
            assert_eq!(content[0], state.0 as u8, "the state comes first on the wire");
            let response = KmResponse::parse(&content).unwrap();
            assert_eq!(response, KmResponse::Failed(state));
            let mut out = Vec::new();
            response.encode(&mut out);
            assert_eq!(out, content);
        }
    }

    #[test]
    fn encode_gives_back_the_captured_bytes() {
        for datagram in [CONCLUSION_16, CONCLUSION_24, CONCLUSION_32] {
            let bytes = kmreq(datagram);
            let mut out = Vec::new();
            KeyMaterial::parse(&bytes).unwrap().encode(&mut out);
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn every_prefix_parses_or_errs_and_what_parses_is_stable() {
        for datagram in [CONCLUSION_16, CONCLUSION_24, CONCLUSION_32, RESPONSE_16] {
            let bytes = kmreq_or_kmrsp(datagram);
            for len in 0..bytes.len() {
                let prefix = &bytes[..len];
                assert!(KeyMaterial::parse(prefix).is_err(), "a prefix of {len} bytes parsed");
                if let Ok(response) = KmResponse::parse(prefix) {
                    let mut out = Vec::new();
                    response.encode(&mut out);
                    assert_eq!(KmResponse::parse(&out), Ok(response));
                }
            }
            // And every single-byte change.
            for i in 0..bytes.len() {
                for flip in [0x01, 0x80, 0xff] {
                    let mut changed = bytes.clone();
                    changed[i] ^= flip;
                    if let Ok(km) = KeyMaterial::parse(&changed) {
                        let mut out = Vec::new();
                        km.encode(&mut out);
                        assert_eq!(KeyMaterial::parse(&out), Ok(km));
                    }
                }
            }
        }
    }

    fn kmreq_or_kmrsp(datagram: &[u8]) -> Vec<u8> {
        handshake(datagram)
            .extensions
            .into_iter()
            .find_map(|extension| match extension {
                Extension::KmReq(bytes) | Extension::KmRsp(bytes) => Some(bytes),
                _ => None,
            })
            .expect("a KM block")
    }

    #[test]
    fn errors_name_the_field_and_value() {
        let bytes = kmreq(CONCLUSION_16);
        let changed = |i: usize, value: u8| {
            let mut bytes = bytes.clone();
            bytes[i] = value;
            KeyMaterial::parse(&bytes).unwrap_err().to_string()
        };
        assert_eq!(changed(0, 0x22), "srt key material version 0x2, expected 0x1");
        assert_eq!(changed(0, 0x11), "srt key material packet type 0x1, expected 0x2");
        assert_eq!(changed(2, 0x2a), "srt key material sign 0x202a, expected 0x2029");
        assert_eq!(changed(3, 0x00), "srt key material announces no key");
        assert_eq!(changed(3, 0x03), "srt wrapped keys of 24 bytes, expected 40");
        assert_eq!(changed(14, 2), "srt key material salt of 8 bytes, expected 16");
        assert_eq!(changed(15, 5), "srt key length of 20 bytes, expected 16, 24 or 32");
        assert_eq!(
            KeyMaterial::parse(&bytes[..20]).unwrap_err().to_string(),
            "srt key material truncated in key material salt at offset 16"
        );
    }
}
