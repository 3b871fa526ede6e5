//! The thread of one HTTP connection: read a request head within the
//! limits, answer it, and for a live stream become one of its players
//! until either side ends. The only I/O of the HTTP side.

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, info};

use super::request::{self, Container, Request, Route};
use super::response::{self, ANY_ORIGIN, Body, Status};
use super::routes::{self, Door, Reply};
use crate::config::{Config, HttpSettings};
use crate::media::StreamKey;
use crate::protocol::escape::Escaped;
use crate::server::control::admission::Asker;
use crate::server::control::clients::Client;
use crate::server::control::live::Live;
use crate::server::http::Http;
use crate::server::net::socket::{End, read, write_failed};
use crate::server::net::waker::Sleeper;
use crate::server::stream::kind::ClientKind;
use crate::server::stream::outlet::Outlet;
use crate::server::stream::wire::Form;
use crate::server::stream::wire::LAST_CHUNK;
use crate::server::stream::writer::Output;

/// Reads of a request head grow by this much at a time, up to
/// `Config::http.max_header_bytes`.
const READ_SIZE: usize = 4096;
/// After a refusal, how long and how much of what the client still sends
/// is read and dropped before the close: closing a socket with unread
/// input resets the connection, and the client may lose the answer.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 256 * 1024;
/// How long a streaming connection sleeps when nothing happens: it has no
/// timer of its own, this only bounds one `ppoll`.
const IDLE_WAIT: Duration = Duration::from_secs(60);

/// Serves one socket accepted on the HTTP port to the end.
pub(crate) fn serve(socket: Arc<TcpStream>, client: Arc<Client>, http: Arc<Http>) {
    let door = match http.live().config.http.api_bind {
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
    let live = http.live();
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
            return play(socket, client, http, &live, &request, &key, &query, container);
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

/// Writes a whole answer; `Some` when the connection ends with it.
fn reply(socket: &TcpStream, client: &Client, answer: &[u8], keep_alive: bool) -> Option<End> {
    match client.counting(socket).write_all(answer) {
        Ok(()) => (!keep_alive).then_some(End::Closed("answered")),
        Err(e) => Some(write_failed(e)),
    }
}

/// Writes a refusal, then lingers (see `LINGER`) until the client closes.
fn refuse(socket: &TcpStream, client: &Client, response: &[u8]) {
    let mut socket = socket;
    if client.counting(socket).write_all(response).is_err() || socket.shutdown(Shutdown::Write).is_err() {
        return;
    }
    let deadline = Instant::now() + LINGER;
    let mut drained = 0;
    let mut buf = [0u8; 4096];
    while drained < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || socket.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match read(&mut socket, &mut buf) {
            Ok(Some(n)) => drained += n,
            _ => return,
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

/// Plays `key` in `container` until the stream or the peer ends.
#[allow(clippy::too_many_arguments)]
fn play(
    socket: &Arc<TcpStream>,
    client: &Client,
    http: &Arc<Http>,
    live: &Live,
    request: &Request,
    key: &StreamKey,
    query: &str,
    container: Container,
) -> End {
    let (id, peer) = (client.id(), client.addr());
    let config = &live.config;
    let v = request.minor_version;
    let (label, content_type) = match container {
        Container::Flv => ("http-flv", "video/x-flv"),
        Container::Mp4 => ("fmp4", "video/mp4"),
    };
    let key = &match http.admission.may_play(live, &Asker::http(id, peer), key, query) {
        Ok(key) => key,
        Err(why) => {
            info!(
                "conn#{id} {peer} {label} play refused app={}: {}",
                Escaped(&key.app),
                Escaped(&why)
            );
            refuse(
                socket,
                client,
                &response::refusal(v, Status::FORBIDDEN, &why, &[ANY_ORIGIN]),
            );
            return End::Closed("play refused");
        }
    };
    // HTTP/1.1 bodies are chunked, so the connection could carry another
    // request after the stream ends; HTTP/1.0 bodies end with the
    // connection.
    let (form, body) = match (container, v) {
        (Container::Flv, 0) => (Form::Flv, Body::UntilClose),
        (Container::Flv, _) => (Form::FlvChunked, Body::Chunked),
        (Container::Mp4, 0) => (Form::Fmp4, Body::UntilClose),
        (Container::Mp4, _) => (Form::Fmp4Chunked, Body::Chunked),
    };
    let (outlet, media) = Outlet::new(
        socket.clone(),
        form,
        config.players.queue_len,
        config.players.queue_max_bytes,
    );
    let sleeper = match Sleeper::new(outlet.waker()) {
        Ok(sleeper) => sleeper,
        Err(e) => return End::Io(e),
    };
    let mut output = Output::new(media);
    let playing = http.registry.play(key, id, outlet.clone());
    // Like an RTMP play, a name not live yet waits for its publisher; its
    // first frame wakes this thread. An fMP4 player waits for its init
    // segment, which needs the codecs: the head says whether it can play.
    let deadline = Instant::now() + config.http.wait_for_publisher;
    let ready = |output: &Output| output.has_queued() || (form.is_flv() && playing.is_live());
    // A wait holds this thread: it counts among the requests held, per
    // address and server-wide, as LL-HLS's blocking reloads do.
    let mut held = None;
    if !ready(&output) {
        held = http.held.take(peer.ip(), live);
        if held.is_none() {
            drop(playing);
            let why = "too many requests wait here already; try again";
            let refusal = response::refusal(v, Status::SERVICE_UNAVAILABLE, why, &[ANY_ORIGIN]);
            refuse(socket, client, &refusal);
            return End::Closed("too many waiting");
        }
        debug!(
            "conn#{id} {label} waits up to {:?} for a publisher",
            config.http.wait_for_publisher
        );
    }
    while !ready(&output) {
        let now = Instant::now();
        if outlet.is_finished()
            && let Some(why) = playing.fmp4_refusal()
        {
            drop(playing);
            info!("conn#{id} {peer} {label} play refused app={}: {why}", Escaped(&key.app));
            refuse(
                socket,
                client,
                &response::refusal(v, Status::UNSUPPORTED_MEDIA_TYPE, &why, &[ANY_ORIGIN]),
            );
            return End::Closed("unsupported codec");
        }
        if now >= deadline || outlet.is_finished() {
            drop(playing);
            let why = format!("nothing published within {:?}", config.http.wait_for_publisher);
            refuse(
                socket,
                client,
                &response::refusal(v, Status::NOT_FOUND, &why, &[ANY_ORIGIN]),
            );
            return End::Closed("stream not live");
        }
        match sleeper.wait(socket, false, || output.has_queued(), deadline - now) {
            Ok(true) => {
                // Bytes after the request, or the peer leaving.
                if let Err(end) = read(&mut &**socket, &mut [0u8; 512]) {
                    return end;
                }
            }
            Ok(false) => {}
            Err(e) => return End::Io(e),
        }
    }
    // Playing now, it waits no more.
    drop(held);
    let extra = [ANY_ORIGIN, ("Cache-Control", "no-cache")];
    output.raw(
        &outlet,
        &response::head(v, Status::OK, Some(content_type), body, false, &extra),
    );
    info!("conn#{id} {peer} {label} play start app={}", Escaped(&key.app));
    client.attach(&outlet);
    client.doing(form.player_kind(), Some(key));
    client.asked_with(query, false);
    debug!("conn#{id} {label} play name={}", Escaped(&key.name));
    if !config.players.nodelay {
        // Nagle from here on, as for RTMP players (see connection.rs).
        let _ = socket.set_nodelay(false);
    }
    let end = stream(&sleeper, socket, &outlet, &mut output, config, form);
    drop(playing);
    client.doing(ClientKind::Idle, None);
    info!("conn#{id} {peer} {label} play stop ({end})");
    end
}

/// Writes the stream's frames as the socket takes them, until the stream
/// ends the body or the peer leaves.
fn stream(
    sleeper: &Sleeper<'_>,
    socket: &TcpStream,
    outlet: &Outlet,
    output: &mut Output,
    config: &Config,
    form: Form,
) -> End {
    let mut ending = false;
    loop {
        let done = match output.write(socket, outlet) {
            Ok(done) => done,
            Err(e) => return write_failed(e),
        };
        if outlet.is_hung_up() {
            return End::TooSlow;
        }
        // Set after the stream queued its last frame: all of it is here.
        if done && outlet.is_finished() && !output.has_queued() {
            if ending || !form.is_chunked() {
                return End::Closed("the stream ended");
            }
            output.raw(outlet, LAST_CHUNK);
            ending = true;
            continue;
        }
        let timeout = match output.stuck_since() {
            Some(since) => (since + config.limits.write_timeout).saturating_duration_since(Instant::now()),
            None => IDLE_WAIT,
        };
        match sleeper.wait(socket, !done, || output.has_queued(), timeout) {
            // Nothing more is expected from the peer: what it sends is
            // read and dropped, so it cannot fill our receive buffer.
            Ok(true) => {
                if let Err(end) = read(&mut &*socket, &mut [0u8; 512]) {
                    return end;
                }
            }
            Ok(false) => {}
            Err(e) => return End::Io(e),
        }
        if output
            .stuck_since()
            .is_some_and(|since| since.elapsed() >= config.limits.write_timeout)
        {
            return End::NotReading(config.limits.write_timeout);
        }
    }
}
