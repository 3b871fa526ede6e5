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
    /// Of `bytes_in`, audio and video.
    audio_in: [u64; KEPT],
    video_in: [u64; KEPT],
}

/// What bytes received were, for the audio and video rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Carried {
    Audio,
    Video,
    Other,
}

impl Default for Rates {
    fn default() -> Rates {
        Rates {
            second: 0,
            bytes_in: [0; KEPT],
            bytes_out: [0; KEPT],
            audio_in: [0; KEPT],
            video_in: [0; KEPT],
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
            self.audio_in[slot] = 0;
            self.video_in[slot] = 0;
        }
        self.second = second;
    }

    /// Counts bytes received during `second`, which carried `what`.
    pub(crate) fn received(&mut self, second: u64, bytes: u64, what: Carried) {
        self.add(second, bytes, 0);
        let slot = (second % KEPT as u64) as usize;
        match what {
            Carried::Audio => self.audio_in[slot] += bytes,
            Carried::Video => self.video_in[slot] += bytes,
            Carried::Other => {}
        }
    }

    /// Bits per second over the last `n` whole seconds before `now`:
    /// received, sent, audio received, video received (nginx-rtmp's
    /// `bw_in`, `bw_out`, `bw_audio`, `bw_video` take 10).
    pub(crate) fn bits_per_second(&mut self, now: u64, n: usize) -> [u64; 4] {
        self.advance(now);
        let n = n.clamp(1, KEPT - 1) as u64;
        let sum = |bytes: &[u64; KEPT]| -> u64 {
            (1..=n)
                .filter_map(|back| now.checked_sub(back))
                .map(|s| bytes[(s % KEPT as u64) as usize])
                .sum()
        };
        [&self.bytes_in, &self.bytes_out, &self.audio_in, &self.video_in].map(|b| sum(b) * 8 / n)
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

    #[test]
    fn audio_and_video_rates_over_ten_seconds() {
        let mut rates = Rates::default();
        for second in 0..10 {
            rates.received(second, 1000, Carried::Video);
            rates.received(second, 250, Carried::Audio);
            rates.add(second, 0, 2500);
        }
        assert_eq!(rates.bits_per_second(10, 10), [10_000, 20_000, 2000, 8000]);
        assert_eq!(rates.bits_per_second(10, 20)[0], 5000, "averaged over the whole span");
    }
}
