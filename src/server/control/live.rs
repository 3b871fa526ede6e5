//! `Live`: the settings in force, which a reload replaces. Each connection
//! takes the ones current when it opens and keeps them, so new settings
//! apply to new connections; the workers told of events (webhooks, exec)
//! read the current ones at each event.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::config::{Access, Config, Hooks};
use crate::policy::{Decision, Policy, PolicyRequest};
use crate::server::control::access::Gate;
use crate::server::control::host_names::HostNames;
use crate::server::control::webhooks::Webhooks;

/// Where the settings in force are kept, shared by the server's threads:
/// each reader takes the `Live` of the moment and keeps it.
#[derive(Clone)]
pub(crate) struct Current(Arc<RwLock<Arc<Live>>>);

impl Current {
    pub(crate) fn new(live: Live) -> Current {
        Current(Arc::new(RwLock::new(Arc::new(live))))
    }

    /// The settings in force now.
    pub(crate) fn now(&self) -> Arc<Live> {
        self.0.read().clone()
    }

    /// Puts `live` in force for what starts from now on.
    pub(crate) fn set(&self, live: Arc<Live>) {
        *self.0.write() = live;
    }
}

/// One value for the server and one for each application with settings
/// of its own (`Config::apps`).
pub(crate) struct PerApp<T> {
    server: T,
    apps: HashMap<String, T>,
}

impl<T> PerApp<T> {
    fn new(config: &Config, make: impl Fn(&Access, &Hooks) -> T) -> PerApp<T> {
        PerApp {
            server: make(&config.access, &config.hooks),
            apps: (config.apps.iter())
                .map(|(name, app)| (name.clone(), make(&app.access, &app.hooks)))
                .collect(),
        }
    }

    /// The value for `app`'s streams.
    pub(crate) fn get(&self, app: &str) -> &T {
        self.apps.get(app).unwrap_or(&self.server)
    }

    /// The server-wide value.
    pub(crate) fn server(&self) -> &T {
        &self.server
    }
}

pub(crate) struct Live {
    pub(crate) config: Config,
    /// The access rules, per application.
    pub(crate) gates: PerApp<Gate>,
    /// The webhooks that decide, per application, where configured.
    webhooks: PerApp<Option<Webhooks>>,
    /// The names the API and the dashboard answer to.
    pub(crate) host_names: HostNames,
}

impl Live {
    pub(crate) fn new(config: Config) -> Live {
        Live {
            gates: PerApp::new(&config, |access, _| Gate::new(access.clone())),
            webhooks: PerApp::new(&config, |_, hooks| {
                hooks.decides().then(|| Webhooks::new(hooks.clone()))
            }),
            host_names: HostNames::new(hostname().as_deref(), &config.http.hosts),
            config,
        }
    }

    /// Whether a `Policy` or an `on_play` hook decides `app`'s plays: a
    /// decision per viewer, which HLS carries in a token
    /// (`http/hls_token.rs`).
    pub(crate) fn decides_plays(&self, app: &str) -> bool {
        let hooked = self.webhooks.get(app).as_ref().is_some_and(Webhooks::decides_plays);
        self.config.policy.is_some() || hooked
    }

    /// What `request.app`'s webhooks, then the embedding program's policy,
    /// decide of `request`: the first denial wins, a rename carries on
    /// under the new name.
    pub(crate) fn decide(
        &self,
        ask: impl Fn(&dyn Policy, &PolicyRequest<'_>) -> Decision,
        request: PolicyRequest<'_>,
    ) -> Decision {
        let hooks = self.webhooks.get(request.app).as_ref().map(|w| w as &dyn Policy);
        let policy = self.config.policy.as_deref();
        let mut renamed: Option<String> = None;
        let mut relay: Option<String> = None;
        for decider in [hooks, policy].into_iter().flatten() {
            let name = renamed.as_deref().unwrap_or(request.name);
            match ask(decider, &PolicyRequest { name, ..request }) {
                Decision::Allow => {}
                Decision::Rename(name) => renamed = Some(name),
                Decision::Relay(url) => relay = Some(url),
                deny @ Decision::Deny(_) => return deny,
            }
        }
        // A rename and a relay together: the renamed stream is relayed.
        match (renamed, relay) {
            (_, Some(url)) => Decision::Relay(url),
            (Some(name), None) => Decision::Rename(name),
            (None, None) => Decision::Allow,
        }
    }
}

/// The machine's host name, as the kernel holds it.
fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    Some(name.trim().to_owned())
}
