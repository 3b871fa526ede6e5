//! The `rustic_rtmp` command's config file (`--config FILE`, TOML): every
//! flag has a key of the same name with `_` for `-`, and a flag given on
//! the command line wins over the file. Part of the binary, not the
//! library: embedding programs fill `Config` themselves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer};
use toml::de::DeTable;

/// The file's keys: every flag of `Args` but `--config` and
/// `--check-config` themselves.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    pub(crate) port: Option<u16>,
    pub(crate) bind: Option<String>,
    pub(crate) http_port: Option<u16>,
    pub(crate) http_bind: Option<String>,
    pub(crate) no_http: Option<bool>,
    pub(crate) no_hls: Option<bool>,
    pub(crate) no_config_watch: Option<bool>,
    pub(crate) hls_variant: Option<String>,
    pub(crate) hls_dir: Option<PathBuf>,
    pub(crate) hls_segment_seconds: Option<f64>,
    pub(crate) hls_part_ms: Option<u64>,
    pub(crate) hls_segment_count: Option<usize>,
    pub(crate) hls_idle_seconds: Option<u64>,
    pub(crate) hls_max_mb: Option<usize>,
    pub(crate) hls_max_blocked: Option<usize>,
    pub(crate) hls_max_blocked_per_ip: Option<usize>,
    pub(crate) tls_port: Option<u16>,
    pub(crate) tls_cert: Option<PathBuf>,
    pub(crate) tls_key: Option<PathBuf>,
    pub(crate) push_insecure: Option<bool>,
    pub(crate) chunk_size: Option<u32>,
    pub(crate) no_gop_cache: Option<bool>,
    pub(crate) merge_write_ms: Option<u64>,
    pub(crate) nodelay: Option<bool>,
    pub(crate) max_connections: Option<usize>,
    pub(crate) max_connections_per_ip: Option<usize>,
    pub(crate) http_max_connections: Option<usize>,
    pub(crate) http_max_connections_per_ip: Option<usize>,
    pub(crate) max_buffered_mb: Option<usize>,
    pub(crate) publish_key: Option<String>,
    pub(crate) publish_key_file: Option<PathBuf>,
    pub(crate) publish_keys_file: Option<PathBuf>,
    pub(crate) play_key: Option<String>,
    pub(crate) play_key_file: Option<PathBuf>,
    pub(crate) allow_publish: Option<Vec<String>>,
    pub(crate) deny_publish: Option<Vec<String>>,
    pub(crate) allow_play: Option<Vec<String>>,
    pub(crate) deny_play: Option<Vec<String>>,
    pub(crate) api_token_file: Option<PathBuf>,
    pub(crate) api_token: Option<String>,
    pub(crate) api_bind: Option<String>,
    pub(crate) wait_for_publisher_seconds: Option<u64>,
    pub(crate) http_host: Option<Vec<String>>,
    pub(crate) on_connect: Option<String>,
    pub(crate) on_publish: Option<String>,
    pub(crate) on_play: Option<String>,
    pub(crate) on_publish_done: Option<String>,
    pub(crate) on_play_done: Option<String>,
    pub(crate) on_done: Option<String>,
    pub(crate) notify_method: Option<String>,
    /// In the file, a command is an array of words (argv), so an argument
    /// may hold spaces; a key holds one command or an array of them.
    #[serde(default, deserialize_with = "commands")]
    pub(crate) exec_publish: Option<Vec<Vec<String>>>,
    #[serde(default, deserialize_with = "commands")]
    pub(crate) exec_publish_done: Option<Vec<Vec<String>>>,
    #[serde(default, deserialize_with = "commands")]
    pub(crate) exec_play: Option<Vec<Vec<String>>>,
    #[serde(default, deserialize_with = "commands")]
    pub(crate) exec_play_done: Option<Vec<Vec<String>>>,
    pub(crate) on_update: Option<String>,
    pub(crate) notify_update_interval_ms: Option<u64>,
    pub(crate) hook_timeout_ms: Option<u64>,
    pub(crate) users: Option<PathBuf>,
    pub(crate) reload_drops_refused: Option<bool>,
    pub(crate) publisher_takeover: Option<bool>,
    pub(crate) push: Option<Vec<String>>,
    pub(crate) pull: Option<Vec<String>>,
    pub(crate) pull_idle_seconds: Option<u64>,
    pub(crate) pull_max: Option<usize>,
    pub(crate) pull_static: Option<Vec<String>>,
    pub(crate) record_dir: Option<PathBuf>,
    pub(crate) record: Option<String>,
    pub(crate) record_format: Option<String>,
    pub(crate) record_path: Option<String>,
    pub(crate) record_max_seconds: Option<u32>,
    pub(crate) record_max_bytes: Option<u64>,
    pub(crate) on_record_done: Option<String>,
    #[serde(default, deserialize_with = "commands")]
    pub(crate) exec_record_done: Option<Vec<Vec<String>>>,
    pub(crate) verbose: Option<bool>,
    /// `[app.NAME]` sections: settings of one application.
    #[serde(default)]
    pub(crate) app: BTreeMap<String, AppSettings>,
    /// Where each key is, for errors about its value.
    #[serde(skip)]
    pub(crate) lines: KeyLines,
}

/// An `[app.NAME]` section: the access, hook and recording keys, which
/// replace the server-wide ones for that application's streams. An empty string
/// switches a server-wide key or hook off there.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppSettings {
    pub(crate) publish_key: Option<String>,
    pub(crate) publish_key_file: Option<PathBuf>,
    pub(crate) publish_keys_file: Option<PathBuf>,
    pub(crate) play_key: Option<String>,
    pub(crate) play_key_file: Option<PathBuf>,
    pub(crate) allow_publish: Option<Vec<String>>,
    pub(crate) deny_publish: Option<Vec<String>>,
    pub(crate) allow_play: Option<Vec<String>>,
    pub(crate) deny_play: Option<Vec<String>>,
    pub(crate) users: Option<PathBuf>,
    pub(crate) on_connect: Option<String>,
    pub(crate) on_publish: Option<String>,
    pub(crate) on_play: Option<String>,
    pub(crate) on_publish_done: Option<String>,
    pub(crate) on_play_done: Option<String>,
    pub(crate) on_done: Option<String>,
    pub(crate) on_update: Option<String>,
    #[serde(default, deserialize_with = "commands")]
    pub(crate) exec_publish: Option<Vec<Vec<String>>>,
    #[serde(default, deserialize_with = "commands")]
    pub(crate) exec_publish_done: Option<Vec<Vec<String>>>,
    #[serde(default, deserialize_with = "commands")]
    pub(crate) exec_play: Option<Vec<Vec<String>>>,
    #[serde(default, deserialize_with = "commands")]
    pub(crate) exec_play_done: Option<Vec<Vec<String>>>,
    pub(crate) on_record_done: Option<String>,
    #[serde(default, deserialize_with = "commands")]
    pub(crate) exec_record_done: Option<Vec<Vec<String>>>,
    pub(crate) record: Option<String>,
    pub(crate) record_format: Option<String>,
    pub(crate) record_path: Option<String>,
    pub(crate) record_dir: Option<PathBuf>,
    pub(crate) push: Option<Vec<String>>,
    pub(crate) pull: Option<Vec<String>>,
}

/// An `exec_*` key: one command, as an array of words (`["ffmpeg", "-i",
/// "..."]`, as people write it), or an array of commands (`[["a", "x"],
/// ["b"]]`). `[]` is no command.
fn commands<'de, D: Deserializer<'de>>(value: D) -> Result<Option<Vec<Vec<String>>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged, expecting = "a word (a string) or a command (an array of words)")]
    enum Item {
        Word(String),
        Command(Vec<String>),
    }
    let (mut words, mut commands) = (Vec::new(), Vec::new());
    for item in Vec::<Item>::deserialize(value)? {
        match item {
            Item::Word(word) => words.push(word),
            Item::Command(argv) => commands.push(argv),
        }
    }
    match (words.is_empty(), commands.is_empty()) {
        (true, _) => Ok(Some(commands)),
        (false, true) => Ok(Some(vec![words])),
        (false, false) => Err(de::Error::custom(
            "words and commands mixed: write one command as [\"program\", \"arg\"] or several as [[\"program\", \"arg\"], [\"other\"]]",
        )),
    }
}

/// Where each key of a config file is: `FILE:LINE`, for an error about
/// the key's value (the `toml` crate places its own errors).
#[derive(Debug, Default)]
pub(crate) struct KeyLines {
    path: PathBuf,
    /// The line of each key, by `[app.NAME]` section (`None`: none) and
    /// key.
    lines: BTreeMap<(Option<String>, String), usize>,
}

impl KeyLines {
    /// Finds the keys of `text`, a file that parsed.
    fn of(text: &str) -> KeyLines {
        let mut lines = BTreeMap::new();
        let line = |at: usize| text.get(..at).unwrap_or(text).matches('\n').count() + 1;
        if let Ok(document) = DeTable::parse(text) {
            for (key, value) in document.get_ref() {
                lines.insert((None, key.get_ref().to_string()), line(key.span().start));
                let sections = value.get_ref().as_table().filter(|_| key.get_ref() == "app");
                for (name, section) in sections.into_iter().flatten() {
                    for (key, _) in section.get_ref().as_table().into_iter().flatten() {
                        let at = (Some(name.get_ref().to_string()), key.get_ref().to_string());
                        lines.insert(at, line(key.span().start));
                    }
                }
            }
        }
        KeyLines {
            path: PathBuf::new(),
            lines,
        }
    }

    /// `FILE:LINE` of `key`, in `app`'s section or outside any; `None`
    /// when the file does not set it.
    pub(crate) fn at(&self, app: Option<&str>, key: &str) -> Option<String> {
        let line = self.lines.get(&(app.map(str::to_owned), key.to_owned()))?;
        Some(format!("{}:{line}", self.path.display()))
    }
}

/// Reads and checks `path`; the error names the file, the line and the
/// key or value at fault, as the `toml` crate reports them.
pub(crate) fn read(path: &Path) -> Result<Settings, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut settings = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    settings.lines.path = path.to_owned();
    Ok(settings)
}

/// Parses a config file's text.
pub(crate) fn parse(text: &str) -> Result<Settings, String> {
    let mut settings: Settings = toml::from_str(text).map_err(|e| e.to_string())?;
    settings.lines = KeyLines::of(text);
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_flags_and_unknown_ones_are_named_with_their_line() {
        let settings =
            parse("port = 1936\nallow_publish = [\"10.0.0.0/8\"]\nexec_publish = [[\"echo\", \"$name\"]]\n").unwrap();
        assert_eq!(settings.port, Some(1936));
        assert_eq!(
            settings.exec_publish,
            Some(vec![vec!["echo".to_owned(), "$name".to_owned()]])
        );
        let unknown = parse("port = 1936\nprot = 1\n").unwrap_err();
        assert!(unknown.contains("prot") && unknown.contains("line 2"), "{unknown}");
        let app = parse("[app.live]\npublish_key = \"k\"\n[app.tv]\nallow_play = [\"10.0.0.0/8\"]\n").unwrap();
        assert_eq!(app.app["live"].publish_key.as_deref(), Some("k"));
        assert_eq!(app.app["tv"].allow_play, Some(vec!["10.0.0.0/8".to_owned()]));
        let unknown = parse("[app.live]\nport = 1\n").unwrap_err();
        assert!(unknown.contains("port") && unknown.contains("line 2"), "{unknown}");
        let wrong = parse("port = \"x\"\n").unwrap_err();
        assert!(wrong.contains("port") || wrong.contains("line 1"), "{wrong}");
    }
    #[test]
    fn an_exec_key_takes_one_command_or_a_list_of_them() {
        let one = parse("exec_publish = [\"ffmpeg\", \"-i\", \"x y\"]\n[app.tv]\nexec_play = [\"logger\"]\n").unwrap();
        assert_eq!(
            one.exec_publish,
            Some(vec![vec!["ffmpeg".into(), "-i".into(), "x y".into()]])
        );
        assert_eq!(one.app["tv"].exec_play, Some(vec![vec!["logger".to_owned()]]));
        let many = parse("exec_record_done = [[\"a\"], [\"b\", \"c\"]]\n").unwrap();
        assert_eq!(
            many.exec_record_done,
            Some(vec![vec!["a".into()], vec!["b".into(), "c".into()]])
        );
        assert_eq!(parse("exec_play = []\n").unwrap().exec_play, Some(vec![]));
        let mixed = parse("port = 1\nexec_play = [\"a\", [\"b\"]]\n").unwrap_err();
        assert!(mixed.contains("line 2") && mixed.contains("mixed"), "{mixed}");
    }

    #[test]
    fn each_key_has_its_line_in_its_section() {
        let text =
            "port = 1\n\n# c\npush = [\n  \"rtmp://a/b\",\n]\n[app.tv]\npush = []\n[app.radio]\n\nrecord = \"off\"\n";
        let lines = parse(text).unwrap().lines;
        assert_eq!(lines.at(None, "port").as_deref(), Some(":1"));
        assert_eq!(lines.at(None, "push").as_deref(), Some(":4"));
        assert_eq!(lines.at(Some("tv"), "push").as_deref(), Some(":8"));
        assert_eq!(lines.at(Some("radio"), "record").as_deref(), Some(":11"));
        assert_eq!(lines.at(None, "record"), None);
    }
}
