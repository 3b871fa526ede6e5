//! The open-file limit: one descriptor per connection.

use log::warn;

/// Descriptors the server needs besides one per connection: the listener,
/// stdio, files it reads, the signal pipe, with room.
const SPARE_FILES: u64 = 64;

/// Raises the soft limit on open files to the hard limit (the usual soft
/// limit of 1024 would cap the server near 1000 connections whatever
/// --max-connections says), and warns when even that cannot hold
/// `max_connections`: each takes one descriptor. (HTTP's own limit is
/// left out: with both at their defaults a common hard limit of 20000
/// would warn at every start.)
pub(crate) fn raise_open_file_limit(max_connections: usize) {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            warn!("cannot raise the open-file limit: {e}");
            return;
        }
    };
    let fits = limit.saturating_sub(SPARE_FILES);
    if fits < max_connections as u64 {
        warn!(
            "the open-file limit of {limit} fits about {fits} connections, fewer than --max-connections {max_connections}; raise it (ulimit -Hn) to serve them all"
        );
    }
}
