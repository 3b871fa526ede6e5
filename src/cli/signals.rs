//! The running server's life: the signals it obeys and the helper threads
//! beside it, until SIGINT or SIGTERM.
//!
//! In scope: SIGHUP (read the settings again), SIGUSR1 (drain), SIGINT and
//! SIGTERM (stop), the config watcher and the memory trimmer. Out of scope:
//! the shutdown itself (`ServerHandle::shutdown`, which the caller runs).

use std::path::Path;

use log::error;
use rustic_rtmp::ServerHandle;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use super::malloc::trim_after_closes;
use super::watch::{reload, watch_config};

/// The signals the server obeys, registered before it starts so that none
/// is missed; `None` (logged) when they cannot be.
pub(crate) fn register() -> Option<Signals> {
    Signals::new([SIGINT, SIGTERM, SIGHUP, SIGUSR1])
        .inspect_err(|e| error!("cannot handle signals: {e}"))
        .ok()
}

/// Serves `signals` until SIGINT or SIGTERM, with the memory trimmer and,
/// when `watched` names the config file, its watcher running beside.
pub(crate) fn serve(server: &ServerHandle, mut signals: Signals, watched: Option<&Path>) {
    // Dropped, it stops the helper threads.
    let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
    std::thread::scope(|scope| {
        scope.spawn(|| trim_after_closes(server, &stopped));
        if let Some(path) = watched {
            scope.spawn(|| watch_config(server, path, &stopped));
        }
        for signal in signals.forever() {
            if signal == SIGHUP {
                reload(server, "SIGHUP");
                continue;
            }
            if signal == SIGUSR1 {
                server.drain(true);
                continue;
            }
            log::info!("signal {signal}: shutting down");
            break;
        }
        drop(stop);
    });
}
