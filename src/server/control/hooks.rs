//! Webhooks with nginx-rtmp's `on_*` contract, so existing scripts keep
//! working: a form-encoded POST per call (`call`, `addr`, `clientid`,
//! `app`, `name`, `flashver`, `swfurl`, `tcurl`, `pageurl`, the client's
//! own `?args`, and the call's own fields).
//!
//! `on_connect`, `on_publish` and `on_play` decide (a `Policy`): 2xx
//! allows, 3xx with a plain name in `Location` renames the stream, and
//! anything else, a timeout or an unreachable hook denies: hooks fail
//! closed. No redirect is followed. `on_publish_done`, `on_play_done`,
//! `on_done`, `on_record_done` and `on_update` are told on a worker thread fed by the
//! server's events, so no hook ever delays media.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Weak;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use log::{debug, info, warn};

use crate::config::Hooks;
use crate::media::StreamKey;
use crate::policy::{Decision, Policy, PolicyRequest};
use crate::protocol::escape::Escaped;
use crate::server::Shared;
use crate::server::control::live::{Current, Live};
use crate::server::stream::events::Event;

/// The hooks that decide, as a `Policy`.
#[derive(Debug)]
pub(crate) struct Webhooks {
    hooks: Hooks,
    agent: ureq::Agent,
}

impl Webhooks {
    pub(crate) fn new(hooks: Hooks) -> Webhooks {
        let agent = agent(hooks.timeout);
        Webhooks { hooks, agent }
    }

    /// Whether `on_play` is set: plays are decided.
    pub(crate) fn decides_plays(&self) -> bool {
        self.hooks.on_play.is_some()
    }

    /// Calls `url` for `call` and reads the answer as a decision.
    fn ask(&self, url: &Option<String>, call: &str, request: &PolicyRequest<'_>, extra: &[(&str, &str)]) -> Decision {
        let Some(url) = url else {
            return Decision::Allow;
        };
        let mut form = fields(call, request.addr, request.id, request.app, request.name);
        form.push(("flashver".into(), request.flash_ver.into()));
        form.push(("tcurl".into(), request.tc_url.into()));
        form.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        // The client's own args follow, as nginx-rtmp passes them, but
        // never under a name of ours: a `?name=` or `?call=` of the
        // client's would shadow the server's for a hook reading the last.
        let ours: Vec<String> = form.iter().map(|(k, _)| k.clone()).collect();
        form.extend(
            query_pairs(request.query)
                .into_iter()
                .filter(|(k, _)| !ours.contains(k)),
        );
        let answer = notify(&self.agent, url, &form, self.hooks.notify_get);
        let decision = decide(call, answer);
        debug!("conn#{} {call} hook: {decision:?}", request.id);
        decision
    }
}

impl Policy for Webhooks {
    fn connect(&self, request: &PolicyRequest<'_>) -> Decision {
        self.ask(&self.hooks.on_connect, "connect", request, &[])
    }

    fn publish(&self, request: &PolicyRequest<'_>) -> Decision {
        self.ask(&self.hooks.on_publish, "publish", request, &[("type", "live")])
    }

    fn play(&self, request: &PolicyRequest<'_>) -> Decision {
        let extra = [("start", "-2"), ("duration", "-1"), ("reset", "0")];
        self.ask(&self.hooks.on_play, "play", request, &extra)
    }
}

/// An HTTP client that follows no redirect and reads 4xx and 5xx as
/// answers.
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into()
}

/// What a hook answered: its status and `Location`, or why there was no
/// answer.
type Answer = Result<(u16, Option<String>), String>;

/// Sends `form` to `url`: a form-encoded POST, or with `get` a GET with
/// the fields as the query (nginx-rtmp's `notify_method get`).
fn notify(agent: &ureq::Agent, url: &str, form: &[(String, String)], get: bool) -> Answer {
    let pairs = form.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let sent = match get {
        true => agent.get(url).query_pairs(pairs).call(),
        false => agent.post(url).send_form(pairs),
    };
    match sent {
        Ok(response) => {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            Ok((response.status().as_u16(), location))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The fields every call carries.
fn fields(call: &str, addr: SocketAddr, id: u64, app: &str, name: &str) -> Vec<(String, String)> {
    [
        ("call", call.to_owned()),
        ("addr", addr.ip().to_string()),
        ("clientid", id.to_string()),
        ("app", app.to_owned()),
        ("name", name.to_owned()),
        ("swfurl", String::new()),
        ("pageurl", String::new()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The `k=v` pairs of a query, as nginx-rtmp passes the client's args.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// nginx-rtmp's reading of an answer: 2xx allows; 3xx renames to a plain
/// name in `Location`, or relays through an `rtmp://` URL; anything else
/// denies.
fn decide(call: &str, answer: Answer) -> Decision {
    match answer {
        Ok((200..=299, _)) => Decision::Allow,
        Ok((300..=399, Some(location))) if !location.contains("://") && !location.is_empty() => {
            Decision::Rename(location.trim_start_matches('/').to_owned())
        }
        Ok((300..=399, Some(location))) if location.starts_with("rtmp://") => Decision::Relay(location),
        Ok((300..=399, Some(location))) => Decision::Deny(format!(
            "the {call} hook redirected to {}, which is neither a name nor an rtmp:// URL",
            Escaped(&location)
        )),
        Ok((status, _)) => Decision::Deny(format!("the {call} hook answered {status}")),
        Err(why) => Decision::Deny(format!("the {call} hook did not answer: {}", Escaped(&why))),
    }
}

/// When `on_update` is next due for `doing`, if its application has one.
fn due(live: &Live, doing: &Doing) -> Option<Instant> {
    let hooks = live.config.hooks_for(&doing.key.app);
    hooks.on_update.as_ref()?;
    Some(doing.told + hooks.update_interval)
}

/// Tells `on_update` of every publish and play it is due for, and closes
/// those whose answer is not 2xx (or that got none).
fn update(live: &Live, addrs: &HashMap<u64, SocketAddr>, doing: &mut HashMap<u64, Doing>, shared: &Weak<Shared>) {
    let now = Instant::now();
    for (id, d) in doing.iter_mut() {
        let (Some(at), Some(addr)) = (due(live, d), addrs.get(id)) else {
            continue;
        };
        if at > now {
            continue;
        }
        d.told = now;
        let hooks = live.config.hooks_for(&d.key.app);
        let Some(url) = &hooks.on_update else { continue };
        let mut form = fields(d.update, *addr, *id, &d.key.app, &d.key.name);
        let elapsed = d.since.elapsed();
        form.push(("time".into(), elapsed.as_secs().to_string()));
        form.push(("timestamp".into(), elapsed.as_millis().to_string()));
        let answer = notify(&agent(hooks.timeout), url, &form, hooks.notify_get);
        if let Decision::Deny(why) = decide(d.update, answer) {
            info!("conn#{id} {why}; closing it");
            if let Some(shared) = shared.upgrade() {
                shared.kick(*id);
            }
        }
    }
}

/// What the hooks worker keeps of each connection that publishes or
/// plays.
struct Doing {
    key: StreamKey,
    /// `update_publish` or `update_play`.
    update: &'static str,
    since: Instant,
    /// When `on_update` was last told of it.
    told: Instant,
}

/// Tells `on_publish_done`, `on_play_done` and `on_done` (a connection
/// that published or played closed, with the last stream it had) from
/// the server's events, and `on_update` of each publish and play every
/// `update_interval`, until the events end. Each call uses the hooks in
/// force for its stream's application. A connection whose `on_update`
/// answer is not 2xx is closed.
pub(crate) fn tell(current: &Current, events: Receiver<Event>, shared: &Weak<Shared>) {
    let mut addrs: HashMap<u64, SocketAddr> = HashMap::new();
    let mut doing: HashMap<u64, Doing> = HashMap::new();
    // The last stream of each connection, for on_done.
    let mut streams: HashMap<u64, StreamKey> = HashMap::new();
    loop {
        let live = current.read().clone();
        let next_update = doing.values().filter_map(|d| due(&live, d)).min();
        let event = match next_update {
            Some(at) => match events.recv_deadline(at) {
                Err(RecvTimeoutError::Timeout) => {
                    update(&live, &addrs, &mut doing, shared);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
                Ok(event) => event,
            },
            None => match events.recv() {
                Ok(event) => event,
                Err(_) => return,
            },
        };
        let (call, id, key) = match event {
            Event::Opened { id, addr } => {
                addrs.insert(id, addr);
                continue;
            }
            ref started @ (Event::PublishStarted { id, ref key } | Event::PlayStarted { id, ref key, .. }) => {
                let update = match started {
                    Event::PublishStarted { .. } => "update_publish",
                    _ => "update_play",
                };
                let key = key.clone();
                streams.insert(id, key.clone());
                let now = Instant::now();
                let started = Doing {
                    key,
                    update,
                    since: now,
                    told: now,
                };
                doing.insert(id, started);
                continue;
            }
            Event::Closed { id } => {
                let Some(key) = streams.remove(&id) else {
                    addrs.remove(&id);
                    continue;
                };
                ("done", id, key)
            }
            Event::PublishStopped { id, key } => {
                doing.remove(&id);
                ("publish_done", id, key)
            }
            Event::PlayStopped { id, key } => {
                doing.remove(&id);
                ("play_done", id, key)
            }
            Event::RecordingDone { id, addr, key, path } => {
                let hooks = live.config.hooks_for(&key.app);
                let Some(url) = &hooks.on_record_done else { continue };
                let mut form = fields("record_done", addr, id, &key.app, &key.name);
                form.push(("recorder".into(), "default".into()));
                form.push(("path".into(), path.display().to_string()));
                if let Err(why) = notify(&agent(hooks.timeout), url, &form, hooks.notify_get) {
                    warn!("conn#{id} record_done hook did not answer: {}", Escaped(&why));
                }
                continue;
            }
            _ => continue,
        };
        let addr = match call {
            "done" => addrs.remove(&id),
            _ => addrs.get(&id).copied(),
        };
        let hooks = live.config.hooks_for(&key.app);
        let url = match call {
            "done" => &hooks.on_done,
            "publish_done" => &hooks.on_publish_done,
            _ => &hooks.on_play_done,
        };
        let (Some(url), Some(addr)) = (url, addr) else {
            continue;
        };
        let form = fields(call, addr, id, &key.app, &key.name);
        if let Err(why) = notify(&agent(hooks.timeout), url, &form, hooks.notify_get) {
            warn!("conn#{id} {call} hook did not answer: {}", Escaped(&why));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_as_nginx_rtmp_reads_them() {
        assert_eq!(decide("publish", Ok((200, None))), Decision::Allow);
        assert_eq!(decide("publish", Ok((204, None))), Decision::Allow);
        assert_eq!(
            decide("publish", Ok((302, Some("other".into())))),
            Decision::Rename("other".into())
        );
        assert_eq!(
            decide("play", Ok((302, Some("rtmp://x/y".into())))),
            Decision::Relay("rtmp://x/y".into())
        );
        assert!(matches!(
            decide("play", Ok((302, Some("http://x/y".into())))),
            Decision::Deny(_)
        ));
        assert!(matches!(decide("play", Ok((302, None))), Decision::Deny(_)));
        assert_eq!(
            decide("publish", Ok((403, None))),
            Decision::Deny("the publish hook answered 403".into())
        );
        assert!(matches!(decide("connect", Err("timed out".into())), Decision::Deny(_)));
    }

    #[test]
    fn the_clients_args_ride_along() {
        assert_eq!(
            query_pairs("key=abc&x&=y"),
            [
                ("key".into(), "abc".into()),
                ("x".into(), String::new()),
                (String::new(), "y".into())
            ]
        );
    }
}
