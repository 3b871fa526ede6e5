//! `KeyError`: why key material does not parse, or keys cannot be made or
//! used.

use std::fmt;

use super::packet::KeyFlags;

/// Key material that does not decode, a passphrase libsrt would refuse, or
/// a payload there is no key for. Offsets count bytes from the start of the
/// key material message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The message ended inside a field.
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Where that field starts.
        offset: usize,
    },
    /// A field that has one value in every message libsrt sends (version 1,
    /// packet type 2, sign 0x2029) has another.
    Field {
        /// The field.
        what: &'static str,
        /// The value read.
        value: u32,
        /// The value it must have.
        expected: u32,
    },
    /// The KK field announces no key (0b00).
    NoKey,
    /// The key length is not 16, 24 or 32 bytes.
    KeyLength {
        /// The length in bytes (the field says it in 32-bit words).
        len: usize,
    },
    /// The salt is not 16 bytes, the only length libsrt sends.
    SaltLength {
        /// The length in bytes.
        len: usize,
    },
    /// The wrapped keys are not 8 bytes longer than the keys the KK field
    /// and the key length announce.
    WrappedLength {
        /// The bytes after the salt.
        len: usize,
        /// What KK and the key length require.
        expected: usize,
    },
    /// A cipher, authentication or stream encapsulation this side cannot
    /// use (only AES-CTR without authentication over SRT is).
    Unsupported {
        /// The field.
        what: &'static str,
        /// The value in the message.
        value: u8,
        /// The one value supported.
        expected: u8,
    },
    /// The passphrase is not 10 to 79 bytes long (libsrt refuses others).
    PassphraseLength {
        /// Its length in bytes.
        len: usize,
    },
    /// The wrapped keys fail RFC 3394's integrity check: the peer's
    /// passphrase differs from ours.
    BadPassphrase,
    /// Fewer random bytes than a salt and a key need.
    RandomTooShort {
        /// The bytes given.
        len: usize,
        /// The bytes needed.
        needed: usize,
    },
    /// A data packet names a key this side does not hold (or none, or
    /// both).
    MissingKey {
        /// The packet's KK field.
        key: KeyFlags,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Truncated { what, offset } => {
                write!(f, "srt key material truncated in {what} at offset {offset}")
            }
            KeyError::Field { what, value, expected } => {
                write!(f, "srt key material {what} {value:#x}, expected {expected:#x}")
            }
            KeyError::NoKey => f.write_str("srt key material announces no key"),
            KeyError::KeyLength { len } => {
                write!(f, "srt key length of {len} bytes, expected 16, 24 or 32")
            }
            KeyError::SaltLength { len } => {
                write!(f, "srt key material salt of {len} bytes, expected 16")
            }
            KeyError::WrappedLength { len, expected } => {
                write!(f, "srt wrapped keys of {len} bytes, expected {expected}")
            }
            KeyError::Unsupported { what, value, expected } => {
                write!(
                    f,
                    "srt key material {what} {value} is not supported, expected {expected}"
                )
            }
            KeyError::PassphraseLength { len } => {
                write!(f, "srt passphrase of {len} bytes, expected 10 to 79")
            }
            KeyError::BadPassphrase => f.write_str("srt wrapped keys fail the integrity check: the passphrase differs"),
            KeyError::RandomTooShort { len, needed } => {
                write!(f, "{len} random bytes for srt keys, expected at least {needed}")
            }
            KeyError::MissingKey { key } => {
                write!(f, "srt data packet needs key {key:?}, which this side does not hold")
            }
        }
    }
}

impl std::error::Error for KeyError {}
