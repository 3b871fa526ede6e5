//! The API's calls answered: whether the caller may change things (the
//! token, and nothing in the head showing another site's page or a
//! proxy), then the server's `Operations`, then the JSON (`api`).

use std::net::SocketAddr;

use super::figures::Figures;
use super::process::Process;
use super::request::{ApiCall, Request};
use super::response::Status;
use super::{Http, api, trust};
use crate::server::control::live::Live;
use crate::server::relay::push::NotAdded;

/// The status and JSON body answering an API call.
pub(crate) fn answer(
    call: &ApiCall,
    request: &Request,
    peer: SocketAddr,
    http: &Http,
    live: &Live,
) -> (Status, String) {
    let envelope = api::Envelope {
        service: http.server.started().1.to_owned(),
        pid: std::process::id(),
    };
    let not_found = |what: &str| (Status::NOT_FOUND, envelope.error(404, what));
    if call.changes()
        && let Err((code, why)) = (live.gates.server()).may_change(
            peer.ip(),
            request.authorization.as_deref(),
            trust::foreign_sender(request),
        )
    {
        let status = match code {
            401 => Status::UNAUTHORIZED,
            _ => Status::FORBIDDEN,
        };
        // Someone tried to change something: the operator hears of it,
        // as often as the server's warnings may be.
        http.warnings
            .warn(None, format_args!("{peer} API change refused: {why}"));
        return (status, envelope.error(code, &why));
    }
    // A change found its caller trusted above, and acts on the real names.
    let Figures {
        streams,
        clients,
        pushes,
    } = match call.changes() {
        true => Figures::of(http),
        false => Figures::as_seen_by(http, live, request, peer),
    };
    let by_id = |id: &str| id.parse::<u64>().ok();
    let stream_of = |id: &str| streams.iter().find(|s| Some(s.id) == by_id(id));
    match call {
        ApiCall::Streams => (
            Status::OK,
            api::streams(&envelope, &streams, &pushes, http.server.rtmp_addr().port()),
        ),
        ApiCall::Stream(id) => match stream_of(id) {
            Some(stream) => (Status::OK, api::one_stream(&envelope, stream, &pushes)),
            None => not_found("no stream has that id"),
        },
        ApiCall::AddPush(id, url) => match stream_of(id) {
            Some(stream) => {
                let url = crate::server::relay::push::target(url, &stream.key);
                match http.server.add_push(live, &stream.key, url) {
                    Ok(()) => (Status::OK, envelope.done()),
                    Err(NotAdded::BadUrl(why)) => (Status::BAD_REQUEST, envelope.error(400, &why)),
                    Err(NotAdded::Taken(why)) => (Status::CONFLICT, envelope.error(409, why)),
                }
            }
            None => not_found("no stream has that id"),
        },
        ApiCall::StartRecord(id) => {
            let Some(stream) = stream_of(id).filter(|s| s.publishing) else {
                return not_found("no live stream has that id");
            };
            // The application's recording, else the server's.
            let settings = live.config.record_for(&stream.key.app).or(live.config.record.as_ref());
            let (Some(settings), Some(publisher)) = (settings, &stream.publisher) else {
                let why = "no record_dir is configured for this stream";
                return (Status::BAD_REQUEST, envelope.error(400, why));
            };
            let at = (publisher.id, publisher.addr);
            http.server.record(live, &stream.key, at, settings.clone());
            (Status::OK, envelope.done())
        }
        ApiCall::StopRecord(id) => match stream_of(id).is_some_and(|s| http.server.stop_record(&s.key)) {
            true => (Status::OK, envelope.done()),
            false => not_found("that stream is not being recorded"),
        },
        ApiCall::RemovePush(id, url) => {
            let removed = stream_of(id).is_some_and(|s| http.server.remove_push(&s.key, url));
            match removed {
                true => (Status::OK, envelope.done()),
                false => not_found("that stream is not pushed there"),
            }
        }
        ApiCall::Clients => (Status::OK, api::clients(&envelope, &clients, &streams)),
        ApiCall::Client(id) => match clients.iter().find(|c| Some(c.id) == by_id(id)) {
            Some(client) => (Status::OK, api::one_client(&envelope, client, &streams)),
            None => not_found("no client has that id"),
        },
        ApiCall::Kick(id) => match by_id(id).is_some_and(|id| http.server.kick(id)) {
            true => (Status::OK, envelope.done()),
            false => not_found("no client has that id"),
        },
        ApiCall::Drain(on) => {
            http.server.drain(*on);
            (Status::OK, envelope.done())
        }
        ApiCall::Summaries => {
            let totals = http.server.totals();
            let process = Process::read();
            let summary = api::Summary {
                uptime: http.server.started().0.elapsed(),
                rss_kib: process.resident_bytes.map(|b| b / 1024),
                cpu_seconds: process.cpu_seconds,
                connections: totals.connections,
                accepted: totals.accepted,
                streams: streams.len(),
                recv_bytes: totals.recv_bytes,
                send_bytes: totals.send_bytes,
            };
            (Status::OK, api::summaries(&envelope, &summary))
        }
    }
}
