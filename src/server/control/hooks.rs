//! The hooks worker: told of the server's events on a thread of its own,
//! it calls `on_publish_done`, `on_play_done`, `on_done`,
//! `on_record_done` and `on_update` (`webhooks` makes the calls), so no
//! hook ever delays media, and closes a connection whose `on_update`
//! answer is not 2xx.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Weak;
use std::time::Instant;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use log::{info, warn};

use crate::media::StreamKey;
use crate::policy::Decision;
use crate::protocol::escape::Escaped;
use crate::server::control::connections::Connections;
use crate::server::control::live::{Current, Live};
use crate::server::control::webhooks::{agent, decide, fields, notify};
use crate::server::stream::events::Event;

/// When `on_update` is next due for `doing`, if its application has one.
fn due(live: &Live, doing: &Doing) -> Option<Instant> {
    let hooks = live.config.hooks_for(&doing.key.app);
    hooks.on_update.as_ref()?;
    Some(doing.told + hooks.update_interval)
}

/// Tells `on_update` of every publish and play it is due for, and closes
/// those whose answer is not 2xx (or that got none).
fn update(
    live: &Live,
    addrs: &HashMap<u64, SocketAddr>,
    doing: &mut HashMap<u64, Doing>,
    connections: &Weak<Connections>,
) {
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
            if let Some(connections) = connections.upgrade() {
                connections.kick(*id);
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
pub(crate) fn tell(current: &Current, events: Receiver<Event>, connections: &Weak<Connections>) {
    let mut addrs: HashMap<u64, SocketAddr> = HashMap::new();
    let mut doing: HashMap<u64, Doing> = HashMap::new();
    // The last stream of each connection, for on_done.
    let mut streams: HashMap<u64, StreamKey> = HashMap::new();
    loop {
        let live = current.now();
        let next_update = doing.values().filter_map(|d| due(&live, d)).min();
        let event = match next_update {
            Some(at) => match events.recv_deadline(at) {
                Err(RecvTimeoutError::Timeout) => {
                    update(&live, &addrs, &mut doing, connections);
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
