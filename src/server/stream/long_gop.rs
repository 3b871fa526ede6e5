//! `LongGop`: watches a publisher's keyframe interval (its GOP) and says,
//! once per publish, when keyframes come further apart than `LONG_GOP`.
//!
//! A player can only start at a keyframe: with a 10 s GOP, HLS takes that
//! long to have a segment and a joining player starts up to that far
//! behind, and the cause is the encoder's setting, not the server. The
//! operator is told so and what to set (a 1–2 s keyframe interval).
//!
//! In scope: the interval between video keyframes, in the stream's media
//! time. Out of scope: keyframe intervals per track of a multitrack
//! stream (any track's keyframe counts), and changing anything: the
//! stream plays as it is.

use std::time::Duration;

use crate::protocol::time::RtmpTime;

/// Keyframes further apart than this are worth a warning: past it, HLS
/// starts late and joiners start far behind live.
pub(crate) const LONG_GOP: Duration = Duration::from_secs(4);

/// One publish's keyframes so far.
#[derive(Debug, Default)]
pub(crate) struct LongGop {
    last_keyframe: Option<RtmpTime>,
    told: bool,
}

impl LongGop {
    /// Notes a keyframe at `at`: the interval since the previous one, the
    /// first time one is longer than `LONG_GOP`; `None` after that, and
    /// for timestamps that go back (a publisher that restarted its clock).
    pub(crate) fn keyframe(&mut self, at: RtmpTime) -> Option<Duration> {
        let last = self.last_keyframe.replace(at)?;
        if self.told || !at.is_at_or_after(last) {
            return None;
        }
        let gap = Duration::from_millis(at.delta_since(last).into());
        self.told = gap > LONG_GOP;
        self.told.then_some(gap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaps(keyframes_ms: &[u32]) -> Vec<Duration> {
        let mut gop = LongGop::default();
        (keyframes_ms.iter())
            .filter_map(|&ms| gop.keyframe(RtmpTime(ms)))
            .collect()
    }

    #[test]
    fn a_long_gop_is_told_once() {
        assert_eq!(gaps(&[0, 6000, 12_000, 18_000]), [Duration::from_secs(6)]);
        assert_eq!(gaps(&[0, 1000, 2000, 7000, 17_000]), [Duration::from_secs(5)]);
    }

    #[test]
    fn short_gops_and_exactly_the_limit_are_not() {
        assert!(gaps(&[0, 1000, 2000, 4000, 8000]).is_empty());
        assert!(gaps(&[5000]).is_empty(), "one keyframe is no interval");
    }

    #[test]
    fn a_clock_that_wraps_counts_and_one_that_goes_back_does_not() {
        assert_eq!(gaps(&[u32::MAX - 999, 4_001]), [Duration::from_millis(5_001)]);
        assert!(gaps(&[60_000, 1000, 2000]).is_empty());
    }
}
