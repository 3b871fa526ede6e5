//! rustic_rtmp: a live-streaming server for RTMP, RTMPS, HTTP-FLV, fMP4 and
//! HLS, as a library and a binary. No async runtime: a thread per connection,
//! and each frame chunked once and shared by every player.
//!
//! The README is for users (flags, URLs, limits); these pages are for
//! changing the code: the layers, where a change goes, and, in [`manual`],
//! how the server works inside and why, what clients see in the detail the
//! README leaves out, and what the benchmarks and tests measured. `cargo
//! doc --open` shows them locally; <https://docs.rs/rustic_rtmp> has the released ones.
//!
//! # Layers
//!
//! ```text
//!  main.rs, cli/   (the binary: flags,        lib.rs (Server, Config, ServerHandle,
//!   config file, logging, signals, reload)      Policy, Event, Publisher)
//!                  \                           /
//!    server/   the only I/O, in wings whose arrows run one way:
//!                mod.rs (composes)
//!                  -> rtmp/, http/, srt/   the doors
//!                  -> hls/, relay/, record   work started for a stream
//!                  -> control/             admission, settings, hooks, connections
//!                  -> stream/              registry, streams, fan-out, players' queues
//!                  -> net/                 sockets, accept loop, clock
//!      |                                        client.rs, tls.rs (blocking client; TLS pumps)
//!    session/  one connection's state machine: messages in, actions out (no I/O);
//!              SRT's live mode: datagrams in, datagrams and payloads out
//!      |
//!    media/    what a payload is (keyframe? sequence header? codec?) and how it is
//!              packaged: FLV, fMP4 fragments, MPEG-TS, recorded files, HLS segments and playlists
//!      |
//!    protocol/ bytes <-> values: handshake, chunk stream, AMF0/AMF3, messages, commands
//! ```
//!
//! `protocol`, `media` and `session` never touch a socket, a file, a thread, a
//! clock, a lock, an atomic, a channel or a system crate: they take bytes or
//! messages (and the time, and random bytes, as arguments) and return values,
//! so every rule in them is tested with plain byte vectors. Each imports
//! nothing above it (`protocol` nothing from `media` or `session`, `media`
//! nothing from `session`, none of them `server`, `client`, `config` or
//! `error`). `config.rs` and `error.rs` follow the same rules but may name
//! each other; `fuzz.rs` may start a thread (each input runs on a connection
//! thread's stack). `scripts/check-layers.sh` checks all of this in CI, with
//! grouped and aliased imports expanded, and its `--self-test` proves each
//! rule against the probe in `scripts/layer-probe`.
//!
//! # Where does a change go
//!
//! One row per room: what it holds, and what it may use. Inside
//! `server/`, a wing uses only the wings below it in this table (the
//! arrows run one way, and `scripts/check-layers.sh` checks that there is
//! no import circle anywhere); every room may use the pure layers
//! (`protocol`, `media`, `session`), `config`, `policy` and `error`.
//!
//! | room | what it holds | may use |
//! |---|---|---|
//! | `protocol/` | the RTMP wire format: handshake (simple and FP9 digest), chunk decoder and encoder, AMF0, AMF3, messages, commands, `authmod=adobe` strings, `RtmpTime`, log-safe `Escaped` text; SRT packets and handshakes as values, stream ids, key material and its AES-CTR (`srt`) | nothing else in the crate; no I/O |
//! | `media/` | what a payload is (`tag`, `codec`), `Frame` and `StreamKey`, packaging: FLV, fMP4, MPEG-TS, HLS segmenter and playlists, recordings; and back: an MPEG-TS stream into frames (`ts_demux`) | `protocol`; no I/O |
//! | `session/` | `ServerSession` and `ClientSession`: one connection's state machine, decisions asked of the caller as actions; `srt`: the listener's handshake (SYN cookie), an SRT connection's receiver (TSBPD, NAK, ACK, too-late drop) and sender (retransmission) | `protocol`, `media`; no I/O |
//! | `config.rs` (and `config/cidr.rs`, the networks the access rules name) | `Config`, one section per concern (`rtmp`, `http`, `hls`, `stream`, `players`, `limits`, `relay`; `Access`, `App`, `Hooks`, `Record`, binds), each the type its wing or layer takes: what an embedder or the binary sets | `protocol`, `media`, `session`, `policy`; no I/O |
//! | `error.rs` | `Error` (what the embedding API fails with), `ConfigError` | `tls`'s error; no I/O |
//! | `policy.rs` | `Policy`, `Decision`, `PolicyRequest`: an embedder's say on connects, publishes and plays | `media` |
//! | `client.rs` | the blocking RTMP/RTMPS client: publish and play one stream (relays, tools, tests) | `protocol`, `media`, `session`, `tls` |
//! | `tls.rs` | RTMPS: server and client TLS ended at a pump thread over a loopback pair | `config` |
//! | `fuzz.rs` | fuzz entry points: bytes in, values or errors out | `protocol`, `session`, `config` |
//! | `server/mod.rs` | `Server::start` and `ServerHandle`: builds the wings, hands each what it needs, lists who is told of a publish (`OnPublishes`), shuts down | every wing; nothing imports it |
//! | `server/wings.rs` | `Wings`, what the server is made of, and the API's `Operations` implemented once over them | every wing; only `mod.rs` imports it |
//! | `server/net/` | sockets and the clock: the accept loop and binding (`listener`), how a socket is read and how a connection ends (`socket`), sleeping on a socket (`waker`), warnings a peer may cause (`log_limit`, `PeerWarnings`), dates (`calendar`), names on disk (`path_name`) | nothing in `server/` |
//! | `server/stream/` | one live stream and its players: the `registry` (and connection numbers), `live_stream` (publishing, joining, the fan-out of a frame), `cache`, `timeline`, `stats`, `first_bytes`, `fanout` (sharded writes), `outlet` (a player's socket and queue), `wire` (a frame in each form, HTTP chunk framing), `writer`, `local` (players and publishers inside the process), `kind` (`ClientKind`, `ConnId`), `events`, `rates`, `long_gop` | `net/` |
//! | `server/control/` | who may do what and who is told: `admission` (the one path every door asks; `Fetch` for a pull), `access`, `auth`, `live` (the settings in force), `webhooks` (the calls), `hooks` (the events worker), `exec`, `trail` (relay loops), `host_names`, `started` (`OnPublish`: what a publish starts), `connections` (the open set, limits per door, kick), `clients` (the API's view of a connection) | `stream/`, `net/` |
//! | `server/hls/` | `muxer` (`Muxers`: one muxer per stream on demand, under one byte budget; HLS request counts) and `files` (`--hls-dir`) | `control/`, `stream/`, `net/` |
//! | `server/relay/` | `push` (`Pushes`) and `pull` (`Pulls`, the admission's `Fetch`): the only wing that dials, through `crate::client` | `control/`, `stream/`, `net/` |
//! | `server/record.rs` | `Recorders`: a player per recording writing `media::recording`'s files | `control/`, `stream/`, `net/` |
//! | `server/rtmp/` | the RTMP door: `connection` (one thread per connection: handshake, decoder, session, actions) and `rtmps`; `Rtmp`, what it is handed | `control/`, `stream/`, `net/` |
//! | `server/srt/` | the SRT door: `router` (the UDP socket's thread: INDUCTION answers, routing by socket id to a bounded queue per connection), `routes`, `session` (one thread per connection: admission, then publish the demuxed TS or read), `feed` (a stream muxed to TS once for all its readers); `Srt`, what it is handed | `control/`, `stream/`, `net/` |
//! | `server/http/` | the HTTP door: `connection` (the request loop), `player` (an HTTP player's loop), `send`, `routes` (what each route answers), `calls` (the API's calls), `figures`, `request`, `response`, `trust`, `held`, `hls`, `hls_token`, `dashboard` (+`dashboard.html`, `player.js`), `api`, `names`, `stat`, `metrics`, `srt_stats` (srt-live-server's `/stats`), `process`; `Http`, what it is handed, and `Operations`, what the API may do | `control/`, `hls/`, `relay/`, `stream/`, `net/` |
//! | `server/validate.rs` | `Config::validate`: values refused before the start | `relay/` (which URLs it can dial) |
//! | `main.rs`, `cli/` | the `rustic_rtmp` binary: every setting declared once (`cli/defs.rs`: flag, TOML key, help, merge rule), the TOML file, the `Config` built from them, logging, signals and reloads, the config watcher, `--api-token auto`, the malloc re-exec | the public API only (`rustic_rtmp::…`) |
//! | `src/bin/` | `rtmp-load` and `rtmp-tap`, the bench's load tools (feature `tools`) | the public API only: `client`, `media`, `protocol` |
//! | `manual/` | how the server works inside and why, what clients see in detail, what was measured: documentation only | — |
//!
//! # Embedding
//!
//! ```no_run
//! use rustic_rtmp::{Config, Server};
//!
//! let mut config = Config::default();
//! config.rtmp.bind = "127.0.0.1:1935".parse().unwrap();
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
pub mod manual;
pub mod media;
mod policy;
pub mod protocol;
mod server;
pub mod session;
mod tls;

pub use config::{
    Access, App, Cidr, Config, HlsSettings, Hooks, HttpBind, HttpSettings, Limits, PlayerSettings, Record,
    RelaySettings, RtmpSettings, SrtSettings, StreamSettings, TlsBind,
};
pub use error::{ConfigError, ConfigProblem, Error};
pub use policy::{Decision, Policy, PolicyRequest};
pub use server::{
    ClientKind, ClientStats, Event, LocalError, PlayerCounts, Publisher, PublisherStats, PushStats, Server,
    ServerHandle, ServerStats, SrtStats, StreamStats, TrackStats,
};
pub use tls::TlsError;
