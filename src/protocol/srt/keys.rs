//! `Keys`: SRT's stream-encrypting keys, unwrapped from [`KeyMaterial`] with
//! a passphrase, and the AES-CTR that hides data packet payloads with them
//! (draft-sharabayko-srt §6; libsrt haicrypt `hcrypt_sa.c`, `hcrypt.h`).
//!
//! ```text
//! KEK  = PBKDF2-HMAC-SHA1(passphrase, salt[8..16], 2048 rounds, key length)
//! SEKs = RFC 3394 AES key unwrap(KEK, wrapped)     (even first if both)
//! IV   = (salt[0..14] ‖ 0 0) XOR (0 … 0 ‖ seq as 4 bytes ‖ 0 0)
//! payload XOR= AES-CTR(SEK, IV), the block counter in IV's last 2 bytes
//! ```
//!
//! Pure functions: random bytes come in as arguments, so the same inputs
//! give the same keys.
//!
//! ```
//! use rustic_rtmp::protocol::srt::{KeyFlags, Keys};
//!
//! // A sender makes keys and the key material to send in its KMREQ...
//! let random = [7; 48];
//! let (ours, km) = Keys::generate(b"0123456789abc", 32, &random)?;
//! // ...and a receiver with the same passphrase unwraps them.
//! let theirs = Keys::new(b"0123456789abc", &km)?;
//!
//! let mut payload = *b"G@\x00\x10 a transport stream packet";
//! ours.crypt(KeyFlags::Even, 1234, &mut payload)?;
//! assert_ne!(&payload[..], b"G@\x00\x10 a transport stream packet");
//! theirs.crypt(KeyFlags::Even, 1234, &mut payload)?;
//! assert_eq!(&payload[..], b"G@\x00\x10 a transport stream packet");
//!
//! assert!(Keys::new(b"not the passphrase", &km).is_err());
//! # Ok::<(), rustic_rtmp::protocol::srt::KeyError>(())
//! ```
//!
//! In scope: AES-CTR with 128, 192 and 256-bit keys, as libsrt 1.5.1 sends.
//! A key refresh (§6.1.6) is [`Keys::renew`] with the key material of the
//! peer's KMREQ control packet.
//!
//! Out of scope: AES-GCM (libsrt 1.5.2's `cryptomode`), preshared KEKs
//! (KEKI other than 0), and refreshing keys this side originates (libsrt
//! keeps sending under the first keys of a connection it did not key).

use std::fmt;
use std::ops::RangeInclusive;

use aes::{Aes128, Aes192, Aes256};
use aes_kw::{KwAes128, KwAes192, KwAes256};
use ctr::CtrCore;
use ctr::cipher::{
    BlockCipherEncrypt, BlockSizeUser, InnerIvInit, KeyInit, StreamCipher, StreamCipherCoreWrapper, consts::U16,
};
use ctr::flavors::Ctr128BE;
use sha1::Sha1;

use super::key_error::KeyError;
use super::key_material::{KeyMaterial, WRAP_OVERHEAD, check_key_len};
use super::packet::KeyFlags;

/// PBKDF2's iteration count (HAICRYPT_PBKDF2_ITER_CNT).
const PBKDF2_ROUNDS: u32 = 2048;
/// The salt for PBKDF2 is the last 8 bytes of the 16-byte salt
/// (HAICRYPT_PBKDF2_SALT_LEN).
const PBKDF2_SALT_FROM: usize = 8;
/// The longest key: AES-256's.
const MAX_KEY_LEN: usize = 32;
/// The salt length in key material.
const SALT_LEN: usize = 16;

/// The stream-encrypting keys of one connection: the even and the odd
/// one, either or both.
#[derive(Clone)]
pub struct Keys {
    even: Option<Slot>,
    odd: Option<Slot>,
}

/// One key and the salt of the key material it came in: a refresh may
/// bring another salt, and packets under the old key still need the old.
#[derive(Clone)]
struct Slot {
    salt: [u8; SALT_LEN],
    sek: Sek,
}

/// One stream-encrypting key, its AES key schedule already expanded.
#[derive(Clone)]
enum Sek {
    Aes128(Aes128),
    Aes192(Aes192),
    Aes256(Aes256),
}

impl Keys {
    /// The passphrase lengths libsrt accepts, in bytes (`SRTO_PASSPHRASE`).
    pub const PASSPHRASE_LEN: RangeInclusive<usize> = 10..=79;

    /// Unwraps the keys in `km` with the key-encrypting key derived from
    /// `passphrase`. A passphrase other than the peer's fails RFC 3394's
    /// integrity check: [`KeyError::BadPassphrase`], which a listener
    /// answers with [`KmState::BADSECRET`](super::KmState::BADSECRET).
    pub fn new(passphrase: &[u8], km: &KeyMaterial) -> Result<Keys, KeyError> {
        let mut keys = Keys { even: None, odd: None };
        keys.renew(passphrase, km)?;
        Ok(keys)
    }

    /// Installs the keys in `km`, a key refresh's (draft-sharabayko-srt
    /// §6.1.6): each key it carries replaces the one of its parity, and a
    /// key it does not carry stays, for packets still on their way under
    /// it. On an error nothing changes.
    pub fn renew(&mut self, passphrase: &[u8], km: &KeyMaterial) -> Result<(), KeyError> {
        Self::check_passphrase(passphrase)?;
        for (what, value, expected) in [
            ("cipher", km.cipher, KeyMaterial::CIPHER_AES_CTR),
            ("auth", km.auth, KeyMaterial::AUTH_NONE),
            ("stream encapsulation", km.se, KeyMaterial::SE_SRT),
        ] {
            if value != expected {
                return Err(KeyError::Unsupported { what, value, expected });
            }
        }
        check_key_len(km.key_len)?;
        km.check_wrapped_len()?;
        let kek = kek(passphrase, &km.salt, km.key_len);
        let mut unwrapped = [0; 2 * MAX_KEY_LEN];
        let unwrapped = unwrap(&kek, &km.wrapped, &mut unwrapped)?;
        let mut slots = unwrapped.chunks_exact(km.key_len).map(|sek| Slot {
            salt: km.salt,
            sek: Sek::new(sek),
        });
        let (even, odd) = match km.keys {
            KeyFlags::Even => (slots.next(), None),
            KeyFlags::Odd => (None, slots.next()),
            KeyFlags::Both => (slots.next(), slots.next()),
            KeyFlags::Clear => return Err(KeyError::NoKey),
        };
        self.even = even.or(self.even.take());
        self.odd = odd.or(self.odd.take());
        Ok(())
    }

    /// Makes an even key of `key_len` bytes (16, 24 or 32) and the key
    /// material that carries it, for when this side originates the keys.
    /// `random` supplies the salt (its first 16 bytes) and then the key, so
    /// it must hold at least 16 + `key_len` bytes from a secure source.
    pub fn generate(passphrase: &[u8], key_len: usize, random: &[u8]) -> Result<(Keys, KeyMaterial), KeyError> {
        Self::check_passphrase(passphrase)?;
        check_key_len(key_len)?;
        let needed = SALT_LEN + key_len;
        let (salt, rest) = random.split_first_chunk::<SALT_LEN>().ok_or(KeyError::RandomTooShort {
            len: random.len(),
            needed,
        })?;
        let sek = rest.get(..key_len).ok_or(KeyError::RandomTooShort {
            len: random.len(),
            needed,
        })?;
        let kek = kek(passphrase, salt, key_len);
        let km = KeyMaterial {
            keys: KeyFlags::Even,
            keki: 0,
            cipher: KeyMaterial::CIPHER_AES_CTR,
            auth: KeyMaterial::AUTH_NONE,
            se: KeyMaterial::SE_SRT,
            salt: *salt,
            key_len,
            wrapped: wrap(&kek, sek),
        };
        let keys = Keys {
            even: Some(Slot {
                salt: *salt,
                sek: Sek::new(sek),
            }),
            odd: None,
        };
        Ok((keys, km))
    }

    /// Checks a passphrase's length as libsrt does: 10 to 79 bytes.
    pub fn check_passphrase(passphrase: &[u8]) -> Result<(), KeyError> {
        if Self::PASSPHRASE_LEN.contains(&passphrase.len()) {
            Ok(())
        } else {
            Err(KeyError::PassphraseLength { len: passphrase.len() })
        }
    }

    /// Encrypts or decrypts (counter mode is its own inverse) the payload of
    /// data packet `seq` in place, with the key its KK field names.
    pub fn crypt(&self, key: KeyFlags, seq: u32, payload: &mut [u8]) -> Result<(), KeyError> {
        let slot = match key {
            KeyFlags::Even => self.even.as_ref(),
            KeyFlags::Odd => self.odd.as_ref(),
            KeyFlags::Clear | KeyFlags::Both => None,
        }
        .ok_or(KeyError::MissingKey { key })?;
        // hcrypt_SetCtrIV: the packet index (the sequence number, network
        // order) at bytes 10..14, the first 14 salt bytes XORed over bytes
        // 0..14, and bytes 14..16 left for the block counter.
        let salt = u128::from_be_bytes(slot.salt) & !0xffff;
        let iv = (salt ^ u128::from(seq) << 16).to_be_bytes();
        match &slot.sek {
            Sek::Aes128(cipher) => apply(cipher, iv, payload),
            Sek::Aes192(cipher) => apply(cipher, iv, payload),
            Sek::Aes256(cipher) => apply(cipher, iv, payload),
        }
        Ok(())
    }

    /// Which keys this side holds: even, odd, both, or none (clear).
    pub fn held(&self) -> KeyFlags {
        match (self.even.is_some(), self.odd.is_some()) {
            (true, true) => KeyFlags::Both,
            (true, false) => KeyFlags::Even,
            (false, true) => KeyFlags::Odd,
            (false, false) => KeyFlags::Clear,
        }
    }
}

/// Never prints the keys.
impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("held", &self.held())
            .finish_non_exhaustive()
    }
}

impl Sek {
    fn new(key: &[u8]) -> Sek {
        let invariant = "the key length was checked to be 16, 24 or 32";
        match key.len() {
            16 => Sek::Aes128(Aes128::new_from_slice(key).expect(invariant)),
            24 => Sek::Aes192(Aes192::new_from_slice(key).expect(invariant)),
            _ => Sek::Aes256(Aes256::new_from_slice(key).expect(invariant)),
        }
    }
}

/// XORs the AES-CTR key stream from `iv` over `payload`. The counter is all
/// 128 bits, big-endian, as OpenSSL's; libsrt's 16-bit block counter never
/// carries over it, since a datagram is far below 65536 blocks.
fn apply<C>(cipher: &C, iv: [u8; 16], payload: &mut [u8])
where
    C: BlockCipherEncrypt + BlockSizeUser<BlockSize = U16> + Clone,
{
    let core = CtrCore::<C, Ctr128BE>::inner_iv_init(cipher.clone(), &iv.into());
    StreamCipherCoreWrapper::from_core(core).apply_keystream(payload);
}

/// The key-encrypting key: `key_len` bytes of PBKDF2 over the passphrase.
fn kek(passphrase: &[u8], salt: &[u8; SALT_LEN], key_len: usize) -> Vec<u8> {
    let mut kek = vec![0; key_len];
    let pbkdf2_salt = salt.get(PBKDF2_SALT_FROM..).expect("the salt is 16 bytes");
    pbkdf2::pbkdf2_hmac::<Sha1>(passphrase, pbkdf2_salt, PBKDF2_ROUNDS, &mut kek);
    kek
}

/// RFC 3394 key unwrap into `out`, the KEK's AES chosen by its length.
fn unwrap<'a>(kek: &[u8], wrapped: &[u8], out: &'a mut [u8]) -> Result<&'a [u8], KeyError> {
    let invariant = "the kek is 16, 24 or 32 bytes";
    match kek.len() {
        16 => KwAes128::new_from_slice(kek).expect(invariant).unwrap_key(wrapped, out),
        24 => KwAes192::new_from_slice(kek).expect(invariant).unwrap_key(wrapped, out),
        _ => KwAes256::new_from_slice(kek).expect(invariant).unwrap_key(wrapped, out),
    }
    // The lengths were checked, so only the integrity check can fail.
    .map_err(|_| KeyError::BadPassphrase)
}

/// RFC 3394 key wrap, the KEK's AES chosen by its length.
fn wrap(kek: &[u8], keys: &[u8]) -> Vec<u8> {
    let invariant = "the kek is 16, 24 or 32 bytes and the keys a multiple of 8";
    let mut out = vec![0; keys.len() + WRAP_OVERHEAD];
    let len = match kek.len() {
        16 => KwAes128::new_from_slice(kek).expect(invariant).wrap_key(keys, &mut out),
        24 => KwAes192::new_from_slice(kek).expect(invariant).wrap_key(keys, &mut out),
        _ => KwAes256::new_from_slice(kek).expect(invariant).wrap_key(keys, &mut out),
    }
    .expect(invariant)
    .len();
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::super::key_material::tests::kmreq;
    use super::super::{DataPacket, Packet};
    use super::*;

    const PASSPHRASE: &[u8] = b"0123456789abc";

    fn data(datagram: &[u8]) -> DataPacket {
        let Ok(Packet::Data(packet)) = Packet::parse(datagram) else {
            panic!("not a data packet")
        };
        packet
    }

    /// Decrypts a captured data packet with the keys from its connection's
    /// CONCLUSION, and checks that out come whole TS packets.
    fn decrypts_to_ts(conclusion: &[u8], datagram: &[u8]) {
        let km = KeyMaterial::parse(&kmreq(conclusion)).unwrap();
        let keys = Keys::new(PASSPHRASE, &km).unwrap();
        let mut packet = data(datagram);
        assert_eq!(packet.key, KeyFlags::Even);
        assert_ne!(packet.payload.first(), Some(&0x47), "captured encrypted");
        keys.crypt(packet.key, packet.seq, &mut packet.payload).unwrap();
        assert!(!packet.payload.is_empty());
        assert_eq!(packet.payload.len() % 188, 0, "whole TS packets");
        for ts in packet.payload.chunks(188) {
            assert_eq!(ts[0], 0x47, "sync byte");
        }
    }

    #[test]
    fn ffmpeg_aes_128_decrypts() {
        let conclusion = include_bytes!("../../../tests/data/srt-conclusion-ffmpeg-enc16.bin");
        decrypts_to_ts(
            conclusion,
            include_bytes!("../../../tests/data/srt-data-ffmpeg-enc16.bin"),
        );
        // Two sequence numbers later, so the IV is not a constant.
        decrypts_to_ts(
            conclusion,
            include_bytes!("../../../tests/data/srt-data-ffmpeg-enc16-short.bin"),
        );
    }

    #[test]
    fn ffmpeg_aes_192_decrypts() {
        decrypts_to_ts(
            include_bytes!("../../../tests/data/srt-conclusion-ffmpeg-enc24.bin"),
            include_bytes!("../../../tests/data/srt-data-ffmpeg-enc24.bin"),
        );
    }

    #[test]
    fn ffmpeg_aes_256_decrypts() {
        decrypts_to_ts(
            include_bytes!("../../../tests/data/srt-conclusion-ffmpeg-enc32.bin"),
            include_bytes!("../../../tests/data/srt-data-ffmpeg-enc32.bin"),
        );
    }

    #[test]
    fn a_wrong_passphrase_fails_the_unwrap() {
        let km = KeyMaterial::parse(&kmreq(include_bytes!(
            "../../../tests/data/srt-conclusion-ffmpeg-enc16.bin"
        )))
        .unwrap();
        let err = Keys::new(b"wrongpassword0", &km).unwrap_err();
        assert_eq!(err, KeyError::BadPassphrase);
        assert_eq!(
            err.to_string(),
            "srt wrapped keys fail the integrity check: the passphrase differs"
        );
    }

    #[test]
    fn passphrase_lengths() {
        assert_eq!(
            Keys::check_passphrase(b"123456789").unwrap_err().to_string(),
            "srt passphrase of 9 bytes, expected 10 to 79"
        );
        assert_eq!(Keys::check_passphrase(&[b'x'; 10]), Ok(()));
        assert_eq!(Keys::check_passphrase(&[b'x'; 79]), Ok(()));
        assert_eq!(
            Keys::check_passphrase(&[b'x'; 80]),
            Err(KeyError::PassphraseLength { len: 80 })
        );
        let (_, km) = Keys::generate(PASSPHRASE, 16, &[1; 32]).unwrap();
        assert_eq!(
            Keys::new(b"short", &km).unwrap_err(),
            KeyError::PassphraseLength { len: 5 }
        );
    }

    #[test]
    fn generate_then_crypt_twice_gives_the_original() {
        for key_len in [16, 24, 32] {
            let random: Vec<u8> = (0..48).collect();
            let (keys, km) = Keys::generate(PASSPHRASE, key_len, &random).unwrap();
            assert_eq!(km.salt[..], random[..16]);
            assert_eq!(km.key_len, key_len);
            assert_eq!(keys.held(), KeyFlags::Even);
            let mut encoded = Vec::new();
            km.encode(&mut encoded);
            assert_eq!(KeyMaterial::parse(&encoded), Ok(km.clone()));

            let original: Vec<u8> = (0..1316).map(|i| (i * 7) as u8).collect();
            let mut payload = original.clone();
            keys.crypt(KeyFlags::Even, 0x1556_d717, &mut payload).unwrap();
            assert_ne!(payload, original);
            // The peer's keys, unwrapped from the key material, undo it.
            let peer = Keys::new(PASSPHRASE, &KeyMaterial::parse(&encoded).unwrap()).unwrap();
            peer.crypt(KeyFlags::Even, 0x1556_d717, &mut payload).unwrap();
            assert_eq!(payload, original);
            // Another sequence number gives another key stream.
            keys.crypt(KeyFlags::Even, 0x1556_d718, &mut payload).unwrap();
            keys.crypt(KeyFlags::Even, 0x1556_d717, &mut payload).unwrap();
            assert_ne!(payload, original);
        }
    }

    #[test]
    fn both_keys_unwrap_even_first() {
        let kek = kek(PASSPHRASE, &[9; 16], 16);
        let (even, odd) = ([1; 16], [2; 16]);
        let km = KeyMaterial {
            keys: KeyFlags::Both,
            keki: 0,
            cipher: KeyMaterial::CIPHER_AES_CTR,
            auth: KeyMaterial::AUTH_NONE,
            se: KeyMaterial::SE_SRT,
            salt: [9; 16],
            key_len: 16,
            wrapped: wrap(&kek, &[even, odd].concat()),
        };
        let keys = Keys::new(PASSPHRASE, &km).unwrap();
        assert_eq!(keys.held(), KeyFlags::Both);
        let (mut a, mut b) = ([0; 32], [0; 32]);
        keys.crypt(KeyFlags::Even, 5, &mut a).unwrap();
        keys.crypt(KeyFlags::Odd, 5, &mut b).unwrap();
        let mut expected = [0; 32];
        apply(
            &Aes128::new_from_slice(&even).unwrap(),
            (0x0909_0909_0909_0909_0909_0909_0909_0000_u128 ^ 5 << 16).to_be_bytes(),
            &mut expected,
        );
        assert_eq!(a, expected);
        assert_ne!(a, b);
    }

    /// Key material carrying `seks` (even first when both) under `salt`.
    fn km_with(keys: KeyFlags, seks: &[[u8; 16]], salt: [u8; 16]) -> KeyMaterial {
        KeyMaterial {
            keys,
            keki: 0,
            cipher: KeyMaterial::CIPHER_AES_CTR,
            auth: KeyMaterial::AUTH_NONE,
            se: KeyMaterial::SE_SRT,
            salt,
            key_len: 16,
            wrapped: wrap(&kek(PASSPHRASE, &salt, 16), &seks.concat()),
        }
    }

    /// What `sek` under `salt` makes of 32 zero bytes at sequence 5.
    fn stream(sek: [u8; 16], salt: [u8; 16]) -> [u8; 32] {
        let mut out = [0; 32];
        let iv = (u128::from_be_bytes(salt) & !0xffff ^ 5 << 16).to_be_bytes();
        apply(&Aes128::new_from_slice(&sek).unwrap(), iv, &mut out);
        out
    }

    fn crypted(keys: &Keys, key: KeyFlags) -> Result<[u8; 32], KeyError> {
        let mut out = [0; 32];
        keys.crypt(key, 5, &mut out).map(|()| out)
    }

    #[test]
    fn a_refresh_adds_the_new_key_and_keeps_the_old_until_replaced() {
        // libsrt's sender: even first; then the pre-announce of the odd
        // key, both in one message; then the odd alone; then a new even.
        let (first, odd, second) = ([1; 16], [2; 16], [3; 16]);
        let mut keys = Keys::new(PASSPHRASE, &km_with(KeyFlags::Even, &[first], [9; 16])).unwrap();
        assert_eq!(crypted(&keys, KeyFlags::Even), Ok(stream(first, [9; 16])));
        assert_eq!(
            crypted(&keys, KeyFlags::Odd),
            Err(KeyError::MissingKey { key: KeyFlags::Odd })
        );

        keys.renew(PASSPHRASE, &km_with(KeyFlags::Both, &[first, odd], [9; 16]))
            .unwrap();
        assert_eq!(keys.held(), KeyFlags::Both);
        assert_eq!(crypted(&keys, KeyFlags::Even), Ok(stream(first, [9; 16])));
        assert_eq!(crypted(&keys, KeyFlags::Odd), Ok(stream(odd, [9; 16])));

        // A salt of its own stays with its key.
        keys.renew(PASSPHRASE, &km_with(KeyFlags::Even, &[second], [7; 16]))
            .unwrap();
        assert_eq!(crypted(&keys, KeyFlags::Even), Ok(stream(second, [7; 16])));
        assert_eq!(crypted(&keys, KeyFlags::Odd), Ok(stream(odd, [9; 16])));

        // The wrong passphrase changes nothing.
        let other = km_with(KeyFlags::Both, &[[5; 16], [6; 16]], [9; 16]);
        assert_eq!(keys.renew(b"another passphrase", &other), Err(KeyError::BadPassphrase));
        assert_eq!(crypted(&keys, KeyFlags::Even), Ok(stream(second, [7; 16])));
        assert_eq!(crypted(&keys, KeyFlags::Odd), Ok(stream(odd, [9; 16])));
    }

    #[test]
    fn misuse_is_an_error() {
        let (keys, mut km) = Keys::generate(PASSPHRASE, 16, &[3; 32]).unwrap();
        assert_eq!(
            keys.crypt(KeyFlags::Odd, 1, &mut [0; 4]),
            Err(KeyError::MissingKey { key: KeyFlags::Odd })
        );
        assert_eq!(
            keys.crypt(KeyFlags::Clear, 1, &mut [0; 4]),
            Err(KeyError::MissingKey { key: KeyFlags::Clear })
        );
        assert_eq!(
            Keys::generate(PASSPHRASE, 32, &[3; 47]).unwrap_err().to_string(),
            "47 random bytes for srt keys, expected at least 48"
        );
        assert_eq!(
            Keys::generate(PASSPHRASE, 20, &[3; 47]).unwrap_err(),
            KeyError::KeyLength { len: 20 }
        );
        km.cipher = 4;
        assert_eq!(
            Keys::new(PASSPHRASE, &km).unwrap_err().to_string(),
            "srt key material cipher 4 is not supported, expected 2"
        );
        assert_eq!(format!("{keys:?}"), "Keys { held: Even, .. }");
    }
}
