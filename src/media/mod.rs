//! What a payload is: keyframe or not, sequence header or not, which codec.
//! Pure functions over FLV tag bodies; no I/O.
//!
//! In scope: legacy FLV audio/video tag headers (FLV 10.1 §E.4.2, §E.4.3)
//! and the Enhanced RTMP v1/v2 ExVideoTagHeader / ExAudioTagHeader (FourCC,
//! ModEx, multitrack), enough to find keyframes, codec configuration and
//! tracks.
//! How media is packaged for players other than RTMP: FLV files (`flv`).
//! Out of scope: parsing codec configuration records themselves.

pub mod codec;
pub mod flv;
pub mod fmp4;
pub mod frame;
pub mod hls;
pub mod recording;
pub mod tag;
pub mod ts;
pub mod ts_demux;

pub use frame::{Configuration, Frame, FrameKind, StreamKey};
