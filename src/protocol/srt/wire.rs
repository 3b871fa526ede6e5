//! Field helpers shared by the packet parts: big-endian words that name
//! themselves when the datagram ends early, and `SocketId`.

use super::error::PacketError;
use crate::protocol::reader::Reader;

/// An SRT socket id, as the destination socket id field and the handshake
/// carry it. 0 addresses a listener during the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SocketId(pub u32);

/// A big-endian u32 field, or `Truncated` naming it and where it starts.
pub(super) fn be32(r: &mut Reader<'_>, what: &'static str) -> Result<u32, PacketError> {
    let offset = r.position();
    r.u32().map_err(|_| PacketError::Truncated { what, offset })
}

/// A big-endian u16 field, or `Truncated` naming it and where it starts.
pub(super) fn be16(r: &mut Reader<'_>, what: &'static str) -> Result<u16, PacketError> {
    let offset = r.position();
    r.u16().map_err(|_| PacketError::Truncated { what, offset })
}

/// Appends a big-endian u32.
pub(super) fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_be_bytes());
}
