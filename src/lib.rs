//! rustic_rtmp: a live-streaming RTMP server.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod media;
pub mod protocol;
pub mod session;
