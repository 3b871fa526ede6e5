//! HLS: one muxer per stream while viewers ask, and its files on disk.

pub(crate) mod files;
pub(crate) mod muxer;
