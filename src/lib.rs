//! rustic_rtmp: a live-streaming server for RTMP, RTMPS, HTTP-FLV, fMP4 and
//! HLS, as a library and a binary. No async runtime: a thread per connection,
//! and each frame chunked once and shared by every player.
//!
//! The README is for users (flags, URLs, limits); these pages are for
//! changing the code: the layers, where a change goes, and, in [`manual`],
//! how the server works inside and why, what clients see in the detail the
//! README leaves out, and what the benchmarks and tests measured. `cargo doc --open` shows them
//! locally; <https://docs.rs/rustic_rtmp> has the released ones.
//!
//! # Layers
//!
//! ```text
//!  main.rs, settings.rs, token_file.rs       lib.rs (Server, Config, ServerHandle,
//!    (the binary: flags, config file,          Policy, Event, Publisher)
//!     logging, signals, SIGHUP reload)          /
//!                  \                           /
//!    server/   the only I/O: listeners (RTMP, RTMPS, HTTP, API) -> one thread per connection;
//!              admission, registry, streams and their fan-out, players inside the process
//!              (subscribers, recorder, push relays, pulls, HLS muxers), hooks, events, HTTP
//!      |                                        client.rs, tls.rs (blocking client; TLS pumps)
//!    session/  one connection's state machine: messages in, actions out (no I/O)
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
//! One row per room: what it holds, and what it may use. For `server/`, the
//! "may use" column lists today's imports inside the crate (issue 23 is
//! narrowing them); `protocol`, `media` and `session` are pure, so a room
//! that uses them uses nothing impure through them.
//!
//! | room | what it holds | may use |
//! |---|---|---|
//! | `protocol/` | the RTMP wire format: handshake (simple and FP9 digest), chunk decoder and encoder, AMF0, AMF3, messages, commands, `authmod=adobe` strings, `RtmpTime`, log-safe `Escaped` text | nothing else in the crate; no I/O |
//! | `media/` | what a payload is (`tag`, `codec`), `Frame` and `StreamKey`, packaging: FLV, fMP4, MPEG-TS, HLS segmenter and playlists, recordings | `protocol`; no I/O |
//! | `session/` | `ServerSession` and `ClientSession`: one connection's state machine, decisions asked of the caller as actions | `protocol`, `media`; no I/O |
//! | `config.rs` | `Config` and its parts (`Access`, `App`, `Hooks`, `Record`, binds): what an embedder or the binary sets | `protocol`, `media`, `session`, `policy`; no I/O |
//! | `error.rs` | `Error` (what the embedding API fails with), `ConfigError` | `tls`'s error; no I/O |
//! | `policy.rs` | `Policy`, `Decision`, `PolicyRequest`: an embedder's say on connects, publishes and plays | `media` |
//! | `client.rs` | the blocking RTMP/RTMPS client: publish and play one stream (relays, tools, tests) | `protocol`, `media`, `session`, `tls` |
//! | `tls.rs` | RTMPS: server and client TLS ended at a pump thread over a loopback pair | `config` |
//! | `fuzz.rs` | fuzz entry points: bytes in, values or errors out | `protocol`, `session`, `config` |
//! | `server/mod.rs` | `Server::start`, `ServerHandle`, `Shared` (the state every room reads), what a publish starts (`published`), shutdown | `config`, `error`, `media`, `tls`, every room below |
//! | `server/listener.rs` | the accept loop: a thread per socket, connection limits | `config`; `clients`, `log_limit`, `stream` |
//! | `server/connection.rs` | one RTMP connection's thread: handshake, decoder, session, actions; the only classifier of I/O errors | `protocol`, `session`, `media`, `policy`; `admission`, `clients`, `log_limit`, `outlet`, `registry`, `relay`, `stream`, `waker`, `wire`, `writer` |
//! | `server/rtmps.rs` | the RTMPS listener's connections: TLS handshake, then an RTMP connection on the pair | `config`, `tls`; `clients`, `connection` |
//! | `server/writer.rs` | `Output`: what a connection owes its peer, written without blocking | `protocol::chunk`, `session`; `outlet`, `wire` |
//! | `server/waker.rs` | sleeping in `ppoll` on one socket, and SIGURG to wake it | nothing in the crate |
//! | `server/log_limit.rs` | `LogLimit`: warnings per connection and per server | nothing in the crate |
//! | `server/calendar.rs` | UTC dates for file names and HTTP, and the one wall-clock reading | nothing in the crate |
//! | `server/registry.rs` | `Registry`: live streams by app and name, RAII publisher and player handles | `media`; `events`, `outlet`, `stream` |
//! | `server/stream.rs` | `Stream`: publisher, caches for joiners (metadata, headers, GOP), timeline, statistics, the players and the batch written to them | `protocol`, `media`; `clients`, `events`, `fanout`, `http::response`, `long_gop`, `outlet`, `rates`, `wire` |
//! | `server/fanout.rs` | `Fanout`: one batch written to many players, sharded over helper threads | `config`; `outlet`, `wire` |
//! | `server/outlet.rs` | `Outlet`: one player's socket and queue, shared with the publishing thread | `clients`, `waker`, `wire` |
//! | `server/wire.rs` | `Wire`: one frame in each player's form (RTMP chunks, FLV tag, fMP4 fragment), built once | `protocol`, `media`; `clients`, `http::response` |
//! | `server/rates.rs` | `Rates`: bytes per second over the last minute (pure) | nothing in the crate |
//! | `server/long_gop.rs` | `LongGop`: the warning for keyframes too far apart | `protocol::time` |
//! | `server/local.rs` | players and publishers inside the process: `Publisher`, subscribers, `LocalPlayer` for the recorder, relays and HLS | `protocol`, `media`, `config`; `clients`, `outlet`, `registry`, `stream`, `wire` |
//! | `server/admission.rs` | the one admission path every door asks before a publish or play | `media`, `policy`; `live`, `pull`, `relay` |
//! | `server/access.rs` | `Gate`: keys, keys files and address lists | `config`, `media`, `protocol::escape`; `auth` |
//! | `server/auth.rs` | `authmod=adobe` challenges, stateless and signed | `protocol::adobe_auth`; `calendar` |
//! | `server/live.rs` | `Live`: the settings in force, swapped by a reload | `config`, `policy`; `access`, `hooks`, `http::trust` |
//! | `server/validate.rs` | `Config::validate`: values refused before the start | `config`, `error`, `media`, `client`, `tls`; `relay` |
//! | `server/path_name.rs` | stream names as file and directory names, one-to-one | nothing in the crate |
//! | `server/clients.rs` | `Client`: the API's entry for one open connection, bytes counted where written | `media`; `outlet`, `stream` |
//! | `server/events.rs` | `Event`s for the embedder's channel and the server's own workers | `media`; `clients` |
//! | `server/hooks.rs` | webhooks with nginx-rtmp's contract, and the `on_update` timers | `config`, `media`, `policy`; `events`, `live` |
//! | `server/exec.rs` | exec hooks: commands run as argv, supervised and restarted | `media`; `events`, `live` |
//! | `server/record.rs` | the recorder: a player that writes `media::recording`'s files | `config`, `media`; `clients`, `events`, `live`, `local`, `stream` |
//! | `server/relay.rs` | push relays: a player per destination, through the library's client | `client`, `config`, `media`; `clients`, `live`, `local`, `stream` |
//! | `server/pull.rs` | pull relays (edges): an origin played and published here | `client`, `config`, `media`, `policy`; `live`, `local`, `published`, `registry`, `relay`, `stream` |
//! | `server/hls.rs` | one HLS muxer per stream, started on demand, under one memory budget | `config`, `media`; `calendar`, `clients`, `hls_files`, `live`, `local`, `stream` |
//! | `server/hls_files.rs` | HLS written to `--hls-dir` | `media`; `path_name` |
//! | `server/http/mod.rs` | the HTTP side's rooms | — |
//! | `server/http/connection.rs` | one HTTP connection's thread: request loop, and an HTTP player's loop | `media`; `admission`, `clients`, `connection`, `outlet`, `record`, `relay`, `waker`, `wire`, `writer`; `held`, `hls`, `process`, `request`, `response` |
//! | `server/http/request.rs` | a request head parsed (`httparse`) and routed (pure) | `media`; `response` |
//! | `server/http/response.rs` | response heads and chunk framing (pure) | nothing in the crate |
//! | `server/http/trust.rs` | who asks: `Host`, another site's page, a proxy (pure) | `request` |
//! | `server/http/held.rs` | `Held`: counted places for waiting requests | `server`, `live` |
//! | `server/http/hls.rs` | HLS requests: playlists (held), init, segments, parts, the stream's page | `media`; `admission`, `calendar`, `server::hls`, `live`; `held`, `hls_token`, `player`, `request`, `response` |
//! | `server/http/hls_token.rs` | HLS tokens: an admission carried to every file (pure) | `media`, `protocol::adobe_auth` |
//! | `server/http/player.rs` | the MSE player script (`player.js`) and the pages it goes into (`dashboard.html`) | nothing in the crate |
//! | `server/http/api.rs` | the JSON API (SRS's v1 shapes) | `media`, `protocol::time`, `server` |
//! | `server/http/names.rs` | stand-ins for secret stream names | `media`, `server` |
//! | `server/http/stat.rs` | `/stat`: nginx-rtmp's statistics XML | `server` |
//! | `server/http/metrics.rs` | `/metrics`: Prometheus text format | `server`; `process`, `request` |
//! | `server/http/process.rs` | this process's CPU, memory, descriptors, threads from /proc | nothing in the crate |
//! | `main.rs`, `settings.rs`, `token_file.rs` | the `rustic_rtmp` binary: flags (argh), the TOML file, merging them into a `Config`, logging, signals and reloads, `--api-token auto`, the malloc re-exec | the public API only (`rustic_rtmp::…`) |
//! | `src/bin/` | `rtmp-load` and `rtmp-tap`, the bench's load tools (feature `tools`) | the public API only: `client`, `media`, `protocol` |
//! | `manual/` | how the server works inside and why, what clients see in detail, what was measured: documentation only | — |
//!
//! # Embedding
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
pub mod manual;
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
