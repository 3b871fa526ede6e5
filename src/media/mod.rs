//! What a payload is: keyframe or not, sequence header or not, which codec.
//! Pure functions over FLV tag bodies; no I/O.
//!
//! In scope: legacy FLV audio/video tag headers (FLV 10.1 §E.4.2, §E.4.3)
//! and the Enhanced RTMP ExVideoTagHeader / ExAudioTagHeader with FourCC,
//! enough to find keyframes and sequence headers.
//! Out of scope: multitrack packets and codec configuration parsing (#3).

pub mod frame;
pub mod tag;

pub use frame::{Frame, FrameKind, StreamKey};
