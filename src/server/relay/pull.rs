//! Pull relays: an edge. A play of a stream nobody publishes here, in an
//! application with origins (`Config::relay.pull`), opens one pull from the
//! first origin that has it, `ORIGIN/{name}`; the pulled frames are
//! published here as an encoder's would be, so every local player of any
//! protocol, the recorder and the push relays share that one pull. When
//! an origin fails the next one is tried; once no player has been left for
//! `relay.pull_idle`, the pull ends. Static pulls (`relay.pull_static`) start at boot
//! and never end.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use log::{debug, info, warn};
use parking_lot::Mutex;

use crate::client::{Client, ClientError, ClientOptions, RtmpUrl};
use crate::config::THREAD_STACK;
use crate::media::StreamKey;
use crate::policy::Routed;
use crate::protocol::escape::Escaped;
use crate::server::control::admission::Fetch;
use crate::server::control::live::{Current, Live};
use crate::server::control::started::{OnPublishes, Started};
use crate::server::control::trail::Came;
use crate::server::net::log_limit::PeerWarnings;
use crate::server::relay::push::{self, shown};
use crate::server::stream::PublisherInfo;
use crate::server::stream::kind::ConnId;
use crate::server::stream::local::LOCAL_ADDR;
use crate::server::stream::registry::{Publishing, Registry};

/// How long an origin may send nothing before the next one is tried.
const ORIGIN_SILENCE: Duration = Duration::from_secs(10);
/// How often a pull looks whether it still has players.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// Pauses between rounds over every origin: from 1 s, doubling to 30 s.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Every pull running, which this wing owns, and what a pull needs to
/// publish what it brings.
pub(crate) struct Pulls {
    registry: Arc<Registry>,
    current: Current,
    warnings: Arc<PeerWarnings>,
    on_publish: OnPublishes,
    /// Set at shutdown: every pull ends.
    stopping: AtomicBool,
    running: Mutex<Vec<Arc<Pull>>>,
}

/// One pull, for the API and to avoid a second for the same stream.
pub(crate) struct Pull {
    pub(crate) id: ConnId,
    pub(crate) key: StreamKey,
    /// The origins, tried in turn (full URLs, stream name included).
    urls: Vec<String>,
    /// Never ends for want of players.
    fixed: bool,
    idle: Duration,
    /// For `rtmps://` origins.
    tls_insecure: bool,
}

impl Pulls {
    pub(crate) fn new(
        registry: Arc<Registry>,
        current: Current,
        warnings: Arc<PeerWarnings>,
        on_publish: OnPublishes,
    ) -> Pulls {
        Pulls {
            registry,
            current,
            warnings,
            on_publish,
            stopping: AtomicBool::new(false),
            running: Mutex::new(Vec::new()),
        }
    }

    /// Pulls `key` from the first of `urls` (origin base URLs, or with
    /// `{name}`) unless it is published here or pulled already. A `fixed` pull
    /// ends only with the server.
    pub(crate) fn ensure(self: &Arc<Self>, live: &Live, key: &StreamKey, urls: &[String], fixed: bool) {
        if urls.is_empty() || self.registry.is_live(key) {
            return;
        }
        let mut pulls = self.running.lock();
        if pulls.iter().any(|p| &p.key == key) {
            return;
        }
        if !fixed && pulls.iter().filter(|p| !p.fixed).count() >= live.config.relay.pull_max {
            drop(pulls);
            let max = live.config.relay.pull_max;
            self.warnings.warn(
                None,
                format_args!("{max} pulls under way, the limit (pull-max): no pull for a play"),
            );
            return;
        }
        let id = self.registry.new_conn_id();
        let pull = Arc::new(Pull {
            id,
            key: key.clone(),
            urls: urls.iter().map(|url| push::target(url, key)).collect(),
            fixed,
            idle: live.config.relay.pull_idle,
            tls_insecure: live.config.relay.tls_insecure,
        });
        pulls.push(pull.clone());
        drop(pulls);
        let weak = Arc::downgrade(self);
        let spawned = std::thread::Builder::new()
            .name(format!("pull-{id}"))
            .stack_size(THREAD_STACK)
            .spawn(move || {
                pull.run(&weak);
                if let Some(pulls) = weak.upgrade() {
                    pulls.running.lock().retain(|p| p.id != id);
                }
            });
        if let Err(e) = spawned {
            warn!("cannot start a pull thread: {e}");
            self.running.lock().retain(|p| p.id != id);
        }
    }

    /// Starts the static pulls of `live`: each URL's stream under its own app
    /// and name.
    pub(crate) fn start_static(self: &Arc<Self>, live: &Live) {
        for url in &live.config.relay.pull_static {
            match RtmpUrl::parse(url) {
                Ok(parsed) => {
                    let name = parsed.stream.split('?').next().unwrap_or_default().to_owned();
                    self.ensure(live, &StreamKey::new(parsed.app, name), std::slice::from_ref(url), true);
                }
                Err(e) => warn!("pull_static {}: {e}", shown(url)),
            }
        }
    }

    /// Whether `key` is being pulled.
    pub(crate) fn pulls(&self, key: &StreamKey) -> bool {
        self.running.lock().iter().any(|p| &p.key == key)
    }

    /// Ends every pull (shutdown): each stops at its next look.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }
}

impl Fetch for Pulls {
    /// Pulls the stream a play was allowed for, when nobody publishes it here
    /// and a webhook relayed the play or its application has origins.
    fn for_play(self: Arc<Self>, live: &Live, routed: &Routed) {
        match &routed.relay {
            Some(url) => self.ensure(live, &routed.key, std::slice::from_ref(url), false),
            None => self.ensure(live, &routed.key, live.config.pull_for(&routed.key.app), false),
        }
    }
}

/// Why a pull from one origin ended.
enum Ended {
    /// No player for `idle`, or the server stopped: the pull is over.
    Done,
    /// The origin failed or went silent: try the next.
    Failed(String),
}

impl Pull {
    fn run(&self, pulls: &Weak<Pulls>) {
        let mut backoff = FIRST_BACKOFF;
        let mut unwatched_since = Instant::now();
        loop {
            for url in &self.urls {
                match self.pull_from(url, pulls, &mut unwatched_since) {
                    Ended::Done => return,
                    Ended::Failed(why) => {
                        info!("pull#{} from {} failed: {why}", self.id, shown(url));
                    }
                }
            }
            // Every origin failed: pause, still ending once unwatched.
            let until = Instant::now() + backoff;
            while Instant::now() < until {
                if self.over(pulls, &mut unwatched_since) {
                    return;
                }
                std::thread::sleep(LOOK_EVERY.min(until.saturating_duration_since(Instant::now())));
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Whether the pull should end: the server is gone, or nobody has
    /// watched for `idle` (`unwatched_since` is kept up to date here).
    fn over(&self, pulls: &Weak<Pulls>, unwatched_since: &mut Instant) -> bool {
        let Some(pulls) = pulls.upgrade() else { return true };
        if pulls.stopping.load(Ordering::Relaxed) {
            return true;
        }
        if self.fixed || pulls.registry.audience(&self.key) > 0 {
            *unwatched_since = Instant::now();
            return false;
        }
        let idle = unwatched_since.elapsed() >= self.idle;
        if idle {
            info!(
                "pull#{} of {} ends: no player for {:?}",
                self.id,
                Escaped(&self.key.app),
                self.idle
            );
        }
        idle
    }

    /// Plays `url` and publishes what comes locally until the pull is over
    /// or the origin fails.
    fn pull_from(&self, url: &str, weak: &Weak<Pulls>, unwatched_since: &mut Instant) -> Ended {
        let options = ClientOptions {
            tls_insecure: self.tls_insecure,
            ..ClientOptions::default()
        };
        let mut player = match Client::play(url, &options).and_then(|p| p.set_read_timeout(LOOK_EVERY).map(|()| p)) {
            Ok(player) => player,
            Err(e) => return Ended::Failed(e.to_string()),
        };
        info!("pull#{} from {} connected", self.id, shown(url));
        let mut publishing: Option<Publishing> = None;
        let mut heard = Instant::now();
        loop {
            if self.over(weak, unwatched_since) {
                return Ended::Done;
            }
            let frame = match player.recv() {
                Ok(Some(frame)) => {
                    heard = Instant::now();
                    frame
                }
                Ok(None) => {
                    // The origin's publisher left: so does ours (players
                    // get StreamEOF and stay for its return).
                    publishing = None;
                    heard = Instant::now();
                    continue;
                }
                // A read timeout: a second without a frame.
                Err(ClientError::TimedOut) => {
                    if heard.elapsed() >= ORIGIN_SILENCE {
                        return Ended::Failed(format!("nothing for {ORIGIN_SILENCE:?}"));
                    }
                    continue;
                }
                Err(e) => return Ended::Failed(e.to_string()),
            };
            if publishing.is_none() {
                let Some(pulls) = weak.upgrade() else {
                    return Ended::Done;
                };
                publishing = match self.publish(&pulls, url) {
                    Some(publishing) => Some(publishing),
                    None => {
                        debug!("pull#{}: published here meanwhile; the pull ends", self.id);
                        return Ended::Done;
                    }
                };
            }
            let Some(publishing) = &publishing else { continue };
            if let Err(e) = publishing.push(frame) {
                return Ended::Failed(e.to_string());
            }
            publishing.flush_now();
        }
    }

    /// Claims the stream here for the pulled frames, with the recorder and
    /// push relays a local publish gets (none back to `url`'s server).
    fn publish(&self, pulls: &Pulls, url: &str) -> Option<Publishing> {
        let info = PublisherInfo {
            addr: LOCAL_ADDR,
            encoder: format!("pull from {}", shown(url)),
            tc_url: String::new(),
        };
        let publishing = pulls.registry.publish(&self.key, self.id, info)?;
        let live = pulls.current.now();
        pulls.on_publish.tell(&Started {
            live: &live,
            key: &self.key,
            id: self.id,
            addr: LOCAL_ADDR,
            extra: None,
            came: &Came::pulled(url),
        });
        Some(publishing)
    }
}
