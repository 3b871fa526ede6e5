//! `Reader`: a cursor over a byte slice for big-endian wire fields.
//!
//! A read past the end returns [`Incomplete`] and leaves the cursor where it
//! was, so a parser can rewind and wait for more bytes (partial input is a
//! status, never a protocol error).

use byteorder::{BigEndian, ByteOrder, LittleEndian};

/// The slice ended before the field being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incomplete;

/// A cursor over borrowed bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Incomplete> {
        let end = self.pos.checked_add(n).ok_or(Incomplete)?;
        let bytes = self.buf.get(self.pos..end).ok_or(Incomplete)?;
        self.pos = end;
        Ok(bytes)
    }

    /// Everything not yet consumed.
    pub fn rest(&mut self) -> &'a [u8] {
        let bytes = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        bytes
    }

    /// Capacity to reserve for `count` elements a peer announced: never more
    /// than the bytes left could hold, and at most a few (decoded values are
    /// far larger than their bytes, and nested containers multiply any
    /// reservation), so memory grows only with elements that arrive.
    pub fn capacity_for(&self, count: u32) -> usize {
        (count as usize).min(self.remaining()).min(16)
    }

    /// The next byte without consuming it.
    pub fn peek_u8(&self) -> Result<u8, Incomplete> {
        self.buf.get(self.pos).copied().ok_or(Incomplete)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, Incomplete> {
        self.take(1)?.first().copied().ok_or(Incomplete)
    }

    /// A big-endian u16.
    pub fn u16(&mut self) -> Result<u16, Incomplete> {
        Ok(BigEndian::read_u16(self.take(2)?))
    }

    /// A big-endian 24-bit unsigned integer.
    pub fn u24(&mut self) -> Result<u32, Incomplete> {
        Ok(BigEndian::read_u24(self.take(3)?))
    }

    /// A big-endian u32.
    pub fn u32(&mut self) -> Result<u32, Incomplete> {
        Ok(BigEndian::read_u32(self.take(4)?))
    }

    /// A little-endian u32 (the chunk header's message stream id, §5.3.1.2.1).
    pub fn u32_le(&mut self) -> Result<u32, Incomplete> {
        Ok(LittleEndian::read_u32(self.take(4)?))
    }

    /// A big-endian IEEE 754 double.
    pub fn f64(&mut self) -> Result<f64, Incomplete> {
        Ok(BigEndian::read_f64(self.take(8)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_in_order_and_stops_at_the_end() {
        let mut r = Reader::new(&[1, 0, 2, 0, 0, 3, 4, 0, 0, 0, 9]);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(2));
        assert_eq!(r.u24(), Ok(3));
        assert_eq!(r.u32_le(), Ok(4));
        assert_eq!(r.u32(), Err(Incomplete));
        assert_eq!(r.position(), 10);
        assert_eq!(r.rest(), &[9]);
        assert!(r.is_empty());
    }
}
