//! Reading the settings again: on SIGHUP, and when the `--config` file
//! changes.
//!
//! In scope: noticing the change, refusing an empty or bad file (the
//! settings in force stay). Out of scope: what a reload changes for live
//! connections (`ServerHandle::reload`).

use std::path::Path;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use log::{error, warn};
use rustic_rtmp::ServerHandle;

use super::config::Settings;
use super::defs::Args;

/// On SIGHUP or a change of the file (`why`): reads the flags and the
/// config file again and puts the result in force for new connections; a
/// file that does not check out changes nothing.
pub(crate) fn reload(server: &ServerHandle, why: &str) {
    let args: Args = argh::from_env();
    let Some(path) = &args.config else {
        warn!("{why}: there is no --config file to read again");
        return;
    };
    // An empty file is a file being written, or one wiped by mistake:
    // taken as it is, it would drop every key and list at once.
    if std::fs::read_to_string(path).is_ok_and(|text| text.trim().is_empty()) {
        error!(
            "reload refused, the settings in force stay: {} is empty",
            path.display()
        );
        return;
    }
    // `config()` validates, naming the flag or line; `reload` validates
    // again, and refuses only what changed on disk in between.
    let reloaded = (Settings::load(args).and_then(|settings| settings.config()))
        .and_then(|config| server.reload(config).map_err(|e| e.to_string()));
    match reloaded {
        Ok(()) => {}
        // On one line: the file's snippet comes on several.
        Err(e) => error!(
            "reload refused, the settings in force stay: {}",
            e.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
    }
}

/// How often the config file is looked at.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Until `stop`, reloads when the config file at `path` changes (its
/// modification time or length), as SIGHUP does: saving the file is
/// enough, as with MediaMTX (and SRS's `inotify_auto_reload`). A change
/// is read once the file has stayed the same for two looks, so a file
/// caught half written (an editor truncates, then writes) is not applied:
/// a truncated file that still parsed once dropped the publish key for a
/// second, and a keyless publisher got in and stayed.
pub(crate) fn watch_config(server: &ServerHandle, path: &Path, stop: &Receiver<()>) {
    let stamp = || std::fs::metadata(path).ok().map(|m| (m.modified().ok(), m.len()));
    let mut seen = stamp();
    let mut settling = None;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(WATCH_EVERY) {
        let now = stamp();
        if now == seen {
            settling = None;
        } else if settling != Some(now) {
            settling = Some(now);
        } else {
            seen = now;
            settling = None;
            if seen.is_some() {
                log::info!("{} changed: reading it again", path.display());
                reload(server, "the config file changed");
            }
        }
    }
}
