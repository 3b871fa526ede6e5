//! `Error`: what the embedding API can fail with, and `ConfigError`: a
//! setting the server cannot run with.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use crate::tls::TlsError;

/// Why the server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A setting of the `Config` cannot be used (`Config::validate`).
    Config(ConfigError),
    /// Binding the listening socket failed.
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's reason.
        source: io::Error,
    },
    /// A thread could not be started.
    Spawn(io::Error),
    /// The TLS certificate or key could not be loaded.
    Tls(TlsError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(_) => write!(f, "a setting cannot be used"),
            Error::Bind { addr, .. } => write!(f, "cannot listen on {addr}"),
            Error::Spawn(_) => write!(f, "cannot start a thread"),
            Error::Tls(e) => write!(f, "cannot use the TLS certificate: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Config(e) => Some(e),
            Error::Bind { source, .. } | Error::Spawn(source) => Some(source),
            Error::Tls(e) => Some(e),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::Config(e)
    }
}

/// A `Config` value the server cannot run with, named by its field.
#[derive(Debug)]
#[non_exhaustive]
pub struct ConfigError {
    /// The application (a key of `Config::apps`) whose settings hold the
    /// value; `None` for the server-wide ones.
    pub app: Option<String>,
    /// The field, as its path under `Config` (or `App`):
    /// `rtmp.session.chunk_size`, `hooks.on_publish`,
    /// `access.publish_keys_file`, `rtmp.tls.cert`.
    pub field: &'static str,
    /// The value refused, as text. A URL is shown without its stream name
    /// and login, which may be secrets.
    pub value: String,
    /// What is wrong with it.
    pub problem: ConfigProblem,
}

/// What is wrong with a `ConfigError`'s value.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigProblem {
    /// A number or duration outside the range the server works with.
    OutOfRange {
        /// The range, as text: `1..=2147483647`.
        range: &'static str,
    },
    /// A value that must be below another field's, and is not.
    NotBelow {
        /// The other field.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// A value that does not fit with another field's value (a cross-field
    /// check other than `NotBelow`).
    Conflict {
        /// The other field.
        field: &'static str,
        /// Its value.
        value: String,
        /// What the two fail to meet, read before the other field:
        /// `not 8 or more below`.
        rule: &'static str,
    },
    /// Not an `rtmp[s]://host[:port]/app[/stream]` URL (push, pull).
    NotRtmpUrl,
    /// Not an `http://host/...` URL: webhooks are called over plain HTTP.
    NotHttpUrl,
    /// A command (`Hooks::exec_*`) without a program.
    EmptyCommand,
    /// A file that cannot be read.
    Unreadable(io::Error),
    /// A certificate chain and key that do not load.
    Tls(TlsError),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(app) = &self.app {
            write!(f, "apps[{app:?}].")?;
        }
        write!(f, "{} {}: ", self.field, self.value)?;
        match &self.problem {
            ConfigProblem::OutOfRange { range } => write!(f, "outside {range}"),
            ConfigProblem::NotBelow { field, value } => write!(f, "not below {field} {value}"),
            ConfigProblem::Conflict { field, value, rule } => write!(f, "{rule} {field} {value}"),
            ConfigProblem::NotRtmpUrl => write!(f, "not an rtmp[s]://host[:port]/app[/stream] url"),
            ConfigProblem::NotHttpUrl => {
                write!(f, "not an http://host/path url (webhooks are called over plain http)")
            }
            ConfigProblem::EmptyCommand => write!(f, "a command without a program"),
            ConfigProblem::Unreadable(_) => write!(f, "cannot be read"),
            ConfigProblem::Tls(_) => write!(f, "not a usable certificate and key"),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.problem {
            ConfigProblem::Unreadable(e) => Some(e),
            ConfigProblem::Tls(e) => Some(e),
            _ => None,
        }
    }
}
