//! Bytes <-> values: the RTMP wire format, and SRT's packets (`srt`), with
//! no I/O.
//!
//! Everything here is a pure function or a push/pull state machine over byte
//! slices: no sockets, threads, clocks, randomness, channels or locks. Time and
//! random bytes come in as arguments, so every rule is testable with plain byte
//! vectors.
//!
//! In scope: the handshake (RTMP 1.0 §5.2), the chunk stream (§5.3), protocol
//! control and user control messages (§5.4, §6.2), AMF0 values and the command
//! messages built from them (§7); SRT's data and control packets and its
//! handshake with extensions (`srt`, draft-sharabayko-srt), as values.
//! Out of scope: deciding what to do with a message (that is `session`) and
//! moving bytes (that is `server`).
#![cfg_attr(not(test), warn(clippy::indexing_slicing))]

pub mod adobe_auth;
pub mod amf0;
pub mod amf3;
pub mod chunk;
pub mod command;
pub mod escape;
pub mod handshake;
pub mod message;
pub mod reader;
pub mod srt;
pub mod time;
