//! What each route answers, for everything but a stream (which the
//! connection plays): preflights, the API, `/stat`, `/metrics`, the
//! dashboard, `/healthz`, HLS, redirects and refusals. The connection
//! writes the `Reply`.

use std::net::SocketAddr;

use super::figures::Figures;
use super::process::Process;
use super::request::{Request, Route};
use super::response::{self, ANY_ORIGIN, Body, Status};
use super::{Http, calls, dashboard, metrics, srt_stats, stat};
use crate::server::control::live::Live;
use crate::server::stream::kind::ConnId;

/// Which routes a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Door {
    /// Every route: the API listener, or the HTTP listener when the API
    /// has no address of its own.
    Everything,
    /// Streams and HLS only: the HTTP listener when `--api-bind` gives the
    /// API, the dashboard, `/stat` and `/metrics` an address of their own.
    Media,
}

/// What the connection writes for a request it does not stream.
pub(crate) enum Reply {
    /// A whole answer, head and body.
    Whole(Vec<u8>),
    /// A refusal; the connection closes after it.
    Refusal(Vec<u8>),
    /// An HLS answer, written from the muxer's pieces.
    Hls(super::hls::Answer),
}

/// The answer to a request for anything but a stream.
pub(crate) fn answer(
    door: Door,
    route: &Route,
    request: &Request,
    (id, peer): (ConnId, SocketAddr),
    http: &Http,
    live: &Live,
) -> Reply {
    let v = request.minor_version;
    match route.clone() {
        Route::Preflight { media } => {
            // Any page may read media, with the methods a player uses
            // and no headers beyond the safelisted ones; for the API,
            // /stat, /metrics and the dashboard no page is let in: the
            // answer grants nothing, so the browser sends nothing.
            let allow: &[(&str, &str)] = match media {
                true => &[
                    ANY_ORIGIN,
                    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
                    ("Access-Control-Max-Age", "86400"),
                    ("Allow", "GET, HEAD, OPTIONS"),
                ],
                false => &[("Allow", "GET, OPTIONS")],
            };
            Reply::Whole(response::head(
                v,
                Status::NO_CONTENT,
                None,
                Body::Length(0),
                request.keep_alive,
                allow,
            ))
        }
        Route::Dashboard | Route::Api(_) | Route::Metrics | Route::Stat | Route::SrtStats { .. } => {
            let refused = if door == Door::Media {
                let why = "the API, the dashboard, /stat and /metrics are served on the --api-bind address";
                Some((Status::NOT_FOUND, why))
            } else if !live.host_names.knows(request.host.as_deref()) {
                // DNS rebinding: a page on a name its owner points at this
                // server would be the same origin as the server itself.
                let why = "that Host is not a name of this server (add it with --http-host)";
                Some((Status::MISDIRECTED, why))
            } else {
                None
            };
            if let Some((status, why)) = refused {
                return Reply::Refusal(response::refusal(v, status, why, &[]));
            }
            let (status, content_type, body) = match route {
                Route::Api(call) => {
                    let (status, body) = calls::answer(call, request, peer, http, live);
                    (status, "application/json", body)
                }
                Route::Stat => {
                    let totals = http.server.totals();
                    let server = stat::Server {
                        pid: std::process::id(),
                        uptime: http.server.started().0.elapsed(),
                        accepted: totals.accepted,
                        bytes_in: totals.recv_bytes,
                        bytes_out: totals.send_bytes,
                    };
                    let seen = Figures::as_seen_by(http, live, request, peer);
                    let body = stat::render(&server, &seen.streams, &seen.clients);
                    (Status::OK, "text/xml", body)
                }
                Route::SrtStats { publisher } => {
                    let seen = Figures::as_seen_by(http, live, request, peer);
                    let body = srt_stats::render(&seen.clients, publisher.as_deref());
                    (Status::OK, "application/json", body)
                }
                Route::Metrics => {
                    let seen = Figures::as_seen_by(http, live, request, peer);
                    let mut totals = http.server.totals();
                    let slow = seen.streams.iter().map(|s| s.slow_disconnected).sum::<u64>();
                    totals.slow_players_disconnected += slow;
                    let process = Process::read();
                    let body = metrics::render(&totals, (&seen.streams, &seen.clients, &seen.pushes), &process);
                    (Status::OK, "text/plain; version=0.0.4; charset=utf-8", body)
                }
                // One page, its script and style inline, nothing fetched from
                // elsewhere.
                _ => (Status::OK, "text/html; charset=utf-8", dashboard::page().to_owned()),
            };
            let extra = [("Cache-Control", "no-cache")];
            let body_len = Body::Length(body.len());
            let mut answer = response::head(v, status, Some(content_type), body_len, request.keep_alive, &extra);
            answer.extend_from_slice(body.as_bytes());
            Reply::Whole(answer)
        }
        Route::Health => {
            // Any name, any door: a load balancer asks by address.
            let (status, body) = match http.admission.draining() {
                true => (Status::SERVICE_UNAVAILABLE, "draining\n"),
                false => (Status::OK, "ok\n"),
            };
            let extra = [("Cache-Control", "no-store")];
            let length = Body::Length(body.len());
            let mut answer = response::head(v, status, Some("text/plain"), length, request.keep_alive, &extra);
            answer.extend_from_slice(body.as_bytes());
            Reply::Whole(answer)
        }
        Route::Hls { key, file, query } => {
            let asker = super::hls::Asker {
                id,
                peer,
                agent: &request.user_agent,
            };
            Reply::Hls(super::hls::answer(http, live, &asker, &key, file, &query))
        }
        Route::Redirect(location) => {
            // Any door: the page it leads to is served on both.
            let extra = [("Location", location.as_str())];
            let length = Body::Length(0);
            Reply::Whole(response::head(
                v,
                Status::MOVED_PERMANENTLY,
                None,
                length,
                request.keep_alive,
                &extra,
            ))
        }
        Route::Refuse(status, why) => {
            let allow: &[(&str, &str)] = match status {
                Status::METHOD_NOT_ALLOWED => &[("Allow", "GET, OPTIONS")],
                _ => &[],
            };
            Reply::Refusal(response::refusal(v, status, why, allow))
        }
        Route::Stream { .. } => unreachable!("a stream is played, not answered"),
    }
}
