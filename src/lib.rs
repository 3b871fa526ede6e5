//! rustic_rtmp: a live-streaming RTMP server, as a library and a binary.
//!
//! ```text
//!  server/    threads, sockets, registry, fan-out          (the only I/O)
//!    |
//!  session/   one connection's state machine: messages in, actions out
//!    |
//!  media/     what a payload is: keyframe? sequence header? codec?
//!    |
//!  protocol/  bytes <-> values: handshake, chunks, AMF0, messages, commands
//! ```
//!
//! `protocol`, `media` and `session` never touch a socket, a thread or a
//! clock: they take bytes or messages and return values.
//!
//! Embedding:
//!
//! ```no_run
//! use rustic_rtmp::{Config, Server};
//!
//! let config = Config { bind: "127.0.0.1:1935".parse().unwrap(), ..Config::default() };
//! let mut server = Server::start(config).expect("port 1935 is free");
//! println!("publish to rtmp://{}/live/key", server.local_addr());
//! // ... later
//! server.shutdown();
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, rust_2018_idioms)]

pub mod client;
mod config;
mod error;
#[doc(hidden)]
pub mod fuzz;
pub mod media;
mod policy;
pub mod protocol;
mod server;
pub mod session;
mod tls;

pub use config::{Access, App, Cidr, Config, Hooks, HttpBind, Record, TlsBind};
pub use error::{ConfigError, ConfigProblem, Error};
pub use policy::{Decision, Policy, PolicyRequest};
pub use server::{
    ClientKind, ClientStats, Event, LocalError, PlayerCounts, Publisher, PublisherStats, PushStats, Server,
    ServerHandle, ServerStats, StreamStats, TrackStats,
};
pub use tls::TlsError;
