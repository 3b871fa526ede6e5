//! The RTMP door: one thread per RTMP or RTMPS connection, running the
//! session state machine over its socket.

pub(crate) mod connection;
pub(crate) mod rtmps;
