//! `Config::validate`: the values a server cannot run with, refused before
//! it starts (`Server::start`) rather than found out later, at the first
//! publish, the first hook call or the first push.
//!
//! In scope: ranges and relations of numbers, URLs (push and pull ones
//! parse as the relays will parse them; webhooks are `http://`), commands,
//! and files the server reads (they exist and can be read; the TLS pair
//! loads). Here rather than in `config.rs`, which stays free of I/O and of
//! the client's URL parser.
//!
//! Nothing is clamped into range, here or where a value is used: a value
//! the server cannot run with as written is refused, naming its field, so
//! that an embedder and the command get what they asked for or an error.
//!
//! Out of scope: addresses that cannot be bound (`Error::Bind` at start),
//! directories that are written later (`record.dir`, `hls.dir`: made when
//! first needed), and a file's content beyond loading it.

use std::path::Path;
use std::time::Duration;

use crate::config::{App, Config, Hooks};
use crate::error::{ConfigError, ConfigProblem};
use crate::media::StreamKey;
use crate::media::hls::{Timing, Variant};
use crate::protocol::srt::Keys;
use crate::server::relay::push::{self, dialable, shown};

/// Most bytes of an outgoing chunk: RTMP 1.0 §5.4.1 keeps the size to 31 bits.
const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;
/// Shortest and longest HLS segment target.
const HLS_SEGMENT: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(60));
/// Fewest and most HLS segments kept: a player needs two to start, and
/// each is held in memory.
const HLS_SEGMENTS: (usize, usize) = (2, 100);
/// A player's queue holds the GOP and, besides, this many messages: the
/// metadata and every track's sequence header a joiner gets first.
const GOP_HEADROOM: usize = 8;
/// The shortest time between two `on_update` calls for one connection.
const MIN_UPDATE_INTERVAL: Duration = Duration::from_millis(1);

impl Config {
    /// Checks every value the server would run with; `Server::start` and
    /// `ServerHandle::reload` call it, and refuse a bad value rather than
    /// run with another. The error names the field by its path under
    /// `Config` (and the application, for `apps`) and the value; a URL is
    /// shown without its stream name. Reads the files the server reads:
    /// `access`'s `publish_keys_file` and the TLS certificate and key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let error = |field, value: String, problem| ConfigError {
            app: None,
            field,
            value,
            problem,
        };
        let chunk_size = self.rtmp.session.chunk_size;
        if !(1..=MAX_CHUNK_SIZE).contains(&chunk_size) {
            let range = "1..=2147483647";
            return Err(error(
                "rtmp.session.chunk_size",
                chunk_size.to_string(),
                ConfigProblem::OutOfRange { range },
            ));
        }
        hls(&self.hls.timing, self.hls.variant)?;
        passphrase("srt.passphrase", &self.srt.passphrase)?;
        if self.srt_encrypts() && ![16, 24, 32].contains(&self.srt.key_len) {
            return Err(error(
                "srt.key_len",
                self.srt.key_len.to_string(),
                ConfigProblem::OutOfRange { range: "16, 24 or 32" },
            ));
        }
        // A joining player is handed the GOP, the headers and the metadata
        // at once: its queue must take them all.
        let (gop, queue) = (self.stream.gop_max_frames, self.players.queue_len);
        if self.stream.gop_cache && gop.saturating_add(GOP_HEADROOM) > queue {
            let problem = ConfigProblem::Conflict {
                field: "players.queue_len",
                value: queue.to_string(),
                rule: "not 8 or more below",
            };
            return Err(error("stream.gop_max_frames", gop.to_string(), problem));
        }
        if let Some(tls) = &self.rtmp.tls {
            readable("rtmp.tls.cert", &tls.cert)?;
            readable("rtmp.tls.key", &tls.key)?;
            if let Err(e) = crate::tls::Certificates::load(&tls.cert, &tls.key) {
                let value = format!("{:?} and {:?}", tls.cert, tls.key);
                return Err(error("rtmp.tls.cert", value, ConfigProblem::Tls(e)));
            }
        }
        for url in &self.relay.pull_static {
            // Pulled as written: no name is added.
            if !dialable(url) {
                return Err(error(
                    "relay.pull_static",
                    format!("{:?}", shown(url)),
                    ConfigProblem::NotRtmpUrl,
                ));
            }
        }
        let server = App {
            access: self.access.clone(),
            hooks: self.hooks.clone(),
            record: None,
            push: self.relay.push.clone(),
            pull: self.relay.pull.clone(),
            // Checked above, as `srt.passphrase`.
            srt_passphrase: None,
        };
        check_app(&server, ("relay.push", "relay.pull"))?;
        for (name, settings) in &self.apps {
            check_app(settings, ("push", "pull")).map_err(|e| ConfigError {
                app: Some(name.clone()),
                ..e
            })?;
        }
        Ok(())
    }
}

/// The HLS segmenter's timing: segments within bounds, parts shorter than
/// a segment.
fn hls(timing: &Timing, variant: Variant) -> Result<(), ConfigError> {
    let error = |field, value: String, problem| ConfigError {
        app: None,
        field,
        value,
        problem,
    };
    if !(HLS_SEGMENT.0..=HLS_SEGMENT.1).contains(&timing.segment) {
        let range = "100ms..=60s";
        return Err(error(
            "hls.timing.segment",
            format!("{:?}", timing.segment),
            ConfigProblem::OutOfRange { range },
        ));
    }
    // Parts are fMP4's; MPEG-TS HLS has none, whatever `part` says.
    if variant == Variant::Fmp4 && !timing.part.is_zero() && timing.part >= timing.segment {
        let problem = ConfigProblem::NotBelow {
            field: "hls.timing.segment",
            value: format!("{:?}", timing.segment),
        };
        return Err(error("hls.timing.part", format!("{:?}", timing.part), problem));
    }
    if !(HLS_SEGMENTS.0..=HLS_SEGMENTS.1).contains(&timing.segments) {
        let range = "2..=100";
        return Err(error(
            "hls.timing.segments",
            timing.segments.to_string(),
            ConfigProblem::OutOfRange { range },
        ));
    }
    Ok(())
}

/// Checks the settings an application may have of its own (the server-wide
/// ones are checked as one too, their relays' fields named `fields`).
fn check_app(app: &App, fields: (&'static str, &'static str)) -> Result<(), ConfigError> {
    // As the relays make it: `{app}` and `{name}` replaced, the name added
    // to a URL without one.
    let key = StreamKey::new("app", "name");
    for (field, urls) in [(fields.0, &app.push), (fields.1, &app.pull)] {
        if let Some(url) = urls.iter().find(|url| !dialable(&push::target(url, &key))) {
            return Err(ConfigError {
                app: None,
                field,
                value: format!("{:?}", shown(url)),
                problem: ConfigProblem::NotRtmpUrl,
            });
        }
    }
    hooks(&app.hooks)?;
    if let Some(path) = &app.access.publish_keys_file {
        readable("access.publish_keys_file", path)?;
    }
    passphrase("srt_passphrase", &app.srt_passphrase)
}

/// An SRT passphrase is 10 to 79 bytes, as libsrt takes. The error shows
/// the length only: the passphrase is a secret, and errors get logged.
fn passphrase(field: &'static str, passphrase: &Option<String>) -> Result<(), ConfigError> {
    match passphrase {
        Some(p) if Keys::check_passphrase(p.as_bytes()).is_err() => Err(ConfigError {
            app: None,
            field,
            value: format!("of {} bytes", p.len()),
            problem: ConfigProblem::OutOfRange { range: "10..=79 bytes" },
        }),
        _ => Ok(()),
    }
}

/// Webhooks are `http://` URLs with a host, `on_update` is told at most
/// every millisecond, and every command has a program.
fn hooks(hooks: &Hooks) -> Result<(), ConfigError> {
    // Zero would tell `on_update` without pause.
    if hooks.update_interval < MIN_UPDATE_INTERVAL {
        return Err(ConfigError {
            app: None,
            field: "hooks.update_interval",
            value: format!("{:?}", hooks.update_interval),
            problem: ConfigProblem::OutOfRange { range: "1ms.." },
        });
    }
    let urls = [
        ("hooks.on_connect", &hooks.on_connect),
        ("hooks.on_publish", &hooks.on_publish),
        ("hooks.on_play", &hooks.on_play),
        ("hooks.on_publish_done", &hooks.on_publish_done),
        ("hooks.on_play_done", &hooks.on_play_done),
        ("hooks.on_done", &hooks.on_done),
        ("hooks.on_record_done", &hooks.on_record_done),
        ("hooks.on_update", &hooks.on_update),
    ];
    for (field, url) in urls {
        if let Some(url) = url.as_deref().filter(|url| !is_http_url(url)) {
            return Err(ConfigError {
                app: None,
                field,
                value: format!("{url:?}"),
                problem: ConfigProblem::NotHttpUrl,
            });
        }
    }
    let commands = [
        ("hooks.exec_publish", &hooks.exec_publish),
        ("hooks.exec_publish_done", &hooks.exec_publish_done),
        ("hooks.exec_play", &hooks.exec_play),
        ("hooks.exec_play_done", &hooks.exec_play_done),
        ("hooks.exec_record_done", &hooks.exec_record_done),
    ];
    for (field, commands) in commands {
        if let Some(argv) = commands
            .iter()
            .find(|argv| argv.first().is_none_or(|program| program.is_empty()))
        {
            return Err(ConfigError {
                app: None,
                field,
                value: format!("{argv:?}"),
                problem: ConfigProblem::EmptyCommand,
            });
        }
    }
    Ok(())
}

/// Whether the hooks' HTTP client can call `url`: it speaks plain HTTP
/// only (ureq is built without TLS), so `https://` would fail at every
/// call.
fn is_http_url(url: &str) -> bool {
    url.parse::<ureq::http::Uri>()
        .is_ok_and(|uri| uri.scheme_str() == Some("http") && uri.host().is_some_and(|h| !h.is_empty()))
}

/// The file at `path` can be read now.
fn readable(field: &'static str, path: &Path) -> Result<(), ConfigError> {
    std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read(&mut file, &mut [0; 1]))
        .map(drop)
        .map_err(|e| ConfigError {
            app: None,
            field,
            value: format!("{path:?}"),
            problem: ConfigProblem::Unreadable(e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(config: &Config) -> String {
        config.validate().expect_err("refused").to_string()
    }

    #[test]
    fn the_default_is_valid() {
        Config::default().validate().unwrap();
    }

    #[test]
    fn ranges_and_relations_name_the_field_and_the_value() {
        let mut bad = Config::default();
        bad.rtmp.session.chunk_size = 0;
        assert_eq!(problem(&bad), "rtmp.session.chunk_size 0: outside 1..=2147483647");
        let mut bad = Config::default();
        bad.hls.timing.segment = Duration::from_millis(500);
        bad.hls.timing.part = Duration::from_millis(500);
        assert_eq!(
            problem(&bad),
            "hls.timing.part 500ms: not below hls.timing.segment 500ms"
        );
        let mut mpegts = bad.clone();
        mpegts.hls.variant = Variant::MpegTs;
        mpegts.validate().expect("MPEG-TS HLS has no parts");
        let mut bad = Config::default();
        bad.hls.timing.segments = 1;
        assert_eq!(problem(&bad), "hls.timing.segments 1: outside 2..=100");
        let mut bad = Config::default();
        bad.srt.passphrase = Some("too short".into());
        assert_eq!(problem(&bad), "srt.passphrase of 9 bytes: outside 10..=79 bytes");
        bad.srt.passphrase = Some("long enough now".into());
        bad.validate().expect("15 bytes is a passphrase libsrt takes");
        bad.apps.insert(
            "tv".into(),
            App {
                srt_passphrase: Some(String::new()),
                ..App::default()
            },
        );
        assert_eq!(
            problem(&bad),
            "apps[\"tv\"].srt_passphrase of 0 bytes: outside 10..=79 bytes"
        );
        bad.srt.passphrase = None;
        bad.apps.get_mut("tv").unwrap().srt_passphrase = Some("the tv passphrase".into());
        bad.srt.key_len = 20;
        assert_eq!(
            problem(&bad),
            "srt.key_len 20: outside 16, 24 or 32",
            "an app's passphrase uses it"
        );
        bad.srt.key_len = 20;
        assert_eq!(problem(&bad), "srt.key_len 20: outside 16, 24 or 32");
    }

    /// What the server used to clamp (the GOP to the queue, the update
    /// interval to 1 ms) it refuses, naming both fields of a conflict.
    #[test]
    fn what_was_clamped_is_refused() {
        let mut bad = Config::default();
        bad.players.queue_len = 64;
        let error = bad.validate().unwrap_err();
        assert_eq!(error.field, "stream.gop_max_frames");
        assert!(
            matches!(&error.problem, ConfigProblem::Conflict { field: "players.queue_len", value, .. } if value == "64"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            "stream.gop_max_frames 1024: not 8 or more below players.queue_len 64"
        );
        bad.stream.gop_max_frames = 56;
        bad.validate().expect("the GOP and the headers fit the queue");
        bad.stream.gop_max_frames = 57;
        bad.stream.gop_cache = false;
        bad.validate().expect("no GOP is cached");

        let mut bad = Config::default();
        bad.hooks.update_interval = Duration::ZERO;
        let error = bad.validate().unwrap_err();
        assert_eq!(error.field, "hooks.update_interval");
        assert_eq!(error.to_string(), "hooks.update_interval 0ns: outside 1ms..");
        let mut bad = Config::default();
        let hooks = Hooks {
            update_interval: Duration::from_micros(10),
            ..Hooks::default()
        };
        bad.apps.insert(
            "tv".into(),
            App {
                hooks,
                ..App::default()
            },
        );
        assert_eq!(problem(&bad), "apps[\"tv\"].hooks.update_interval 10µs: outside 1ms..");
    }

    #[test]
    fn urls_are_checked_as_they_will_be_used_and_shown_without_their_key() {
        let mut good = Config::default();
        good.relay.push = vec!["rtmp://host/app".into(), "rtmps://host/{app}/{name}?k=1".into()];
        good.relay.pull = vec!["rtmp://origin/live".into()];
        good.validate().unwrap();
        let mut bad = Config::default();
        bad.relay.push = vec!["htp://host/live/SECRET".into()];
        let text = problem(&bad);
        assert!(
            text.starts_with("relay.push \"htp://host/live\": not an rtmp"),
            "{text}"
        );
        assert!(!text.contains("SECRET"), "{text}");
        let mut bad = Config::default();
        bad.relay.pull_static = vec!["rtmp://camera/door".into()];
        assert!(
            problem(&bad).starts_with("relay.pull_static"),
            "a pull_static URL needs its name"
        );
        let mut bad = Config::default();
        bad.hooks.on_publish = Some("https://hooks.example/p".into());
        assert!(
            problem(&bad).starts_with("hooks.on_publish \"https://"),
            "{}",
            problem(&bad)
        );
        let mut bad = Config::default();
        bad.apps.insert(
            "tv".into(),
            App {
                pull: vec!["rtmp://".into()],
                ..App::default()
            },
        );
        assert!(problem(&bad).starts_with("apps[\"tv\"].pull"), "{}", problem(&bad));
    }

    #[test]
    fn commands_need_a_program_and_files_must_be_readable() {
        let mut bad = Config::default();
        bad.hooks.exec_play = vec![vec![]];
        assert!(problem(&bad).starts_with("hooks.exec_play []"), "{}", problem(&bad));
        let mut bad = Config::default();
        bad.access.publish_keys_file = Some("/nonexistent/keys".into());
        let error = bad.validate().unwrap_err();
        assert_eq!(error.field, "access.publish_keys_file");
        assert!(matches!(error.problem, ConfigProblem::Unreadable(_)));
    }
}
