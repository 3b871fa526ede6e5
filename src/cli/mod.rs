//! The `rustic_rtmp` command's own code, around the library: its settings
//! (flags and the config file) and the process it runs in.
//!
//! In scope: reading the settings into a `Config`, process setup (glibc,
//! the open-file limit, signals), reloading. Out of scope: anything an
//! embedding program would need too; that is the library's.

pub(crate) mod file;
pub(crate) mod malloc;
pub(crate) mod nofile;
pub(crate) mod signals;
pub(crate) mod token_file;
pub(crate) mod watch;

use log::error;

/// Logs an error with each of its causes.
pub(crate) fn report(e: &dyn std::error::Error) {
    error!("{}", with_causes(e));
}

/// An error's text followed by each of its causes'.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
