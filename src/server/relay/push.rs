//! Push relays: every stream published here goes on to other servers
//! (YouTube, Twitch, another rustic_rtmp, nginx-rtmp) through the
//! library's own client.
//!
//! Each destination is one more player of the stream, on a thread of its
//! own (an outlet with no socket, see `local`): its queue is bounded as a
//! player's, a destination that cannot keep up skips to the next keyframe,
//! and none can slow the publisher, the local players or the other
//! destinations. A destination that fails is dialled again after 1 s,
//! then 2, 4, ... up to 30 s, each pause varied by a quarter either way so
//! that many relays do not retry in step; after each connect it gets the
//! metadata and sequence headers first, then frames from a keyframe on.
//! The first failure in a row, and every tenth after it, is logged at
//! warn with the count and the next pause, never with the stream key.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::RecvTimeoutError;
use log::{debug, info, warn};
use parking_lot::Mutex;

pub(crate) use crate::client::shown;
use crate::client::{Client, ClientOptions, Publisher, RtmpUrl};
use crate::config::THREAD_STACK;
use crate::media::{Configuration, FrameKind, StreamKey};
use crate::protocol::escape::Escaped;
use crate::server::control::live::Live;
use crate::server::control::started::{OnPublish, Started};
use crate::server::control::trail::{Came, MAX_HOPS};
use crate::server::stream::kind::ClientKind;
use crate::server::stream::kind::ConnId;
use crate::server::stream::local::{Item, LocalPlayer};
use crate::server::stream::registry::Registry;

/// The first pause before dialling a failed destination again; it doubles
/// up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Failures in a row told at warn: the first, then every `WARN_EVERY`th
/// (the 11th, the 21st, ...), so a destination down for a day says so
/// without filling the log; the others go to debug.
const WARN_EVERY: u64 = 10;
/// How often a connected relay reads what its destination sent.
const SERVICE_EVERY: Duration = Duration::from_secs(1);
/// Destinations one stream may be pushed to through the API: each is a
/// thread and an outgoing connection, so whoever may change things gets
/// no unbounded number of them.
pub(crate) const MAX_PUSHES_PER_STREAM: usize = 16;

/// Every push relay running, which this wing owns.
pub(crate) struct Pushes {
    registry: Arc<Registry>,
    /// The port this server takes RTMP on, and its id in a relay trail
    /// (`control::trail`): what a push says of where it comes from.
    rtmp_port: u16,
    relay_id: String,
    running: Mutex<Vec<Arc<Push>>>,
}

/// One destination of one stream, as the API and metrics show it.
pub(crate) struct Push {
    pub(crate) id: ConnId,
    pub(crate) key: StreamKey,
    /// Where it goes, stream key and all: never shown.
    url: String,
    connected: AtomicBool,
    sent_bytes: AtomicU64,
    reconnects: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Set to end the relay (removed through the API or a reload).
    stop: AtomicBool,
    /// Started from the config's push list (a reload may stop it), not
    /// through the API or a webhook.
    configured: bool,
}

/// A snapshot of a `Push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushStats {
    /// The relay's number.
    pub id: u64,
    /// The local stream it pushes.
    pub key: StreamKey,
    /// The destination without its stream name (a secret, for YouTube and
    /// the like): `rtmp://a.rtmp.youtube.com/live2`.
    pub destination: String,
    /// Connected and publishing now.
    pub connected: bool,
    /// Bytes of frames sent to it.
    pub sent_bytes: u64,
    /// Connections that failed or were lost.
    pub reconnects: u64,
    /// Why the last one failed.
    pub last_error: Option<String>,
}

impl Push {
    pub(crate) fn stats(&self) -> PushStats {
        PushStats {
            id: self.id,
            key: self.key.clone(),
            destination: shown(&self.url),
            connected: self.connected.load(Ordering::Relaxed),
            sent_bytes: self.sent_bytes.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            last_error: self.last_error.lock().clone(),
        }
    }

    /// Whether it goes to `url` (before or after substitution).
    pub(crate) fn goes_to(&self, url: &str) -> bool {
        self.url == url
    }

    /// Ends the relay: its thread leaves the stream at its next wake-up.
    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn failed(&self, why: impl fmt::Display) {
        self.connected.store(false, Ordering::Relaxed);
        self.reconnects.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock() = Some(why.to_string().chars().take(256).collect());
    }
}

/// Whether the relays can dial `url`: an `rtmp://` or `rtmps://` URL
/// with a host, an application and a stream (`Config::validate` asks).
pub(crate) fn dialable(url: &str) -> bool {
    RtmpUrl::parse(url).is_ok()
}

/// The URL a stream is pushed to: `{app}` and `{name}` replaced, and the
/// local name added when the URL names no stream (`rtmp://host/app`), as
/// nginx-rtmp does.
pub(crate) fn target(url: &str, key: &StreamKey) -> String {
    let url = url.replace("{app}", &key.app).replace("{name}", &key.name);
    let path = url.split_once("://").map_or("", |(_, rest)| rest);
    let segments = path
        .split('?')
        .next()
        .unwrap_or("")
        .split('/')
        .filter(|s| !s.is_empty())
        .count();
    match segments {
        // host and app only
        0..=2 => format!("{}/{}", url.trim_end_matches('/'), key.name),
        _ => url,
    }
}

impl Pushes {
    pub(crate) fn new(registry: Arc<Registry>, rtmp_port: u16, relay_id: String) -> Pushes {
        Pushes {
            registry,
            rtmp_port,
            relay_id,
            running: Mutex::new(Vec::new()),
        }
    }

    /// Starts pushing `key` to each destination its application has, and to
    /// `extra` (a webhook's redirect); none goes back to the server the
    /// stream `came` from, and a stream pushed through `MAX_HOPS` servers
    /// already goes nowhere.
    fn start_pushes(self: &Arc<Self>, live: &Live, key: &StreamKey, extra: Option<&str>, came: &Came) {
        let configured = live.config.push_for(&key.app).iter().map(|url| (url.as_str(), true));
        let mut urls = configured.chain(extra.map(|url| (url, false))).peekable();
        if urls.peek().is_some() && came.via.len() >= MAX_HOPS {
            warn!(
                "app={} was pushed through {} servers already: not pushed further (a loop?)",
                Escaped(&key.app),
                came.via.len()
            );
            return;
        }
        for (url, configured) in urls {
            let url = target(url, key);
            if came.from.as_deref().is_some_and(|source| same_server(source, &url)) {
                debug!("push of a pulled stream back to its origin {} left out", shown(&url));
                continue;
            }
            self.start(live, key, url, (configured, &came.via));
        }
    }

    /// After a reload: every live stream is pushed to its application's new
    /// list: destinations that left the list stop, new ones start. Pushes
    /// added through the API or a webhook stay.
    pub(crate) fn follow_reload(self: &Arc<Self>, live: &Live) {
        let streams = self.registry.stats();
        for key in streams.iter().filter(|s| s.publishing).map(|s| &s.key) {
            let wanted: Vec<String> = live
                .config
                .push_for(&key.app)
                .iter()
                .map(|url| target(url, key))
                .collect();
            let running: Vec<Arc<Push>> = (self.running.lock().iter())
                .filter(|p| &p.key == key && p.configured && !p.stop.load(Ordering::Relaxed))
                .cloned()
                .collect();
            for push in running.iter().filter(|p| !wanted.contains(&p.url)) {
                info!("push#{} to {} left the push list", push.id, shown(&push.url));
                push.stop();
            }
            for url in wanted.into_iter().filter(|url| !running.iter().any(|p| &p.url == url)) {
                self.start(live, key, url, (true, &[]));
            }
        }
    }

    /// Pushes `key` to `url` too, as the API asks: refused when the URL does
    /// not parse, or the stream already goes there or to
    /// `MAX_PUSHES_PER_STREAM` places.
    pub(crate) fn add(self: &Arc<Self>, live: &Live, key: &StreamKey, url: String) -> Result<(), NotAdded> {
        RtmpUrl::parse(&url).map_err(|e| NotAdded::BadUrl(e.to_string()))?;
        let taken = |why| Err(NotAdded::Taken(why));
        {
            let pushes = self.running.lock();
            let mut of_stream = pushes
                .iter()
                .filter(|p| &p.key == key && !p.stop.load(Ordering::Relaxed));
            if of_stream.clone().any(|p| p.goes_to(&url)) {
                return taken("the stream is pushed there already");
            }
            if of_stream.nth(MAX_PUSHES_PER_STREAM - 1).is_some() {
                return taken("the stream is pushed to as many places as it may be (16)");
            }
        }
        self.start(live, key, url, (false, &[]));
        Ok(())
    }

    /// Starts one relay of `key` to `url`, from the config's list
    /// (`configured`) or not, for a stream that came through `via`.
    fn start(
        self: &Arc<Self>,
        live: &Live,
        key: &StreamKey,
        url: String,
        (configured, via): (bool, &[String]),
    ) -> Arc<Push> {
        let config = &live.config;
        let player = LocalPlayer::join(&self.registry, &config.players, key, ClientKind::Relay);
        let id = player.id;
        let push = Arc::new(Push {
            id,
            key: key.clone(),
            url,
            connected: AtomicBool::new(false),
            sent_bytes: AtomicU64::new(0),
            reconnects: AtomicU64::new(0),
            last_error: Mutex::new(None),
            stop: AtomicBool::new(false),
            configured,
        });
        self.running.lock().push(push.clone());
        let relay = Relay {
            push: push.clone(),
            player,
            options: ClientOptions {
                tls_insecure: config.relay.tls_insecure,
                // Says where the stream comes from and through which servers,
                // so that the destination, if it is one of ours, neither
                // pushes it back nor takes it again (`Came`).
                flash_ver: Some(
                    Came {
                        from: None,
                        via: via.to_vec(),
                    }
                    .flash_ver(self.rtmp_port, &self.relay_id),
                ),
                ..ClientOptions::default()
            },
        };
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name(format!("push-{id}"))
            .stack_size(THREAD_STACK)
            .spawn(move || {
                relay.run();
                drop(relay);
                if let Some(pushes) = weak.upgrade() {
                    pushes.running.lock().retain(|p| p.id != id);
                }
            });
        if let Err(e) = spawned {
            warn!("cannot start a push thread: {e}");
            self.running.lock().retain(|p| p.id != id);
        }
        push
    }

    /// Every push relay, as the API shows them.
    pub(crate) fn stats(&self) -> Vec<PushStats> {
        self.running.lock().iter().map(|p| p.stats()).collect()
    }

    /// Stops the relays of `key` to `url` (as given, or once
    /// substituted); false when there were none.
    pub(crate) fn stop(&self, key: &StreamKey, url: &str) -> bool {
        let target = target(url, key);
        let mut found = false;
        for push in (self.running.lock().iter()).filter(|p| &p.key == key && (p.goes_to(url) || p.goes_to(&target))) {
            push.stop();
            found = true;
        }
        found
    }
}

impl OnPublish for Pushes {
    fn started(self: Arc<Self>, publish: &Started<'_>) {
        self.start_pushes(publish.live, publish.key, publish.extra, publish.came);
    }
}

/// Whether two RTMP URLs name the same host and port.
fn same_server(a: &str, b: &str) -> bool {
    match (host_and_port(a), host_and_port(b)) {
        (Some((a, p)), Some((b, q))) => a.eq_ignore_ascii_case(&b) && p == q,
        _ => false,
    }
}

/// An `rtmp[s]://` URL's host and port (1935 or 443 unless given), with or
/// without a path.
fn host_and_port(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("rtmp://").or_else(|| url.strip_prefix("rtmps://"))?;
    let base = format!("{}/app/name", rest.split('/').next().unwrap_or(rest));
    let scheme = if url.starts_with("rtmps://") { "rtmps" } else { "rtmp" };
    let parsed = RtmpUrl::parse(&format!("{scheme}://{base}")).ok()?;
    Some((parsed.host, parsed.port))
}

/// Why the API may not push a stream somewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotAdded {
    /// Not an `rtmp://` or `rtmps://` URL: why, without the stream key.
    BadUrl(String),
    /// A destination the stream goes to already, or one too many.
    Taken(&'static str),
}

/// A relay's thread state.
struct Relay {
    push: Arc<Push>,
    player: LocalPlayer,
    options: ClientOptions,
}

impl Relay {
    fn run(&self) {
        let push = &self.push;
        let mut destination: Option<Publisher> = None;
        // What a destination needs first after each connect.
        let mut start = Configuration::default();
        let mut has_video = false;
        // Frames are sent from a place a decoder can start.
        let mut from_keyframe = true;
        let (mut retry_at, mut backoff) = (Instant::now(), FIRST_BACKOFF);
        // Connects that failed since the last one that worked.
        let mut failures: u64 = 0;
        let mut serviced = Instant::now();
        loop {
            if push.stop.load(Ordering::Relaxed) {
                info!("push#{} to {} removed", push.id, shown(&push.url));
                return;
            }
            let now = Instant::now();
            if destination.is_none() && now >= retry_at {
                match self.connect(&start) {
                    Ok(publisher) => {
                        info!("push#{} to {} connected", push.id, shown(&push.url));
                        push.connected.store(true, Ordering::Relaxed);
                        destination = Some(publisher);
                        from_keyframe = true;
                        backoff = FIRST_BACKOFF;
                        failures = 0;
                    }
                    Err(why) => {
                        failures += 1;
                        let pause = jittered(backoff, push.id);
                        let told = told(&push.url, &why);
                        let (id, to) = (push.id, shown(&push.url));
                        let so_far = match failures {
                            1 => "1 failure".to_owned(),
                            n => format!("{n} failures in a row"),
                        };
                        match is_told_at_warn(failures) {
                            true => warn!("push#{id} to {to} failed ({so_far}): {told}; next try in {pause:.1?}"),
                            false => debug!("push#{id} to {to} failed ({so_far}): {told}; next try in {pause:.1?}"),
                        }
                        push.failed(why);
                        retry_at = Instant::now() + pause;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                }
            }
            if let Some(publisher) = &mut destination
                && serviced.elapsed() >= SERVICE_EVERY
            {
                serviced = Instant::now();
                if let Err(why) = publisher.service() {
                    warn!("push#{} to {} lost: {why}", push.id, shown(&push.url));
                    push.failed(why);
                    destination = None;
                    retry_at = Instant::now() + jittered(backoff, push.id);
                    continue;
                }
            }
            let wake = match destination {
                Some(_) => serviced + SERVICE_EVERY,
                None => retry_at,
            };
            let queued = match self.player.media.recv_deadline(wake) {
                Ok(queued) => queued,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let frame = match self.player.taken(&queued) {
                Some(Item::Frame(frame)) => frame,
                Some(Item::StreamEnd) => return,
                None => continue,
            };
            start.keep(frame);
            has_video |= frame.kind == FrameKind::Video;
            let Some(publisher) = &mut destination else { continue };
            let configures = frame.kind == FrameKind::Metadata || frame.is_sequence_header();
            if from_keyframe && !configures {
                let starts = frame.is_keyframe() || (frame.kind == FrameKind::Audio && !has_video);
                if !starts {
                    continue;
                }
                from_keyframe = false;
            }
            match publisher.send(frame) {
                Ok(()) => {
                    push.sent_bytes.fetch_add(frame.payload.len() as u64, Ordering::Relaxed);
                }
                Err(why) => {
                    warn!("push#{} to {} lost: {why}", push.id, shown(&push.url));
                    push.failed(why);
                    destination = None;
                    retry_at = Instant::now() + jittered(backoff, push.id);
                }
            }
        }
    }

    /// Connects and sends what a player needs first.
    fn connect(&self, start: &Configuration) -> Result<Publisher, crate::client::ClientError> {
        let mut publisher = Client::publish(&self.push.url, &self.options)?;
        for frame in start.metadata.iter().chain(&start.headers) {
            publisher.send(frame)?;
        }
        Ok(publisher)
    }
}

/// Whether the `failures`th connect failure in a row is told at warn.
fn is_told_at_warn(failures: u64) -> bool {
    failures % WARN_EVERY == 1
}

/// Why a connect to `url` failed, as a log at warn may say it: the error
/// and its causes (`Connection refused`), with no stream key or login,
/// which a destination's URL may hold (a bad URL is not repeated, and a
/// server's refusal that quotes the key has it blanked).
fn told(url: &str, why: &crate::client::ClientError) -> String {
    if let crate::client::ClientError::BadUrl(_) = why {
        return "not an rtmp://host[:port]/app/stream url".to_owned();
    }
    let mut text = why.to_string();
    let mut cause = std::error::Error::source(why);
    while let Some(e) = cause {
        text.push_str(&format!(": {e}"));
        cause = e.source();
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let login = rest
        .split('/')
        .next()
        .and_then(|host| host.rsplit_once('@'))
        .map(|(login, _)| login);
    let key = rest
        .split_once('/')
        .and_then(|(_, path)| path.rsplit_once('/'))
        .map(|(_, key)| key);
    // The stream name with its query, the name alone, the login: each a
    // secret as long as a short word, shorter ones are no credential.
    let name = key.map(|k| k.split('?').next().unwrap_or(k));
    for secret in [key, name, login].into_iter().flatten().filter(|s| s.len() >= 4) {
        text = text.replace(secret, "<key>");
    }
    Escaped(&text).to_string()
}

/// `pause` varied by up to a quarter either way.
fn jittered(pause: Duration, seed: u64) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let spread = (u64::from(nanos) ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % 501; // 0..=500
    pause * (750 + spread as u32) / 1000
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    #[test]
    fn a_url_without_a_stream_name_gets_the_local_one() {
        let key = StreamKey::new("live", "cam");
        assert_eq!(
            target("rtmp://a.rtmp.youtube.com/live2", &key),
            "rtmp://a.rtmp.youtube.com/live2/cam"
        );
        assert_eq!(target("rtmp://host:1936/live/", &key), "rtmp://host:1936/live/cam");
        assert_eq!(target("rtmp://host/live2/KEY1", &key), "rtmp://host/live2/KEY1");
        assert_eq!(target("rtmp://host/{app}/{name}-low", &key), "rtmp://host/live/cam-low");
        assert_eq!(
            target("rtmps://host:443/rtmp/KEY?x=1", &key),
            "rtmps://host:443/rtmp/KEY?x=1"
        );
    }

    #[test]
    fn a_relay_from_another_server_is_not_pushed_back_there() {
        let peer: SocketAddr = "10.0.0.5:40000".parse().unwrap();
        let came = Came::from_publisher(&Came::default().flash_ver(1936, "aaaaaa"), peer);
        let source = came.from.unwrap();
        assert!(same_server(&source, "rtmp://10.0.0.5:1936/live"));
        assert!(!same_server(&source, "rtmp://10.0.0.5:1935/live"));
    }

    #[test]
    fn the_same_server_is_the_same_host_and_port() {
        assert!(same_server("rtmp://Origin:1935/live/a", "rtmp://origin/app/b"));
        assert!(!same_server("rtmp://origin:1936/live/a", "rtmp://origin/live/a"));
    }

    #[test]
    fn failures_are_told_at_warn_the_first_then_every_tenth() {
        let told: Vec<u64> = (1..=35).filter(|&n| is_told_at_warn(n)).collect();
        assert_eq!(told, [1, 11, 21, 31]);
    }

    #[test]
    fn a_failure_is_told_without_the_key_or_login() {
        use crate::client::ClientError;
        let url = "rtmp://user:pass1234@host:1935/live2/SECRET-KEY?auth=xyz12345";
        let refused = ClientError::Refused {
            code: "NetStream.Publish.BadName".into(),
            description: "SECRET-KEY?auth=xyz12345 is taken; so is SECRET-KEY by user:pass1234".into(),
        };
        let text = told(url, &refused);
        for secret in ["SECRET-KEY", "xyz12345", "pass1234"] {
            assert!(!text.contains(secret), "{text}");
        }
        assert!(text.starts_with("refused with NetStream.Publish.BadName: "), "{text}");
        let bad = told(url, &ClientError::BadUrl(url.into()));
        assert!(!bad.contains("SECRET"), "{bad}");
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let connect = ClientError::Connect {
            addr: "host:1935".into(),
            source: refused,
        };
        assert_eq!(told(url, &connect), "cannot connect to host:1935: connection refused");
    }

    #[test]
    fn pauses_vary_by_a_quarter() {
        for seed in 0..50 {
            let got = jittered(Duration::from_secs(4), seed);
            assert!((3000..=5000).contains(&got.as_millis()), "{got:?}");
        }
    }
}
