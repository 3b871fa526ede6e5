//! `RtmpTime`: RTMP timestamps in milliseconds (RTMP 1.0 §5.3.1.2).
//!
//! Timestamps are 32-bit and wrap after about 49.7 days, so arithmetic on them
//! wraps and comparison is serial-number comparison.

use std::fmt;

/// A message timestamp in milliseconds, wrapping at 2^32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RtmpTime(pub u32);

impl RtmpTime {
    /// Time zero.
    pub const ZERO: RtmpTime = RtmpTime(0);

    /// This time plus a delta, wrapping.
    pub fn wrapping_add(self, delta_ms: u32) -> RtmpTime {
        RtmpTime(self.0.wrapping_add(delta_ms))
    }

    /// Milliseconds from `earlier` to `self`, wrapping.
    pub fn delta_since(self, earlier: RtmpTime) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }

    /// True when `self` is at or after `other` in serial-number order
    /// (the nearer way round the 2^32 circle).
    pub fn is_at_or_after(self, other: RtmpTime) -> bool {
        self.0.wrapping_sub(other.0) < 1 << 31
    }
}

impl fmt::Display for RtmpTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_and_compares_as_serial_numbers() {
        let late = RtmpTime(u32::MAX - 5);
        let wrapped = late.wrapping_add(10);
        assert_eq!(wrapped, RtmpTime(4));
        assert_eq!(wrapped.delta_since(late), 10);
        assert!(wrapped.is_at_or_after(late));
        assert!(!late.is_at_or_after(wrapped));
    }
}
