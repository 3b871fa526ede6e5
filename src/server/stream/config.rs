//! `StreamConfig`: the settings every stream runs with, taken from
//! `Config` once for all streams.
//!
//! Apart so that the stream and its cache read the same settings without
//! importing each other.

use std::time::Duration;

/// Stream settings taken from `Config`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamConfig {
    pub(crate) chunk_size: u32,
    pub(crate) gop_cache: bool,
    pub(crate) gop_max_frames: usize,
    /// Bytes the caches together may hold: metadata, every track's
    /// sequence headers, the GOP.
    pub(crate) cache_max_bytes: usize,
    /// Tracks, audio and video together, whose sequence headers are kept.
    pub(crate) max_tracks: usize,
    /// A player is disconnected once more frames than this were dropped
    /// for it while its connection thread wrote nothing...
    pub(crate) max_dropped_in_a_row: u64,
    /// ...and it wrote nothing for this long either.
    pub(crate) min_stall: Duration,
    /// How long frames may wait to be written together; zero writes them
    /// at the end of the read that brought them.
    pub(crate) merge_write: Duration,
}
