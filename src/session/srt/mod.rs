//! One SRT connection's state machine, live mode only, the listener's
//! side: datagrams in, datagrams out, payloads delivered when their time
//! comes (draft-sharabayko-srt §4). No I/O: the caller owns the UDP socket
//! and the clock.
//!
//! - [`handshake`]: the INDUCTION answer with a SYN cookie, the checks on
//!   the CONCLUSION, its answer or a rejection with a reason;
//! - [`Connection`]: after the handshake, the receiver (TSBPD, NAK, ACK,
//!   too-late drop) and the sender (numbering, retransmission on NAK,
//!   expiry), keepalives and the peer's silence.
//!
//! Out of scope: congestion control (live mode sends at the input's
//! rate), rendezvous and the caller's side of the handshake, stream
//! (file) mode, packet filters (FEC), bonding, and clock-drift correction
//! (TSBPD maps the peer's clock to ours once, at its first packet).

mod connection;
pub mod handshake;
mod receiver;
mod sender;
mod seq;

pub use connection::{Bounds, Closed, Connection, Secret, Stats};
pub use receiver::ReceiveStats;
pub use sender::SendStats;
