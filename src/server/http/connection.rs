//! The thread of one HTTP connection, the request loop: read a request
//! head within the limits, have it answered (`routes`) and write the
//! answer (`send`), until one closes the connection or asks for a live
//! stream, which `player` then plays to the end.

use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::debug;

use super::player;
use super::request::{self, Request, Route};
use super::response::{self, Status};
use super::routes::{self, Door, Reply};
use super::send::{refuse, reply};
use crate::config::HttpSettings;
use crate::protocol::escape::Escaped;
use crate::server::control::clients::Client;
use crate::server::control::live::Live;
use crate::server::http::Http;
use crate::server::net::socket::{End, read, write_failed};

/// Reads of a request head grow by this much at a time, up to
/// `Config::http.max_header_bytes`.
const READ_SIZE: usize = 4096;
/// Serves one socket accepted on the HTTP port to the end.
pub(crate) fn serve(socket: Arc<TcpStream>, client: Arc<Client>, http: Arc<Http>) {
    let door = match http.current.now().config.http.api_bind {
        Some(_) => Door::Media,
        None => Door::Everything,
    };
    serve_at(door, socket, client, http);
}

/// Serves one socket accepted on the `--api-bind` address to the end.
pub(crate) fn serve_api(socket: Arc<TcpStream>, client: Arc<Client>, http: Arc<Http>) {
    serve_at(Door::Everything, socket, client, http);
}

/// Serves one accepted socket to the end; logs how it ended.
fn serve_at(door: Door, socket: Arc<TcpStream>, client: Arc<Client>, http: Arc<Http>) {
    let (id, peer) = (client.id(), client.addr());
    debug!("conn#{id} {peer} http opened");
    let end = run(door, &socket, &client, &http);
    if let End::Misbehaved(_) | End::Io(_) = &end {
        http.warnings
            .warn(None, format_args!("conn#{id} {peer} http {end}; closing"));
    }
    let _ = socket.shutdown(Shutdown::Both);
    debug!("conn#{id} {peer} http closed ({end})");
}

/// Answers requests until one closes the connection.
fn run(door: Door, socket: &Arc<TcpStream>, client: &Arc<Client>, http: &Arc<Http>) -> End {
    let (id, peer) = (client.id(), client.addr());
    // The settings in force when it opened, for its whole life.
    let live = http.current.now();
    let config = &live.config;
    let _ = socket.set_nodelay(true);
    let _ = socket.set_write_timeout(Some(config.limits.write_timeout));
    let mut buf = Vec::new();
    let mut wait = config.http.header_timeout;
    loop {
        let request = match read_request(socket, client, &mut buf, &config.http, wait) {
            Ok(request) => request,
            Err(Refused::Quietly(end)) => return end,
            Err(Refused::With(status, why)) => {
                refuse(socket, client, &response::refusal(1, status, &why, &[]));
                return End::Misbehaved(why);
            }
        };
        debug!(
            "conn#{id} {peer} http {:?} {}",
            request.method,
            Escaped(&request.target)
        );
        let route = request::route(&request);
        if let Route::Stream { key, query, container } = route {
            // A player holds no request buffer while it streams.
            drop(buf);
            return player::play(socket, client, http, &live, &request, &key, &query, container);
        }
        if let Some(end) = respond(door, &route, &request, (socket, client), http, &live) {
            return end;
        }
        wait = config.http.idle_timeout;
    }
}

/// Answers a request for anything but a stream and writes the answer;
/// `Some` when the connection ends with it.
// Never inlined into `run`: its locals (the API's figures, the pages)
// would sit in the frame under every player's whole life, and each
// player's thread would touch one more page of stack for them.
#[inline(never)]
fn respond(
    door: Door,
    route: &Route,
    request: &Request,
    (socket, client): (&Arc<TcpStream>, &Arc<Client>),
    http: &Http,
    live: &Live,
) -> Option<End> {
    match routes::answer(door, route, request, (client.id(), client.addr()), http, live) {
        Reply::Whole(answer) => reply(socket, client, &answer, request.keep_alive),
        Reply::Refusal(refusal) => {
            refuse(socket, client, &refusal);
            Some(End::Closed("refused a request"))
        }
        Reply::Hls(answer) => {
            let keep_alive = request.keep_alive && !answer.close;
            match answer.write_to(&mut client.counting(&**socket), request.minor_version, keep_alive) {
                Ok(()) => (!keep_alive).then_some(End::Closed("answered")),
                Err(e) => Some(write_failed(e)),
            }
        }
    }
}

/// Why no request could be read.
enum Refused {
    /// Answer with this status and close.
    With(Status, String),
    /// Close without an answer: the peer left, or went quiet between
    /// requests.
    Quietly(End),
}

/// Reads one request head into `buf` (which may already hold the start
/// of it) within the size and header limits, and within `wait` for its
/// first byte and `Config::http.header_timeout` for the whole head.
/// Leaves in `buf` whatever came after the head.
fn read_request(
    socket: &TcpStream,
    client: &Client,
    buf: &mut Vec<u8>,
    settings: &HttpSettings,
    wait: Duration,
) -> Result<Request, Refused> {
    let started = Instant::now();
    let mut deadline = started + wait;
    let mut reader = socket;
    loop {
        if !buf.is_empty() {
            deadline = deadline.min(started + settings.header_timeout);
            match request::parse(buf, settings.max_headers) {
                Ok(Some((request, len))) => {
                    buf.drain(..len);
                    return Ok(request);
                }
                Ok(None) => {}
                Err(e) => return Err(Refused::With(e.status(), e.to_string())),
            }
        }
        if buf.len() >= settings.max_header_bytes {
            let why = format!("request head longer than {} bytes", settings.max_header_bytes);
            return Err(Refused::With(Status::HEADER_TOO_LARGE, why));
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(if buf.is_empty() {
                Refused::Quietly(End::Closed("idle"))
            } else {
                let why = format!("request head not complete within {:?}", settings.header_timeout);
                Refused::With(Status::REQUEST_TIMEOUT, why)
            });
        }
        let _ = socket.set_read_timeout(Some(deadline - now));
        let filled = buf.len();
        let room = READ_SIZE.min(settings.max_header_bytes - filled);
        buf.resize(filled + room, 0);
        let read = read(&mut reader, &mut buf[filled..]);
        let n = read.as_ref().map_or(0, |n| n.unwrap_or(0));
        client.received(n);
        buf.truncate(filled + n);
        read.map_err(Refused::Quietly)?;
    }
}
