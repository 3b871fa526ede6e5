//! Secrets and credentials the settings name rather than hold: keys from
//! their flag, their file or their environment variable, the API token,
//! and the users file.
//!
//! In scope: reading them, and refusing more than one source for one
//! secret. Out of scope: checking them against peers (`server/`).

use std::path::{Path, PathBuf};

use super::defs::Args;
use super::token_file;

/// A secret from its key (`publish_key`), its file (the key's
/// `_file`, first line) or its environment variable, in that order; more
/// than one is an error. `name` names a key in errors.
pub(crate) fn secret(
    name: &dyn Fn(&str) -> String,
    key: &str,
    value: &Option<String>,
    file: &Option<PathBuf>,
    var: Option<&str>,
) -> Result<Option<String>, String> {
    let file_key = format!("{key}_file");
    let from_file = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{} {}: cannot be read: {e}", name(&file_key), path.display()))?;
            let secret = text.lines().next().unwrap_or_default().trim().to_owned();
            if secret.is_empty() {
                return Err(format!(
                    "{} {}: the first line is empty",
                    name(&file_key),
                    path.display()
                ));
            }
            Some(secret)
        }
        None => None,
    };
    let from_env = var.and_then(|var| std::env::var(var).ok()).filter(|v| !v.is_empty());
    let given: Vec<String> = [value.clone(), from_file, from_env].into_iter().flatten().collect();
    match &given[..] {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(format!(
            "{}, {}{}: give only one",
            name(key),
            name(&file_key),
            var.map(|var| format!(" and {var}")).unwrap_or_default()
        )),
    }
}

/// The API token: `--api-token auto`'s, or one read from
/// `--api-token-file` or `RUSTIC_RTMP_API_TOKEN`; only one of them.
pub(crate) fn api_token(args: &Args, name: &dyn Fn(&str) -> String) -> Result<Option<String>, String> {
    let read = secret(
        name,
        "api_token",
        &None,
        &args.api_token_file,
        Some("RUSTIC_RTMP_API_TOKEN"),
    )?;
    match (args.api_token.as_deref(), read) {
        (None, read) => Ok(read),
        (Some("auto"), None) => Ok(Some(token_file::auto().to_owned())),
        (Some("auto"), Some(_)) => Err(format!(
            "{} auto and a token read from a file: give only one",
            name("api_token")
        )),
        // A token on the command line would show in `ps` to every user.
        (Some(other), _) => Err(format!(
            "{} {other:?}: only auto is taken here; give a token with api_token_file",
            name("api_token")
        )),
    }
}

/// `user:password` lines; blank lines and `#` comments are skipped.
/// `name` is how errors name the setting.
pub(crate) fn read_users(name: &str, path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name} {}: cannot be read: {e}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| match line.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok((user.to_owned(), password.to_owned())),
            _ => Err(format!("{name} {}: a line is not user:password", path.display())),
        })
        .collect()
}
