//! `PacketError`: why a datagram is not an SRT packet.

use std::fmt;

/// A datagram that does not decode as an SRT packet. Offsets count bytes from
/// the start of the datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PacketError {
    /// The datagram ended inside a field.
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Where that field starts.
        offset: usize,
    },
    /// An extension block claims more 32-bit words than the datagram holds.
    ExtensionOverrun {
        /// The block's type (1 HSREQ, 5 SID, ...).
        ext_type: u16,
        /// Where the block's content starts.
        offset: usize,
        /// The length the block announced, in 32-bit words.
        words: u16,
        /// The bytes that were left.
        remaining: usize,
    },
    /// A fixed-size extension block (HSREQ/HSRSP) has another length.
    ExtensionLength {
        /// The block's type.
        ext_type: u16,
        /// Where the block's content starts.
        offset: usize,
        /// The length the block announced, in 32-bit words.
        words: u16,
        /// The length its type requires.
        expected: u16,
    },
    /// The stream id (SID block) is not UTF-8.
    StreamIdNotUtf8 {
        /// Where the block's content starts.
        offset: usize,
    },
    /// An ACK's control information field has a length SRT does not define
    /// (4, 16 or 28 bytes).
    AckLength {
        /// The CIF's length in bytes.
        len: usize,
    },
    /// A NAK loss list ends with a range start that has no range end.
    NakRangeUnterminated {
        /// Where the range start is.
        offset: usize,
    },
    /// A NAK range end carries the range-start flag too.
    NakRangeEnd {
        /// Where the range end is.
        offset: usize,
        /// The word read there.
        value: u32,
    },
}

impl fmt::Display for PacketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketError::Truncated { what, offset } => {
                write!(f, "srt packet truncated in {what} at offset {offset}")
            }
            PacketError::ExtensionOverrun {
                ext_type,
                offset,
                words,
                remaining,
            } => write!(
                f,
                "srt extension block type {ext_type} at offset {offset} claims {words} words \
                 but only {remaining} bytes remain"
            ),
            PacketError::ExtensionLength {
                ext_type,
                offset,
                words,
                expected,
            } => write!(
                f,
                "srt extension block type {ext_type} at offset {offset} has {words} words, \
                 expected {expected}"
            ),
            PacketError::StreamIdNotUtf8 { offset } => {
                write!(f, "srt stream id at offset {offset} is not utf-8")
            }
            PacketError::AckLength { len } => {
                write!(f, "srt ack information of {len} bytes, expected 4, 16 or 28")
            }
            PacketError::NakRangeUnterminated { offset } => {
                write!(f, "srt nak range starting at offset {offset} has no end")
            }
            PacketError::NakRangeEnd { offset, value } => write!(
                f,
                "srt nak range end {value:#010x} at offset {offset} has the range-start flag"
            ),
        }
    }
}

impl std::error::Error for PacketError {}
