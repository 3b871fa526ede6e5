//! An HTTP player: `APP/NAME.flv` or `.mp4`, admitted by the one
//! admission path, then one of the stream's players like an RTMP one (an
//! `Outlet` of its form, the publisher's write-through, the bounded queue,
//! the slow-player policy) until the stream ends the body or the peer
//! leaves.

use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{debug, info};

use super::request::{Container, Request};
use super::response::{self, ANY_ORIGIN, Body, Status};
use super::send::refuse;
use crate::config::Config;
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

/// How long a streaming connection sleeps when nothing happens: it has no
/// timer of its own, this only bounds one `ppoll`.
const IDLE_WAIT: Duration = Duration::from_secs(60);

/// Plays `key` in `container` until the stream or the peer ends.
// Inlined into the connection's loop, as when both were one module: a
// frame of its own would take the player's thread past its third page of
// stack (12 KiB resident per HTTP player instead of 16).
#[inline]
#[allow(clippy::too_many_arguments)]
pub(crate) fn play(
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
