//! How one setting goes from the command line and the config file to the
//! value in force: the flag over the file's key over the default. The
//! `settings!` macro makes, from one list (`defs.rs`), the flags (argh,
//! with the help text), the file's keys (serde) and the merge, so that a
//! setting is declared once, as ripgrep's `flags/defs.rs` gives each flag
//! one definition.
//!
//! In scope: the merge rule of each kind of value (`Setting`), commands as
//! argv. Out of scope: defaults, which are `Config::default()`'s and are
//! applied when the `Config` is built (`config.rs`), and what a value
//! means.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::str::FromStr;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer};

/// The keys whose flag was on the command line (`port`, not `--port`).
pub(crate) type Given = BTreeSet<&'static str>;

/// A setting's value on the command line, and how the file's value joins
/// it.
pub(crate) trait Setting {
    /// The value as the config file writes it.
    type File: DeserializeOwned;

    /// Whether the command line gave it.
    fn is_given(&self) -> bool;

    /// Takes the file's value, if any, where the command line gave none.
    fn merge(&mut self, from_file: Option<Self::File>);
}

/// A value with a default (`Config::default()`'s) or none.
impl<T: DeserializeOwned> Setting for Option<T> {
    type File = T;

    fn is_given(&self) -> bool {
        self.is_some()
    }

    fn merge(&mut self, from_file: Option<T>) {
        if self.is_none() {
            *self = from_file;
        }
    }
}

/// A switch: the file can turn it on, not off against the flag.
impl Setting for bool {
    type File = bool;

    fn is_given(&self) -> bool {
        *self
    }

    fn merge(&mut self, from_file: Option<bool>) {
        *self |= from_file.unwrap_or(false);
    }
}

/// A repeatable flag (networks, URLs): the file's list when no flag gave
/// one.
impl Setting for Vec<String> {
    type File = Vec<String>;

    fn is_given(&self) -> bool {
        !self.is_empty()
    }

    fn merge(&mut self, from_file: Option<Vec<String>>) {
        if let Some(list) = from_file.filter(|_| self.is_empty()) {
            *self = list;
        }
    }
}

/// Commands (`exec_*`): the file's when no flag gave one. A flag's
/// command with no word is left out, as if not given; the file's stays,
/// for `Config::validate` to refuse it with its line.
impl Setting for Vec<Argv> {
    type File = Commands;

    fn is_given(&self) -> bool {
        !self.is_empty()
    }

    fn merge(&mut self, from_file: Option<Commands>) {
        if self.is_empty() {
            *self = from_file.map(|c| c.0).unwrap_or_default();
        } else {
            self.retain(|argv| !argv.0.is_empty());
        }
    }
}

/// One command, as argv (no shell): a flag gives its words separated by
/// spaces, the file an array of them (so that a word may hold spaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Argv(pub(crate) Vec<String>);

impl FromStr for Argv {
    type Err = Infallible;

    fn from_str(words: &str) -> Result<Argv, Infallible> {
        Ok(Argv(words.split_whitespace().map(str::to_owned).collect()))
    }
}

/// Commands as `Hooks` holds them.
pub(crate) fn argvs(commands: &[Argv]) -> Vec<Vec<String>> {
    commands.iter().map(|argv| argv.0.clone()).collect()
}

/// An `exec_*` key: one command, as an array of words (`["ffmpeg", "-i",
/// "..."]`, as people write it), or an array of commands (`[["a", "x"],
/// ["b"]]`). `[]` is no command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commands(pub(crate) Vec<Argv>);

impl Commands {
    /// The commands as `Hooks` holds them.
    pub(crate) fn into_argvs(self) -> Vec<Vec<String>> {
        self.0.into_iter().map(|argv| argv.0).collect()
    }
}

impl<'de> Deserialize<'de> for Commands {
    fn deserialize<D: Deserializer<'de>>(value: D) -> Result<Commands, D::Error> {
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
                Item::Command(argv) => commands.push(Argv(argv)),
            }
        }
        match (words.is_empty(), commands.is_empty()) {
            (true, _) => Ok(Commands(commands)),
            (false, true) => Ok(Commands(vec![Argv(words)])),
            (false, false) => Err(de::Error::custom(
                "words and commands mixed: write one command as [\"program\", \"arg\"] or several as [[\"program\", \"arg\"], [\"other\"]]",
            )),
        }
    }
}

/// Makes, from one list of settings, each under its doc comment (the help
/// text) and `#[argh(..)]`, written `SCOPE name: Type`:
/// - `Args`, the command line: every setting is a flag;
/// - `File`, the config file's keys: the `key` and `app` settings, each
///   `Option` of its `Setting::File` (serde, unknown keys refused);
/// - `AppFile`, an `[app.NAME]` section's keys: the `app` settings;
/// - `Args::merge`, which takes the file's value of each key whose flag
///   was not given (`Setting::merge`) and says which were.
///
/// Scopes: `flag` is on the command line only, `key` is a key of the file
/// too, `app` also one of its `[app.NAME]` sections. The type is written
/// as `Outer<Inner>` tokens, not taken whole as a `ty`: argh tells a
/// switch, an optional and a repeated flag apart by the outer type's name,
/// which a `ty` fragment would hide from it.
macro_rules! settings {
    (
        $(#[doc = $about:literal])*
        struct Args;
        $(
            $(#[doc = $doc:literal])*
            #[argh($($argh:tt)*)]
            $scope:ident $name:ident: $outer:ident $(<$inner:ty>)?,
        )*
    ) => {
        $(#[doc = $about])*
        #[derive(argh::FromArgs)]
        pub(crate) struct Args {
            $(
                $(#[doc = $doc])*
                #[argh($($argh)*)]
                pub(crate) $name: $outer $(<$inner>)?,
            )*
        }

        /// Each setting's help text, by its key.
        #[cfg(test)]
        pub(crate) const HELP: &[(&str, &str)] = &[$((stringify!($name), concat!($($doc, "\n"),*))),*];

        $crate::cli::setting::settings!(@sort [] [] $($scope $name: $outer $(<$inner>)?,)*);
    };
    // Sorts the settings into the file's keys and the sections' keys.
    (@sort [$($key:ident: $key_ty:ty,)*] [$($app:ident: $app_ty:ty,)*]) => {
        /// The config file's keys: each flag's but `--config`,
        /// `--check-config` and `--version`, with `_` for `-`.
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct File {
            $(pub(crate) $key: Option<<$key_ty as $crate::cli::setting::Setting>::File>,)*
            /// `[app.NAME]` sections: settings of one application.
            #[serde(default)]
            pub(crate) app: std::collections::BTreeMap<String, AppFile>,
        }

        /// An `[app.NAME]` section: the access, hook, recording and relay
        /// keys, which replace the server-wide ones for that application's
        /// streams. An empty string switches a server-wide key or hook off
        /// there.
        #[derive(Debug, Default, Clone, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct AppFile {
            $(pub(crate) $app: Option<<$app_ty as $crate::cli::setting::Setting>::File>,)*
        }

        impl Args {
            /// Takes `file`'s keys where no flag was given; returns the
            /// keys whose flag was.
            pub(crate) fn merge(&mut self, file: &mut File) -> $crate::cli::setting::Given {
                use $crate::cli::setting::Setting as _;
                let mut given = $crate::cli::setting::Given::new();
                $(
                    if self.$key.is_given() {
                        given.insert(stringify!($key));
                    }
                    self.$key.merge(file.$key.take());
                )*
                given
            }
        }
    };
    (@sort [$($keys:tt)*] [$($apps:tt)*] flag $name:ident: $ty:ty, $($rest:tt)*) => {
        $crate::cli::setting::settings!(@sort [$($keys)*] [$($apps)*] $($rest)*);
    };
    (@sort [$($keys:tt)*] [$($apps:tt)*] key $name:ident: $ty:ty, $($rest:tt)*) => {
        $crate::cli::setting::settings!(@sort [$($keys)* $name: $ty,] [$($apps)*] $($rest)*);
    };
    (@sort [$($keys:tt)*] [$($apps:tt)*] app $name:ident: $ty:ty, $($rest:tt)*) => {
        $crate::cli::setting::settings!(@sort [$($keys)* $name: $ty,] [$($apps)* $name: $ty,] $($rest)*);
    };
}

pub(crate) use settings;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_wins_over_the_file_and_the_file_over_nothing() {
        let (mut flag, mut none) = (Some(1), None);
        flag.merge(Some(2));
        none.merge(Some(2));
        assert_eq!((flag, none), (Some(1), Some(2)));
        let mut switch = false;
        switch.merge(Some(true));
        assert!(switch, "the file turns a switch on");
        let mut on = true;
        on.merge(Some(false));
        assert!(on, "but not off against the flag");
        let (mut flags, mut no_flags) = (vec!["a".to_owned()], Vec::new());
        flags.merge(Some(vec!["b".to_owned()]));
        no_flags.merge(Some(vec!["b".to_owned()]));
        assert_eq!((flags, no_flags), (vec!["a".to_owned()], vec!["b".to_owned()]));
    }

    #[test]
    fn a_flag_s_empty_command_is_left_out_and_the_file_s_kept() {
        let mut flags: Vec<Argv> = vec!["".parse().unwrap(), "echo  $name".parse().unwrap()];
        flags.merge(Some(Commands(vec![Argv(vec!["other".into()])])));
        assert_eq!(flags, vec![Argv(vec!["echo".into(), "$name".into()])]);
        let mut none: Vec<Argv> = Vec::new();
        none.merge(Some(Commands(vec![Argv(vec![])])));
        assert_eq!(none, vec![Argv(vec![])], "Config::validate refuses it, with its line");
    }
}
