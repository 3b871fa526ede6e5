//! `LogLimit`: how many warnings a peer may cause.
//!
//! Every warning about a peer goes through two limits: its connection's
//! (a peer sending bad messages in a loop) and the server's (many peers at
//! once, or a flood of connections). A warning past either is not written
//! but counted, and the next one written says how many were left out.

use std::fmt;
use std::time::{Duration, Instant};

use log::warn;
use parking_lot::Mutex;

/// A budget of `max` lines per `per`, counting what it turns away.
#[derive(Debug)]
pub(crate) struct LogLimit {
    max: u32,
    per: Duration,
    window_start: Option<Instant>,
    used: u32,
    suppressed: u64,
}

impl LogLimit {
    pub(crate) const fn new(max: u32, per: Duration) -> LogLimit {
        LogLimit {
            max,
            per,
            window_start: None,
            used: 0,
            suppressed: 0,
        }
    }

    /// `Some(n)` when a line may be written at `now`, with the `n` lines
    /// left out since the last one written; `None` when this one must be.
    pub(crate) fn allow(&mut self, now: Instant) -> Option<u64> {
        let fresh = self
            .window_start
            .is_none_or(|start| now.saturating_duration_since(start) >= self.per);
        if fresh {
            self.window_start = Some(now);
            self.used = 0;
        }
        if self.used >= self.max {
            self.suppressed += 1;
            return None;
        }
        self.used += 1;
        Some(std::mem::take(&mut self.suppressed))
    }

    /// Lines left out since the last one written.
    pub(crate) fn left_out(&self) -> u64 {
        self.suppressed
    }

    /// Counts a line left out because another limit turned it away.
    pub(crate) fn count_suppressed(&mut self) {
        self.suppressed += 1;
    }
}

/// Warnings about peers written per second, over all connections.
const SERVER_WARNINGS_PER_SECOND: u32 = 20;

/// The server's own limit on warnings about peers, which every door and
/// wing writes through (`warn`).
pub(crate) struct PeerWarnings(Mutex<LogLimit>);

impl PeerWarnings {
    pub(crate) fn new() -> PeerWarnings {
        PeerWarnings(Mutex::new(LogLimit::new(
            SERVER_WARNINGS_PER_SECOND,
            Duration::from_secs(1),
        )))
    }

    /// Writes a warning about a peer unless its connection's limit
    /// (`own`) or the server's turns it away; the next one written says
    /// how many were left out. Peer text in `args` must already be
    /// `Escaped`.
    pub(crate) fn warn(&self, mut own: Option<&mut LogLimit>, args: fmt::Arguments<'_>) {
        let now = Instant::now();
        let own_left_out = match own.as_deref_mut().map(|limit| limit.allow(now)) {
            Some(None) => return,
            Some(Some(n)) => n,
            None => 0,
        };
        let Some(server_left_out) = self.0.lock().allow(now) else {
            if let Some(limit) = own {
                limit.count_suppressed();
            }
            return;
        };
        match own_left_out + server_left_out {
            0 => warn!("{args}"),
            n => warn!("{args} ({n} warnings left out before this one)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_allows_max_lines_then_reports_what_it_left_out() {
        let mut limit = LogLimit::new(2, Duration::from_secs(1));
        let t0 = Instant::now();
        assert_eq!(limit.allow(t0), Some(0));
        assert_eq!(limit.allow(t0), Some(0));
        assert_eq!(limit.allow(t0 + Duration::from_millis(500)), None);
        assert_eq!(limit.allow(t0 + Duration::from_millis(900)), None);
        assert_eq!(limit.allow(t0 + Duration::from_secs(1)), Some(2));
        assert_eq!(limit.allow(t0 + Duration::from_secs(1)), Some(0));
        limit.count_suppressed();
        assert_eq!(limit.allow(t0 + Duration::from_secs(3)), Some(1));
    }
}
