//! Streams to and from other servers: pushes out, pulls in.

pub(crate) mod pull;
pub(crate) mod push;
