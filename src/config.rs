//! `Config`: everything an embedder or the CLI can set.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Server settings. `Config::default()` is what `rustic_rtmp` runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (see
    /// `ServerHandle::local_addr`).
    pub bind: SocketAddr,
    /// Outgoing chunk size announced to every peer after `connect`.
    pub chunk_size: u32,
    /// Keep the frames since the last keyframe so a joining player starts
    /// at once with a picture.
    pub gop_cache: bool,
    /// Most frames the GOP cache holds; past it caching stops until the next
    /// keyframe. Must be below `player_queue_len`.
    pub gop_cache_max_frames: usize,
    /// Most bytes the GOP cache holds.
    pub gop_cache_max_bytes: usize,
    /// Media messages queued per player before it counts as slow and skips
    /// to the next keyframe.
    pub player_queue_len: usize,
    /// Frames a slow player may miss in a row (while it waits for room and
    /// a keyframe) before it is disconnected: about 8 s of a 25 fps video
    /// with AAC audio.
    pub slow_player_max_dropped: u64,
    /// Largest message a peer may send, in bytes.
    pub max_message_len: u32,
    /// Most chunk streams a peer may open.
    pub max_chunk_streams: usize,
    /// Most bytes of unfinished messages a connection may hold.
    pub max_buffered_bytes: usize,
    /// Most open connections; past it a new socket is closed at once.
    pub max_connections: usize,
    /// Time a peer has to finish the handshake.
    pub handshake_timeout: Duration,
    /// Silence after which a peer is sent a PingRequest; a peer that then
    /// stays silent as long again is closed as dead.
    pub ping_interval: Duration,
    /// Time a publisher may go without sending media before it is closed.
    pub idle_publisher_timeout: Duration,
    /// Time a write to a peer may block before the peer counts as dead.
    pub write_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 1935)),
            chunk_size: 4096,
            gop_cache: true,
            gop_cache_max_frames: 1024,
            gop_cache_max_bytes: 32 * 1024 * 1024,
            player_queue_len: 1536,
            slow_player_max_dropped: 600,
            max_message_len: 16 * 1024 * 1024,
            max_chunk_streams: 64,
            max_buffered_bytes: 32 * 1024 * 1024,
            max_connections: 10_000,
            handshake_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(30),
            idle_publisher_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
        }
    }
}
