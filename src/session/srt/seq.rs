//! SRT sequence numbers: 31 bits that wrap (draft-sharabayko-srt §3.1), so
//! "before" and "after" are decided on the circle, not by `<`.

/// The largest sequence number; the next one is 0.
pub(crate) const MAX: u32 = 0x7fff_ffff;

/// `seq` moved on by `n` (which may be negative), on the circle.
pub(crate) fn add(seq: u32, n: i32) -> u32 {
    (seq as i64 + n as i64).rem_euclid(MAX as i64 + 1) as u32
}

/// How far `a` is after `b` (negative when before), for numbers less than
/// half the circle apart.
pub(crate) fn diff(a: u32, b: u32) -> i32 {
    let d = (a.wrapping_sub(b)) & MAX;
    if d > MAX / 2 {
        d as i32 - (MAX as i32) - 1
    } else {
        d as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_wraps_at_31_bits() {
        assert_eq!(add(MAX, 1), 0);
        assert_eq!(add(0, -1), MAX);
        assert_eq!(add(5, 3), 8);
        assert_eq!(diff(0, MAX), 1);
        assert_eq!(diff(MAX, 0), -1);
        assert_eq!(diff(10, 4), 6);
        assert_eq!(diff(4, 10), -6);
        assert_eq!(diff(add(MAX - 2, 7), MAX - 2), 7);
    }
}
