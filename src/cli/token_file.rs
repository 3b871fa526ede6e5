//! `--api-token auto`: a token made at start, told once in the log and
//! kept in a file only its owner can read, as Jupyter does, so that the
//! API's changes need a secret without the operator making one.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::OnceLock;

use base64::Engine as _;
use log::warn;
use rustic_rtmp::ServerHandle;

/// This process's token, made the first time it is asked for: a reload
/// keeps it.
pub(crate) fn auto() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let mut bytes = [0u8; 32];
        // A token nobody can guess or none: without the OS random source
        // the server must not pretend to keep anything secret.
        getrandom::fill(&mut bytes).expect("the OS random source is readable");
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    })
}

/// Where the token of the server whose HTTP port is `port` is kept:
/// `$XDG_RUNTIME_DIR/rustic_rtmp/`, else `~/.local/state/rustic_rtmp/`,
/// else the working directory's `.rustic_rtmp/`.
fn path(port: u16) -> PathBuf {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = env("XDG_RUNTIME_DIR")
        .map(|d| d.join("rustic_rtmp"))
        .or_else(|| env("HOME").map(|h| h.join(".local/state/rustic_rtmp")))
        .unwrap_or_else(|| PathBuf::from(".rustic_rtmp"));
    dir.join(format!("api-token-{port}"))
}

/// Writes `token` to its file, readable by this user only; returns where.
pub(crate) fn keep(token: &str, port: u16) -> io::Result<PathBuf> {
    let path = path(port);
    if let Some(dir) = path.parent() {
        DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    // A file left by an earlier server on the same port is replaced, and
    // made anew so that its mode is ours whatever it was.
    let _ = fs::remove_file(&path);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    file.write_all(format!("{token}\n").as_bytes())?;
    Ok(path)
}

/// Logs `--api-token auto`'s token once and keeps it in a file beside the
/// API's port; returns the file, removed at the stop.
pub(crate) fn tell_api_token(server: &ServerHandle) -> Option<PathBuf> {
    let token = auto();
    let Some(addr) = server.api_addr().or(server.http_addr()) else {
        log::info!("API token (the API is not served: no HTTP): {token}");
        return None;
    };
    match keep(token, addr.port()) {
        Ok(path) => {
            log::info!(
                "API token, for Authorization: Bearer (also in {}): {token}",
                path.display()
            );
            Some(path)
        }
        Err(e) => {
            warn!("API token: {token} (cannot keep it in a file: {e})");
            None
        }
    }
}
