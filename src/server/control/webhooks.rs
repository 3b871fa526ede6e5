//! Webhooks with nginx-rtmp's `on_*` contract, so existing scripts keep
//! working: a form-encoded POST per call (`call`, `addr`, `clientid`,
//! `app`, `name`, `flashver`, `swfurl`, `tcurl`, `pageurl`, the client's
//! own `?args`, and the call's own fields).
//!
//! `on_connect`, `on_publish` and `on_play` decide (a `Policy`): 2xx
//! allows, 3xx with a plain name in `Location` renames the stream, and
//! anything else, a timeout or an unreachable hook denies: hooks fail
//! closed. No redirect is followed. `on_publish_done`, `on_play_done`,
//! `on_done`, `on_record_done` and `on_update` are told on a worker
//! thread fed by the server's events (`hooks`), so no hook ever delays
//! media. This file makes the calls.

use std::net::SocketAddr;
use std::time::Duration;

use log::debug;

use crate::config::Hooks;
use crate::policy::{Decision, Policy, PolicyRequest};
use crate::protocol::escape::Escaped;

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
pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into()
}

/// What a hook answered: its status and `Location`, or why there was no
/// answer.
pub(crate) type Answer = Result<(u16, Option<String>), String>;

/// Sends `form` to `url`: a form-encoded POST, or with `get` a GET with
/// the fields as the query (nginx-rtmp's `notify_method get`).
pub(crate) fn notify(agent: &ureq::Agent, url: &str, form: &[(String, String)], get: bool) -> Answer {
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
pub(crate) fn fields(call: &str, addr: SocketAddr, id: u64, app: &str, name: &str) -> Vec<(String, String)> {
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
pub(crate) fn decide(call: &str, answer: Answer) -> Decision {
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
