//! `Error`: what the embedding API can fail with.

use std::fmt;
use std::io;
use std::net::SocketAddr;

/// Why the server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
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
    Tls(crate::tls::TlsError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Bind { addr, .. } => write!(f, "cannot listen on {addr}"),
            Error::Spawn(_) => write!(f, "cannot start a thread"),
            Error::Tls(e) => write!(f, "cannot use the TLS certificate: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Bind { source, .. } | Error::Spawn(source) => Some(source),
            Error::Tls(e) => Some(e),
        }
    }
}
