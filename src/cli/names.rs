//! How an error names a setting: as the user gave it (a flag, a line of
//! the config file, or a default), so that they know where to look.

use rustic_rtmp::{ConfigError, ConfigProblem};

use super::file::KeyLines;
use super::report::with_causes;
use super::setting::Given;

/// Where each setting came from.
pub(crate) struct Names<'a> {
    /// Where the config file sets each key.
    pub(crate) lines: &'a KeyLines,
    /// The keys whose flag was given.
    pub(crate) given: &'a Given,
}

impl Names<'_> {
    /// `--flag` when the command line gave `key` (a flag's field name),
    /// `FILE:LINE: key` when the config file did, `--flag (default)` when
    /// neither did.
    pub(crate) fn of(&self, key: &str) -> String {
        let flag = format!("--{}", key.replace('_', "-"));
        match self.lines.at(None, key) {
            _ if self.given.contains(key) => flag,
            Some(at) => format!("{at}: {key}"),
            None => format!("{flag} (default)"),
        }
    }

    /// `FILE:LINE: [app.NAME] key` for a key of an `[app.NAME]` section.
    pub(crate) fn in_app(&self, app: &str, key: &str) -> String {
        match self.lines.at(Some(app), key) {
            Some(at) => format!("{at}: [app.{app}] {key}"),
            None => format!("[app.{app}] {key}"),
        }
    }

    /// A `Config::validate` error, with the key or flag that set the field
    /// (or, when that is a default another setting went below, the other
    /// one) and the error's causes.
    pub(crate) fn config_error(&self, e: &ConfigError) -> String {
        let key = key_of(e.field);
        let name = match (&e.app, &e.problem) {
            (Some(app), _) => self.in_app(app, key),
            (None, ConfigProblem::NotBelow { field, .. })
                if !self.given.contains(key) && self.lines.at(None, key).is_none() =>
            {
                self.of(key_of(field))
            }
            (None, _) => self.of(key),
        };
        format!("{name}: {}", with_causes(e))
    }
}

/// The key (and flag) that sets a `Config` field.
fn key_of(field: &str) -> &str {
    match field {
        "hls.timing.segment" => "hls_segment_seconds",
        "hls.timing.part" => "hls_part_ms",
        "hls.timing.segments" => "hls_segment_count",
        "hooks.update_interval" => "notify_update_interval_ms",
        "rtmp.tls.cert" => "tls_cert",
        "rtmp.tls.key" => "tls_key",
        "srt.passphrase" => "srt_passphrase",
        // `hooks.on_publish`, `access.publish_keys_file`,
        // `rtmp.session.chunk_size`, `relay.push`: the key is the field's
        // own name.
        field => field.rsplit('.').next().unwrap_or(field),
    }
}
