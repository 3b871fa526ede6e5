//! `[app.NAME]` sections: an application's access rules, hooks, recording,
//! relays and SRT passphrase, each the server-wide one unless the section
//! gives its own.
//!
//! In scope: what a section's key replaces, and how it is switched off (an
//! empty string). Out of scope: the server-wide settings (`config.rs`) and
//! the recording keys (`record.rs`).

use std::path::PathBuf;

use rustic_rtmp::{Access, App, Cidr, Config, Hooks};

use super::defs::AppFile;
use super::record::app_record;
use super::secrets::{read_users, secret};
use super::setting::Commands;

/// An `[app.NAME]` section's settings: the server-wide access rules and
/// hooks with the section's keys in their place (an empty string turns a
/// key or URL off); `name` names the section's keys in errors.
pub(crate) fn app_config(server: &Config, section: AppFile, name: &dyn Fn(&str) -> String) -> Result<App, String> {
    let text = |value: Option<String>, inherited: &Option<String>| match value {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(v),
        None => inherited.clone(),
    };
    let key = |key: &str, value: Option<String>, file: Option<PathBuf>, inherited: &Option<String>| match (value, file)
    {
        (None, None) => Ok(inherited.clone()),
        (value, file) => secret(name, key, &value.filter(|v| !v.is_empty()), &file, None),
    };
    let networks = |key: &str, values: Option<Vec<String>>, inherited: &Vec<Cidr>| match values {
        None => Ok(inherited.clone()),
        Some(values) => (values.iter())
            .map(|v| v.parse().map_err(|e| format!("{}: {e}", name(key))))
            .collect(),
    };
    let commands = |value: Option<Commands>, inherited: &Vec<Vec<String>>| match value {
        Some(commands) => commands.into_argvs(),
        None => inherited.clone(),
    };
    let (access, hooks) = (&server.access, &server.hooks);
    let s = section;
    Ok(App {
        access: Access {
            publish_key: key("publish_key", s.publish_key, s.publish_key_file, &access.publish_key)?,
            publish_keys_file: s.publish_keys_file.or(access.publish_keys_file.clone()),
            play_key: key("play_key", s.play_key, s.play_key_file, &access.play_key)?,
            allow_publish: networks("allow_publish", s.allow_publish, &access.allow_publish)?,
            deny_publish: networks("deny_publish", s.deny_publish, &access.deny_publish)?,
            allow_play: networks("allow_play", s.allow_play, &access.allow_play)?,
            deny_play: networks("deny_play", s.deny_play, &access.deny_play)?,
            api_token: None,
            users: match s.users {
                Some(path) => read_users(&name("users"), &path)?,
                None => access.users.clone(),
            },
        },
        hooks: Hooks {
            on_connect: text(s.on_connect, &hooks.on_connect),
            on_publish: text(s.on_publish, &hooks.on_publish),
            on_play: text(s.on_play, &hooks.on_play),
            on_publish_done: text(s.on_publish_done, &hooks.on_publish_done),
            on_play_done: text(s.on_play_done, &hooks.on_play_done),
            on_done: text(s.on_done, &hooks.on_done),
            on_update: text(s.on_update, &hooks.on_update),
            exec_publish: commands(s.exec_publish, &hooks.exec_publish),
            exec_publish_done: commands(s.exec_publish_done, &hooks.exec_publish_done),
            exec_play: commands(s.exec_play, &hooks.exec_play),
            exec_play_done: commands(s.exec_play_done, &hooks.exec_play_done),
            on_record_done: text(s.on_record_done, &hooks.on_record_done),
            exec_record_done: commands(s.exec_record_done, &hooks.exec_record_done),
            ..hooks.clone()
        },
        record: app_record(
            name,
            server.record.as_ref(),
            s.record,
            s.record_format,
            s.record_path,
            s.record_dir,
        )?,
        push: s.push.unwrap_or(server.relay.push.clone()),
        pull: s.pull.unwrap_or(server.relay.pull.clone()),
        // As given: left out, the server's applies when a caller comes;
        // empty, validation refuses it (encryption cannot be switched off
        // for one application).
        srt_passphrase: s.srt_passphrase,
    })
}
