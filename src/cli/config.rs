//! The server's `Config` from the settings in force: the flags with the
//! config file merged in. Where a flag and its key are not given, the
//! value is `Config::default()`'s, so that each default is written once,
//! in the library.
//!
//! In scope: turning each setting into its `Config` field (units, names
//! such as `fmp4`, networks, secrets), refusing values that have no field
//! (`--hls-variant ts`), and `Config::validate`. Out of scope: `[app.NAME]`
//! sections (`apps.rs`) and the checks `Config::validate` makes itself.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rustic_rtmp::media::hls::{Timing, Variant};
use rustic_rtmp::media::recording::Rotation;
use rustic_rtmp::session::SessionConfig;
use rustic_rtmp::{
    Access, Cidr, Config, HlsSettings, Hooks, HttpBind, HttpSettings, Limits, PlayerSettings, Record, RelaySettings,
    RtmpSettings, SrtSettings, StreamSettings, TlsBind,
};

use super::apps::app_config;
use super::defs::{AppFile, Args, File};
use super::file::{self, KeyLines};
use super::names::Names;
use super::record::record;
use super::secrets::{api_token, read_users, secret};
use super::setting::{Given, argvs};

/// The HTTP port when none is given, as SRS and MediaMTX use: the one
/// default of the command's own, since `Config::default()` opens no HTTP
/// listener.
const DEFAULT_HTTP_PORT: u16 = 8080;
const DEFAULT_SRT_PORT: u16 = 8890;

/// The settings in force: the flags with the config file's keys merged in.
pub(crate) struct Settings {
    /// The flags, and the file's keys where no flag was given.
    pub(crate) args: Args,
    /// The file's `[app.NAME]` sections.
    apps: BTreeMap<String, AppFile>,
    /// Where the file sets each key.
    lines: KeyLines,
    /// The keys whose flag was given.
    given: Given,
}

impl Settings {
    /// `args` with `--config`'s file, if given, read and merged in (flags
    /// win).
    pub(crate) fn load(mut args: Args) -> Result<Settings, String> {
        let (mut file, lines) = match &args.config {
            Some(path) => file::read(path)?,
            None => (File::default(), KeyLines::default()),
        };
        let given = args.merge(&mut file);
        Ok(Settings {
            args,
            apps: file.app,
            lines,
            given,
        })
    }

    /// The server's `Config`, checked by `Config::validate`. Errors name
    /// the setting as it was given (`Names`).
    pub(crate) fn config(&self) -> Result<Config, String> {
        let args = &self.args;
        let names = Names {
            lines: &self.lines,
            given: &self.given,
        };
        let name = |key: &str| names.of(key);
        let default = Config::default();
        let ip_of = |key: &str, value: &str| -> Result<IpAddr, String> {
            value
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|e| format!("{} {value:?} is not an IP address: {e}", name(key)))
        };
        let ip = match &args.bind {
            Some(value) => ip_of("bind", value)?,
            None => default.rtmp.bind.ip(),
        };
        let http_ip = match &args.http_bind {
            Some(value) => ip_of("http_bind", value)?,
            None => ip,
        };
        let tls = match (args.tls_port, &args.tls_cert, &args.tls_key) {
            (None, None, None) => None,
            (Some(port), Some(cert), Some(key)) => Some(TlsBind {
                addr: SocketAddr::new(ip, port),
                cert: cert.clone(),
                key: key.clone(),
            }),
            (port, cert, key) => {
                let keys = [
                    ("tls_port", port.is_some()),
                    ("tls_cert", cert.is_some()),
                    ("tls_key", key.is_some()),
                ];
                let first_set = keys.iter().find(|(_, set)| *set).map_or("tls_port", |(key, _)| key);
                let missing: Vec<&str> = keys.iter().filter(|(_, set)| !set).map(|(key, _)| *key).collect();
                return Err(format!(
                    "{}: tls_port, tls_cert and tls_key go together; {} missing",
                    name(first_set),
                    missing.join(" and ")
                ));
            }
        };
        // The default port gives way to another program; one asked for does not.
        let http = (!args.no_http).then(|| HttpBind {
            addr: SocketAddr::new(http_ip, args.http_port.unwrap_or(DEFAULT_HTTP_PORT)),
            required: args.http_port.is_some() || args.http_bind.is_some(),
        });
        let srt_ip = match &args.srt_bind {
            Some(value) => ip_of("srt_bind", value)?,
            None => ip,
        };
        let srt = (!args.no_srt).then(|| HttpBind {
            addr: SocketAddr::new(srt_ip, args.srt_port.unwrap_or(DEFAULT_SRT_PORT)),
            required: args.srt_port.is_some() || args.srt_bind.is_some(),
        });
        let networks = |key: &str, values: &[String]| -> Result<Vec<Cidr>, String> {
            values
                .iter()
                .map(|v| v.parse().map_err(|e| format!("{}: {e}", name(key))))
                .collect()
        };
        let access = Access {
            publish_key: secret(
                &name,
                "publish_key",
                &args.publish_key,
                &args.publish_key_file,
                Some("RUSTIC_RTMP_PUBLISH_KEY"),
            )?,
            publish_keys_file: args.publish_keys_file.clone(),
            play_key: secret(
                &name,
                "play_key",
                &args.play_key,
                &args.play_key_file,
                Some("RUSTIC_RTMP_PLAY_KEY"),
            )?,
            allow_publish: networks("allow_publish", &args.allow_publish)?,
            deny_publish: networks("deny_publish", &args.deny_publish)?,
            allow_play: networks("allow_play", &args.allow_play)?,
            deny_play: networks("deny_play", &args.deny_play)?,
            api_token: api_token(args, &name)?,
            users: match &args.users {
                Some(path) => read_users(&name("users"), path)?,
                None => Vec::new(),
            },
        };
        let hooks = Hooks {
            on_connect: args.on_connect.clone(),
            on_publish: args.on_publish.clone(),
            on_play: args.on_play.clone(),
            on_publish_done: args.on_publish_done.clone(),
            on_play_done: args.on_play_done.clone(),
            on_done: args.on_done.clone(),
            notify_get: match args.notify_method.as_deref() {
                None => default.hooks.notify_get,
                Some("get") => true,
                Some("post") => false,
                Some(other) => {
                    return Err(format!("{} {other:?} is neither get nor post", name("notify_method")));
                }
            },
            timeout: args
                .hook_timeout_ms
                .map_or(default.hooks.timeout, Duration::from_millis),
            on_update: args.on_update.clone(),
            // 0 is refused by `Config::validate`, not raised to 1 ms.
            update_interval: (args.notify_update_interval_ms)
                .map_or(default.hooks.update_interval, Duration::from_millis),
            exec_publish: argvs(&args.exec_publish),
            exec_publish_done: argvs(&args.exec_publish_done),
            exec_play: argvs(&args.exec_play),
            exec_play_done: argvs(&args.exec_play_done),
            on_record_done: args.on_record_done.clone(),
            exec_record_done: argvs(&args.exec_record_done),
        };
        let rotation = Rotation {
            max_ms: args.record_max_seconds.map(|s| s.saturating_mul(1000)),
            max_bytes: args.record_max_bytes,
        };
        let mib = |mb: usize| mb.saturating_mul(1024 * 1024);
        let mut config = Config {
            rtmp: RtmpSettings {
                bind: SocketAddr::new(ip, args.port.unwrap_or(default.rtmp.bind.port())),
                tls,
                session: SessionConfig {
                    chunk_size: args.chunk_size.unwrap_or(default.rtmp.session.chunk_size),
                    ..default.rtmp.session
                },
                wait_for_publisher: (args.wait_for_publisher_seconds)
                    .map(Duration::from_secs)
                    .or(default.rtmp.wait_for_publisher),
                publisher_takeover: default.rtmp.publisher_takeover || args.publisher_takeover,
                ..default.rtmp.clone()
            },
            http: HttpSettings {
                bind: http,
                api_bind: match &args.api_bind {
                    Some(value) => Some(
                        value
                            .parse()
                            .map_err(|e| format!("{} {value:?} is not IP:PORT: {e}", name("api_bind")))?,
                    ),
                    None => None,
                },
                hosts: args.http_host.clone(),
                wait_for_publisher: (args.wait_for_publisher_seconds)
                    .map_or(default.http.wait_for_publisher, Duration::from_secs),
                ..default.http.clone()
            },
            srt: SrtSettings {
                bind: srt,
                latency: args.srt_latency_ms.map_or(default.srt.latency, Duration::from_millis),
                passphrase: args.srt_passphrase.clone(),
                ..default.srt.clone()
            },
            hls: HlsSettings {
                enabled: default.hls.enabled && !args.no_hls,
                variant: match args.hls_variant.as_deref() {
                    None => default.hls.variant,
                    Some("fmp4") => Variant::Fmp4,
                    Some("mpegts") => Variant::MpegTs,
                    Some(other) => {
                        return Err(format!("{} {other:?} is neither fmp4 nor mpegts", name("hls_variant")));
                    }
                },
                dir: args.hls_dir.clone(),
                timing: Timing {
                    segment: match args.hls_segment_seconds {
                        None => default.hls.timing.segment,
                        Some(seconds) => Duration::try_from_secs_f64(seconds).map_err(|_| {
                            format!("{} {seconds} is not a number of seconds", name("hls_segment_seconds"))
                        })?,
                    },
                    part: args.hls_part_ms.map_or(default.hls.timing.part, Duration::from_millis),
                    segments: args.hls_segment_count.unwrap_or(default.hls.timing.segments),
                    ..default.hls.timing
                },
                idle: args.hls_idle_seconds.map_or(default.hls.idle, Duration::from_secs),
                max_bytes: args.hls_max_mb.map_or(default.hls.max_bytes, mib),
                max_blocked: args.hls_max_blocked.unwrap_or(default.hls.max_blocked),
                max_blocked_per_ip: (args.hls_max_blocked_per_ip).unwrap_or(default.hls.max_blocked_per_ip),
            },
            stream: StreamSettings {
                gop_cache: default.stream.gop_cache && !args.no_gop_cache,
                merge_write: args
                    .merge_write_ms
                    .map_or(default.stream.merge_write, Duration::from_millis),
                ..default.stream
            },
            players: PlayerSettings {
                nodelay: default.players.nodelay || args.nodelay,
                ..default.players
            },
            limits: Limits {
                max_connections: args.max_connections.unwrap_or(default.limits.max_connections),
                max_connections_per_ip: (args.max_connections_per_ip).unwrap_or(default.limits.max_connections_per_ip),
                http_max_connections: (args.http_max_connections).unwrap_or(default.limits.http_max_connections),
                http_max_connections_per_ip: (args.http_max_connections_per_ip)
                    .unwrap_or(default.limits.http_max_connections_per_ip),
                max_total_buffered_bytes: (args.max_buffered_mb).map_or(default.limits.max_total_buffered_bytes, mib),
                ..default.limits
            },
            relay: RelaySettings {
                push: args.push.clone(),
                pull: args.pull.clone(),
                pull_idle: args
                    .pull_idle_seconds
                    .map_or(default.relay.pull_idle, Duration::from_secs),
                pull_max: args.pull_max.unwrap_or(default.relay.pull_max),
                pull_static: args.pull_static.clone(),
                tls_insecure: default.relay.tls_insecure || args.push_insecure,
            },
            record: match &args.record_dir {
                Some(dir) => record(
                    &name,
                    Record {
                        rotation,
                        ..Record::to(dir)
                    },
                    args.record.as_deref(),
                    args.record_format.as_deref(),
                    args.record_path.as_deref(),
                )?,
                None => None,
            },
            access,
            hooks,
            reload_drops_refused: default.reload_drops_refused || args.reload_drops_refused,
            ..default
        };
        for (app, section) in &self.apps {
            let named = |key: &str| names.in_app(app, key);
            let settings = app_config(&config, section.clone(), &named)?;
            config.apps.insert(app.clone(), settings);
        }
        config.validate().map_err(|e| names.config_error(&e))?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use argh::FromArgs;

    use super::*;
    use crate::cli::defs::HELP;

    /// The `Config` these flags make, shown in full.
    fn config_of(flags: &[&str]) -> String {
        let args = Args::from_args(&["rustic_rtmp"], flags).expect("flags parse");
        let config = Settings::load(args).and_then(|s| s.config()).expect("a good config");
        format!("{config:?}")
    }

    /// The default the help text gives `key`: the word after `(default`,
    /// when there is one (`(default: the --bind address)` gives none).
    fn default_in_help(doc: &str) -> Option<String> {
        let doc = doc.split_whitespace().collect::<Vec<_>>().join(" ");
        let after = doc.split_once("(default ")?.1;
        let value = after.split([';', ')', ',', ' ', ':']).next()?;
        Some(value.to_owned())
    }

    /// The help text says the defaults that `Config::default()` has: giving
    /// a flag the value its help calls the default changes nothing.
    #[test]
    fn the_help_says_the_defaults_config_has() {
        let none = config_of(&[]);
        let mut checked = 0;
        // A port given is required, unlike the default one (HTTP and SRT
        // then run without it when another program holds it).
        for (key, doc) in HELP.iter().filter(|(key, _)| !["http_port", "srt_port"].contains(key)) {
            let Some(value) = default_in_help(doc) else { continue };
            let flag = format!("--{}", key.replace('_', "-"));
            let given = config_of(&[&flag, &value]);
            assert_eq!(given, none, "{flag} {value}: the help calls it the default");
            checked += 1;
        }
        assert!(checked >= 20, "only {checked} defaults found in the help");
    }
}
