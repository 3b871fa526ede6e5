//! One live stream and its players: the `registry` of streams, each
//! `live_stream`'s publishing and fan-out, what it keeps for joiners
//! (`cache`), its players' `timeline`, a joiner's `first_bytes`, its
//! `stats`, the players' queues (`outlet`), the frames they hold, each in
//! every form a player takes (`wire`), and what happens to them
//! (`events`).

pub(crate) mod cache;
pub(crate) mod events;
pub(crate) mod fanout;
pub(crate) mod first_bytes;
pub(crate) mod kind;
pub(crate) mod live_stream;
pub(crate) mod local;
pub(crate) mod long_gop;
pub(crate) mod outlet;
pub(crate) mod rates;
pub(crate) mod registry;
pub(crate) mod stats;
pub(crate) mod timeline;
pub(crate) mod wire;
pub(crate) mod writer;

pub(crate) use cache::CacheError;
pub(crate) use stats::PublisherInfo;
pub use stats::{PlayerCounts, PublisherStats, StreamStats, TrackStats};
