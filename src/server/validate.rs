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
//! Out of scope: addresses that cannot be bound (`Error::Bind` at start),
//! directories that are written later (`record.dir`, `hls_dir`: made when
//! first needed), and a file's content beyond loading it.

use std::path::Path;
use std::time::Duration;

use crate::config::{App, Config, Hooks};
use crate::error::{ConfigError, ConfigProblem};
use crate::media::StreamKey;
use crate::media::hls::Variant;
use crate::server::relay::push::{self, dialable, shown};

/// Most bytes of an outgoing chunk: RTMP 1.0 §5.4.1 keeps the size to 31 bits.
const MAX_CHUNK_SIZE: u32 = 0x7FFF_FFFF;
/// Shortest and longest HLS segment target.
const HLS_SEGMENT: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(60));
/// Fewest and most HLS segments kept: a player needs two to start, and
/// each is held in memory.
const HLS_SEGMENTS: (usize, usize) = (2, 100);

impl Config {
    /// Checks every value the server would run with; `Server::start` calls
    /// it and returns `Error::Config`. The error names the field (and the
    /// application, for `apps`) and the value; a URL is shown without its
    /// stream name. Reads the files the server reads: `access`'s
    /// `publish_keys_file` and the TLS certificate and key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let error = |field, value: String, problem| ConfigError {
            app: None,
            field,
            value,
            problem,
        };
        if !(1..=MAX_CHUNK_SIZE).contains(&self.chunk_size) {
            let range = "1..=2147483647";
            return Err(error(
                "chunk_size",
                self.chunk_size.to_string(),
                ConfigProblem::OutOfRange { range },
            ));
        }
        if !(HLS_SEGMENT.0..=HLS_SEGMENT.1).contains(&self.hls_segment) {
            let range = "100ms..=60s";
            return Err(error(
                "hls_segment",
                format!("{:?}", self.hls_segment),
                ConfigProblem::OutOfRange { range },
            ));
        }
        // Parts are fMP4's; MPEG-TS HLS has none, whatever `hls_part` says.
        if self.hls_variant == Variant::Fmp4 && !self.hls_part.is_zero() && self.hls_part >= self.hls_segment {
            let problem = ConfigProblem::NotBelow {
                field: "hls_segment",
                value: format!("{:?}", self.hls_segment),
            };
            return Err(error("hls_part", format!("{:?}", self.hls_part), problem));
        }
        if !(HLS_SEGMENTS.0..=HLS_SEGMENTS.1).contains(&self.hls_segments) {
            let range = "2..=100";
            return Err(error(
                "hls_segments",
                self.hls_segments.to_string(),
                ConfigProblem::OutOfRange { range },
            ));
        }
        for url in &self.pull_static {
            // Pulled as written: no name is added.
            if !dialable(url) {
                return Err(error(
                    "pull_static",
                    format!("{:?}", shown(url)),
                    ConfigProblem::NotRtmpUrl,
                ));
            }
        }
        if let Some(tls) = &self.tls {
            readable("tls.cert", &tls.cert)?;
            readable("tls.key", &tls.key)?;
            if let Err(e) = crate::tls::Certificates::load(&tls.cert, &tls.key) {
                let value = format!("{:?} and {:?}", tls.cert, tls.key);
                return Err(error("tls.cert", value, ConfigProblem::Tls(e)));
            }
        }
        let server = App {
            access: self.access.clone(),
            hooks: self.hooks.clone(),
            record: None,
            push: self.push.clone(),
            pull: self.pull.clone(),
        };
        check_app(&server)?;
        for (name, settings) in &self.apps {
            check_app(settings).map_err(|e| ConfigError {
                app: Some(name.clone()),
                ..e
            })?;
        }
        Ok(())
    }
}

/// Checks the settings an application may have of its own (the server-wide
/// ones are checked as one too).
fn check_app(app: &App) -> Result<(), ConfigError> {
    // As the relays make it: `{app}` and `{name}` replaced, the name added
    // to a URL without one.
    let key = StreamKey::new("app", "name");
    for (field, urls) in [("push", &app.push), ("pull", &app.pull)] {
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
    Ok(())
}

/// Webhooks are `http://` URLs with a host, and every command has a program.
fn hooks(hooks: &Hooks) -> Result<(), ConfigError> {
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
        let bad = Config {
            chunk_size: 0,
            ..Config::default()
        };
        assert_eq!(problem(&bad), "chunk_size 0: outside 1..=2147483647");
        let bad = Config {
            hls_segment: Duration::from_millis(500),
            hls_part: Duration::from_millis(500),
            ..Config::default()
        };
        assert_eq!(problem(&bad), "hls_part 500ms: not below hls_segment 500ms");
        let mpegts = Config {
            hls_variant: Variant::MpegTs,
            ..bad
        };
        mpegts.validate().expect("MPEG-TS HLS has no parts");
        let bad = Config {
            hls_segments: 1,
            ..Config::default()
        };
        assert_eq!(problem(&bad), "hls_segments 1: outside 2..=100");
    }

    #[test]
    fn urls_are_checked_as_they_will_be_used_and_shown_without_their_key() {
        let good = Config {
            push: vec!["rtmp://host/app".into(), "rtmps://host/{app}/{name}?k=1".into()],
            pull: vec!["rtmp://origin/live".into()],
            ..Config::default()
        };
        good.validate().unwrap();
        let bad = Config {
            push: vec!["htp://host/live/SECRET".into()],
            ..Config::default()
        };
        let text = problem(&bad);
        assert!(text.starts_with("push \"htp://host/live\": not an rtmp"), "{text}");
        assert!(!text.contains("SECRET"), "{text}");
        let bad = Config {
            pull_static: vec!["rtmp://camera/door".into()],
            ..Config::default()
        };
        assert!(
            problem(&bad).starts_with("pull_static"),
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
