//! `Rates`: bytes in and out per second over the last minute, for a
//! stream's bitrate figures. Pure: the caller says which second it is.

/// Seconds kept: a minute of whole seconds, and the one running.
const KEPT: usize = 61;

#[derive(Debug, Clone)]
pub(crate) struct Rates {
    /// The running second.
    second: u64,
    bytes_in: [u64; KEPT],
    bytes_out: [u64; KEPT],
}

impl Default for Rates {
    fn default() -> Rates {
        Rates {
            second: 0,
            bytes_in: [0; KEPT],
            bytes_out: [0; KEPT],
        }
    }
}

impl Rates {
    /// Counts bytes received and sent during `second`.
    pub(crate) fn add(&mut self, second: u64, bytes_in: u64, bytes_out: u64) {
        self.advance(second);
        let slot = (second % KEPT as u64) as usize;
        self.bytes_in[slot] += bytes_in;
        self.bytes_out[slot] += bytes_out;
    }

    /// Moves the running second to `second`, emptying those skipped.
    fn advance(&mut self, second: u64) {
        if second <= self.second {
            return;
        }
        let skipped = (second - self.second).min(KEPT as u64);
        for s in second + 1 - skipped..=second {
            let slot = (s % KEPT as u64) as usize;
            self.bytes_in[slot] = 0;
            self.bytes_out[slot] = 0;
        }
        self.second = second;
    }

    /// Kilobits per second in each of the last `n` whole seconds before
    /// `now` (oldest first): received, then sent.
    pub(crate) fn kbps(&mut self, now: u64, n: usize) -> (Vec<u64>, Vec<u64>) {
        self.advance(now);
        let n = n.min(KEPT - 1) as u64;
        let seconds = (1..=n).rev().map(|back| now.checked_sub(back));
        let kbps = |bytes: &[u64; KEPT], s: Option<u64>| s.map_or(0, |s| bytes[(s % KEPT as u64) as usize] * 8 / 1000);
        seconds
            .map(|s| (kbps(&self.bytes_in, s), kbps(&self.bytes_out, s)))
            .unzip()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_second_and_forgets_after_a_minute() {
        let mut rates = Rates::default();
        rates.add(0, 1000, 2000);
        rates.add(0, 1000, 0);
        rates.add(2, 500, 500);
        let (rx, tx) = rates.kbps(3, 3);
        assert_eq!(rx, [16, 0, 4]);
        assert_eq!(tx, [16, 0, 4]);
        rates.add(3, 250, 0);
        // 60 seconds later the first ones are gone, the running one is not
        // counted.
        rates.add(63, 125, 0);
        let (rx, _) = rates.kbps(63, 60);
        assert_eq!(rx.len(), 60);
        assert_eq!(rx[0], 2, "second 3 is the oldest kept");
        assert!(rx[1..].iter().all(|&k| k == 0));
        let (rx, _) = rates.kbps(64, 1);
        assert_eq!(rx, [1]);
        // A long silence empties everything.
        assert!(rates.kbps(1000, 60).0.iter().all(|&k| k == 0));
    }
}
