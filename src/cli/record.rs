//! The recording keys (`record`, `record_format`, `record_path`,
//! `record_dir`), server-wide and in an `[app.NAME]` section: what they
//! change in a `Record`, and the names they take.

use std::path::PathBuf;

use rustic_rtmp::Record;
use rustic_rtmp::media::recording::{Container, Keep};

/// `base` with the recording keys that are given in place of its own
/// (`name` names them in errors); `None` for `off`.
pub(crate) fn record(
    name: &dyn Fn(&str) -> String,
    base: Record,
    keep: Option<&str>,
    format: Option<&str>,
    path: Option<&str>,
) -> Result<Option<Record>, String> {
    let keep = match keep {
        None => base.keep,
        Some("all") => Keep::All,
        Some("video") => Keep::Video,
        Some("audio") => Keep::Audio,
        Some("off") => return Ok(None),
        Some(other) => {
            return Err(format!(
                "{} {other:?} is none of all, video, audio, off",
                name("record")
            ));
        }
    };
    let container = match format {
        None => base.container,
        Some("flv") => Container::Flv,
        Some("mp4") => Container::Mp4,
        Some(other) => return Err(format!("{} {other:?} is neither flv nor mp4", name("record_format"))),
    };
    Ok(Some(Record {
        path: path.map_or(base.path, str::to_owned),
        container,
        keep,
        ..base
    }))
}

/// An application's recording: the server's with the section's keys in
/// their place; `record = "off"` turns it off, and any other mode turns
/// it on (a directory is then needed, the server's or the section's).
pub(crate) fn app_record(
    name: &dyn Fn(&str) -> String,
    server: Option<&Record>,
    mode: Option<String>,
    format: Option<String>,
    path: Option<String>,
    dir: Option<PathBuf>,
) -> Result<Option<Record>, String> {
    if mode.is_none() && format.is_none() && path.is_none() && dir.is_none() {
        return Ok(server.cloned());
    }
    let base = match (dir, server) {
        (Some(dir), Some(server)) => Record { dir, ..server.clone() },
        (None, Some(server)) => server.clone(),
        (Some(dir), None) => Record::to(dir),
        (None, None) => {
            let keys = [
                ("record", mode.is_some()),
                ("record_format", format.is_some()),
                ("record_path", path.is_some()),
            ];
            let first_set = keys.iter().find(|(_, set)| *set).map_or("record", |(key, _)| key);
            return Err(format!(
                "{}: recording needs record_dir, here or server-wide",
                name(first_set)
            ));
        }
    };
    record(name, base, mode.as_deref(), format.as_deref(), path.as_deref())
}
