//! The `rustic_rtmp` command's config file (`--config FILE`, TOML): every
//! flag has a key of the same name with `_` for `-` (`defs.rs` declares
//! them), and a flag given on the command line wins over the file. Part of
//! the binary, not the library: embedding programs fill `Config`
//! themselves.
//!
//! In scope: reading and parsing the file, where each key is (for errors
//! about its value). Out of scope: what the keys mean (`config.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::de::DeTable;

use super::defs::File;

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

/// Reads and checks `path`, and finds its keys' lines; the error names
/// the file, the line and the key or value at fault, as the `toml` crate
/// reports them.
pub(crate) fn read(path: &Path) -> Result<(File, KeyLines), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (file, mut lines) = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    lines.path = path.to_owned();
    Ok((file, lines))
}

/// Parses a config file's text.
pub(crate) fn parse(text: &str) -> Result<(File, KeyLines), String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    Ok((file, KeyLines::of(text)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::setting::{Argv, Commands};

    /// `Commands` of these words.
    fn commands(argvs: &[&[&str]]) -> Commands {
        Commands(
            argvs
                .iter()
                .map(|argv| Argv(argv.iter().map(|w| w.to_string()).collect()))
                .collect(),
        )
    }

    #[test]
    fn keys_are_the_flags_and_unknown_ones_are_named_with_their_line() {
        let (settings, _) =
            parse("port = 1936\nallow_publish = [\"10.0.0.0/8\"]\nexec_publish = [[\"echo\", \"$name\"]]\n").unwrap();
        assert_eq!(settings.port, Some(1936));
        assert_eq!(settings.exec_publish, Some(commands(&[&["echo", "$name"]])));
        let unknown = parse("port = 1936\nprot = 1\n").unwrap_err();
        assert!(unknown.contains("prot") && unknown.contains("line 2"), "{unknown}");
        let (app, _) = parse("[app.live]\npublish_key = \"k\"\n[app.tv]\nallow_play = [\"10.0.0.0/8\"]\n").unwrap();
        assert_eq!(app.app["live"].publish_key.as_deref(), Some("k"));
        assert_eq!(app.app["tv"].allow_play, Some(vec!["10.0.0.0/8".to_owned()]));
        let unknown = parse("[app.live]\nport = 1\n").unwrap_err();
        assert!(unknown.contains("port") && unknown.contains("line 2"), "{unknown}");
        let wrong = parse("port = \"x\"\n").unwrap_err();
        assert!(wrong.contains("port") || wrong.contains("line 1"), "{wrong}");
    }
    #[test]
    fn an_exec_key_takes_one_command_or_a_list_of_them() {
        let (one, _) =
            parse("exec_publish = [\"ffmpeg\", \"-i\", \"x y\"]\n[app.tv]\nexec_play = [\"logger\"]\n").unwrap();
        assert_eq!(one.exec_publish, Some(commands(&[&["ffmpeg", "-i", "x y"]])));
        assert_eq!(one.app["tv"].exec_play, Some(commands(&[&["logger"]])));
        let (many, _) = parse("exec_record_done = [[\"a\"], [\"b\", \"c\"]]\n").unwrap();
        assert_eq!(many.exec_record_done, Some(commands(&[&["a"], &["b", "c"]])));
        assert_eq!(parse("exec_play = []\n").unwrap().0.exec_play, Some(commands(&[])));
        let mixed = parse("port = 1\nexec_play = [\"a\", [\"b\"]]\n").unwrap_err();
        assert!(mixed.contains("line 2") && mixed.contains("mixed"), "{mixed}");
    }

    #[test]
    fn each_key_has_its_line_in_its_section() {
        let text =
            "port = 1\n\n# c\npush = [\n  \"rtmp://a/b\",\n]\n[app.tv]\npush = []\n[app.radio]\n\nrecord = \"off\"\n";
        let (_, lines) = parse(text).unwrap();
        assert_eq!(lines.at(None, "port").as_deref(), Some(":1"));
        assert_eq!(lines.at(None, "push").as_deref(), Some(":4"));
        assert_eq!(lines.at(Some("tv"), "push").as_deref(), Some(":8"));
        assert_eq!(lines.at(Some("radio"), "record").as_deref(), Some(":11"));
        assert_eq!(lines.at(None, "record"), None);
    }
}
