//! One connection's state machine: messages in, actions out. Pure.
//!
//! The caller (the server's connection thread) feeds each decoded chunk-stream
//! message to [`ServerSession::handle`] and carries out every returned
//! [`Action`] in order before reading again. Decisions that need shared
//! state (is this stream name free?) come back as an action and are
//! answered with [`ServerSession::accept_publish`] /
//! [`ServerSession::reject_publish`] and [`ServerSession::accept_play`] /
//! [`ServerSession::reject_play`].

mod client;
mod server;
pub mod srt;
#[cfg(test)]
mod tests;

pub use client::{ClientConfig, ClientEvent, ClientSession, Role};
pub use server::{ServerSession, SessionConfig, SessionError};

use crate::media::{Frame, StreamKey};
use crate::protocol::message::Message;
use crate::protocol::time::RtmpTime;

/// Acknowledgements of received bytes (RTMP 1.0 §5.4.3), the same for both
/// roles: once the peer has announced a window, every window's worth of
/// bytes read is acknowledged with the total so far.
#[derive(Debug, Default)]
struct AckWindow {
    /// The peer's Window Acknowledgement Size; 0 until it sends one.
    window: u32,
    received: u64,
    acknowledged: u64,
}

impl AckWindow {
    /// Counts `n` bytes read; the Acknowledgement to send, if one is due.
    fn bytes_received(&mut self, n: usize) -> Option<Outbound> {
        self.received += n as u64;
        if self.window == 0 || self.received - self.acknowledged < self.window as u64 {
            return None;
        }
        self.acknowledged = self.received;
        // The sequence number is the byte count modulo 2^32.
        Some(Outbound::control(Message::Acknowledgement(self.received as u32)))
    }
}

/// A message to send to the peer, with its chunk-stream placement.
#[derive(Debug, Clone, PartialEq)]
pub struct Outbound {
    /// The chunk stream id to send it on.
    pub csid: u32,
    /// Its timestamp.
    pub timestamp: RtmpTime,
    /// Its message stream id.
    pub stream_id: u32,
    /// The message.
    pub message: Message,
}

impl Outbound {
    /// A protocol or user control message: csid 2, message stream 0 (§5.4).
    pub fn control(message: Message) -> Outbound {
        Outbound {
            csid: crate::protocol::chunk::csid::CONTROL,
            timestamp: RtmpTime::ZERO,
            stream_id: 0,
            message,
        }
    }
}

/// What the session asks its caller to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send a message to the peer.
    Send(Outbound),
    /// The peer asks to connect to `app`, with the `?query` of the app
    /// (where authentication travels) and its `flashVer`: answer with
    /// `accept_connect` or `reject_connect`.
    Connect {
        /// The application, without its query.
        app: String,
        /// The query after `?` in the app, empty when none.
        query: String,
        /// The client's `flashVer` (`FMLE/3.0 ...` for encoders).
        flash_ver: String,
        /// The client's `tcUrl`, empty when it sent none.
        tc_url: String,
    },
    /// The peer asks to publish this stream, with the `?query` of the name
    /// (where keys travel): answer with `accept_publish` or `reject_publish`.
    Publish(StreamKey, String),
    /// The peer stopped publishing.
    Unpublish,
    /// The peer asks to play this stream, with the `?query` of the name:
    /// answer with `accept_play` (then subscribe it) or `reject_play`.
    Play(StreamKey, String),
    /// The peer stopped playing.
    StopPlay,
    /// A frame from the publishing peer, for the stream's players.
    Media(Frame),
    /// Close the connection; the text says why, for the log. It never
    /// holds what the peer sent (names can be keys): the peer hears the
    /// details in the status sent before.
    Close(&'static str),
}
