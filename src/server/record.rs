//! The recorder: a player of a published stream, on a thread of its own,
//! that writes what `media::recording` makes of its frames to files.
//!
//! It hangs off the stream as an in-process player does (an outlet with no
//! socket, see `local`): its queue is bounded in frames and bytes, and a
//! slow disk makes it skip to the next keyframe, counted as a player's
//! drops, but it is never dropped for it. Files are written as
//! `NAME.part` and renamed once complete. An I/O error (a full disk, a
//! directory it may not write) ends that recording with an error in the
//! log and a count in the metrics; the stream and its players go on.

use std::fs::{self, File};
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use log::{error, info};
use parking_lot::{Condvar, Mutex};

use crate::config::{Record, THREAD_STACK};
use crate::media::StreamKey;
use crate::media::recording::{Recording, Write};
use crate::protocol::escape::Escaped;
use crate::server::control::live::Live;
use crate::server::control::started::{OnPublish, Started};
use crate::server::net::{calendar, path_name};
use crate::server::stream::events::{Event, Events};
use crate::server::stream::kind::ClientKind;
use crate::server::stream::kind::ConnId;
use crate::server::stream::local::{Item, LocalPlayer};
use crate::server::stream::registry::Registry;

/// Every recording under way, which this wing owns: the API stops them,
/// shutdown waits for them, the metrics count their failures.
pub(crate) struct Recorders {
    registry: Arc<Registry>,
    events: Events,
    under_way: Mutex<Vec<Arc<Recorder>>>,
    /// Told when the last recording is done, for shutdown.
    ended: Condvar,
    /// Recordings stopped by an I/O error.
    errors: AtomicU64,
}

/// A recording under way, as the API stops it.
struct Recorder {
    key: StreamKey,
    /// The recorder's number among the stream's players.
    id: ConnId,
}

impl Recorders {
    /// Recorders of `registry`'s streams, telling `events` of the files
    /// they finish.
    pub(crate) fn new(registry: Arc<Registry>, events: Events) -> Recorders {
        Recorders {
            registry,
            events,
            under_way: Mutex::new(Vec::new()),
            ended: Condvar::new(),
            errors: AtomicU64::new(0),
        }
    }

    /// Starts recording `key`, published by connection `id` from `addr`,
    /// if its application is recorded; logs why not if the thread cannot
    /// start.
    fn start(self: &Arc<Self>, live: &Live, key: &StreamKey, id: ConnId, addr: SocketAddr) {
        if let Some(settings) = live.config.record_for(&key.app) {
            self.start_with(live, key, id, addr, settings.clone());
        }
    }

    /// Starts recording `key` with `settings` (the API's start, or a
    /// publish's).
    pub(crate) fn start_with(
        self: &Arc<Self>,
        live: &Live,
        key: &StreamKey,
        id: ConnId,
        addr: SocketAddr,
        settings: Record,
    ) {
        let player = LocalPlayer::join(&self.registry, &live.config.players, key, ClientKind::Recorder);
        let status = Arc::new(Recorder {
            key: key.clone(),
            id: player.id,
        });
        self.under_way.lock().push(status.clone());
        // The thread's own handles; `status` stays here for a failed spawn.
        let (on_thread, key, mine) = (self.clone(), key.clone(), status.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("record-{}", player.id))
            .stack_size(THREAD_STACK)
            .spawn(move || {
                let (recorders, status) = (on_thread, mine);
                let mut files = Files {
                    settings: &settings,
                    key: &key,
                    open: None,
                    done: Vec::new(),
                };
                let mut recording = Recording::new(settings.container, settings.keep, settings.rotation);
                let mut failed = None;
                player.take_frames(|item| {
                    let writes = match item {
                        Item::Frame(frame) => recording.push(frame.clone()),
                        Item::StreamEnd => return false,
                    };
                    failed = files.apply(writes).err();
                    failed.is_none()
                });
                // The stream ended, or let go of the recorder (the server
                // stopping, the API): what was queued is written, and the
                // last file ends.
                if failed.is_none() {
                    failed = files.apply(recording.finish()).err();
                }
                drop(player);
                if let Some(why) = failed {
                    recorders.errors.fetch_add(1, Ordering::Relaxed);
                    error!("recording of {} stopped: {why}", Escaped(&key.app));
                }
                for path in files.done {
                    let key = key.clone();
                    recorders.events.emit(Event::RecordingDone { id, addr, key, path });
                }
                // Only now: shutdown closes the hooks' queues once no
                // recorder is left, and the events above must be in them
                // by then.
                recorders.ended(&status);
            });
        if let Err(e) = spawned {
            error!("cannot start a recorder thread: {e}");
            self.ended(&status);
        }
    }

    /// Takes `recorder` off the recordings under way, and tells a shutdown
    /// waiting for the last one.
    fn ended(&self, recorder: &Arc<Recorder>) {
        let mut under_way = self.under_way.lock();
        under_way.retain(|r| !Arc::ptr_eq(r, recorder));
        if under_way.is_empty() {
            self.ended.notify_all();
        }
    }

    /// Waits until every recording has finished its files and told of
    /// them, or until `deadline`; returns how many are still under way.
    pub(crate) fn wait_all(&self, deadline: Instant) -> usize {
        let mut under_way = self.under_way.lock();
        while !under_way.is_empty() && !self.ended.wait_until(&mut under_way, deadline).timed_out() {}
        under_way.len()
    }

    /// Stops every recording of `key`: each leaves the stream, writes what
    /// was queued for it and closes its file. False when there was none.
    pub(crate) fn stop(&self, key: &StreamKey) -> bool {
        let ids: Vec<ConnId> = (self.under_way.lock().iter())
            .filter(|r| &r.key == key)
            .map(|r| r.id)
            .collect();
        for id in &ids {
            self.registry.unsubscribe(key, *id);
        }
        !ids.is_empty()
    }

    /// Whether a recording of `key` is under way.
    pub(crate) fn records(&self, key: &StreamKey) -> bool {
        self.under_way.lock().iter().any(|r| &r.key == key)
    }

    /// Recordings stopped by an I/O error so far.
    pub(crate) fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }
}

impl OnPublish for Recorders {
    fn started(self: Arc<Self>, publish: &Started<'_>) {
        self.start(publish.live, publish.key, publish.id, publish.addr);
    }
}

/// The recording's files: the one open and those complete.
struct Files<'a> {
    settings: &'a Record,
    key: &'a StreamKey,
    /// The open file, written as `path.part`, and `path`.
    open: Option<(File, PathBuf)>,
    done: Vec<PathBuf>,
}

impl Files<'_> {
    fn apply(&mut self, writes: Vec<Write>) -> Result<(), String> {
        for write in writes {
            match write {
                Write::Open => {
                    let path = self.new_path();
                    let part = part_of(&path);
                    let opened = path
                        .parent()
                        .map_or(Ok(()), fs::create_dir_all)
                        .and_then(|()| File::create(&part));
                    let file = opened.map_err(|e| format!("cannot create {}: {e}", part.display()))?;
                    info!("recording {} to {}", Escaped(&self.key.app), path.display());
                    self.open = Some((file, path));
                }
                Write::Append(bytes) => {
                    let Some((file, path)) = &mut self.open else { continue };
                    file.write_all(&bytes)
                        .map_err(|e| format!("cannot write {}: {e}", part_of(path).display()))?;
                }
                Write::Close { patches, duration_ms } => {
                    let Some((file, path)) = self.open.take() else { continue };
                    let part = part_of(&path);
                    let closed = patches
                        .iter()
                        .try_for_each(|(at, bytes)| file.write_all_at(bytes, *at))
                        .and_then(|()| file.sync_data())
                        .and_then(|()| fs::rename(&part, &path));
                    closed.map_err(|e| format!("cannot finish {}: {e}", part.display()))?;
                    info!("recorded {} ({:.1} s)", path.display(), f64::from(duration_ms) / 1000.0);
                    self.done.push(path);
                }
            }
        }
        Ok(())
    }

    /// The next file's path: the template filled in, and a number added
    /// if a file of that name exists (two files in one second).
    fn new_path(&self) -> PathBuf {
        let now = calendar::since_1970().as_secs();
        let s = self.settings;
        let stem = fill(&s.path, self.key, now);
        let ext = s.container.extension();
        let taken = |p: &Path| p.exists() || part_of(p).exists();
        let mut path = s.dir.join(format!("{stem}.{ext}"));
        let mut n = 1;
        while taken(&path) {
            path = s.dir.join(format!("{stem}-{n}.{ext}"));
            n += 1;
        }
        path
    }
}

fn part_of(path: &Path) -> PathBuf {
    let mut part = path.as_os_str().to_owned();
    part.push(".part");
    PathBuf::from(part)
}

/// The path template with `{app}`, `{name}`, `{time}` and `{unix}` filled
/// in; the app's and name's characters are encoded for a path
/// (`path_name`), so no stream name leaves the directory or shares
/// another's file.
fn fill(template: &str, key: &StreamKey, unix: u64) -> String {
    let app: Vec<String> = key.app.split('/').map(path_name::encode).collect();
    template
        .replace("{app}", &app.join("/"))
        .replace("{name}", &path_name::encode(&key.name))
        .replace("{time}", &calendar::stamp(unix))
        .replace("{unix}", &unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_leave_the_directory() {
        let key = StreamKey::new("live/../x", "../../etc/passwd");
        assert_eq!(
            fill("{app}/{name}-{unix}", &key, 7),
            "live/%2E./x/%2E.%2F..%2Fetc%2Fpasswd-7"
        );
        let (comma, underscore) = (StreamKey::new("live", "cam,1"), StreamKey::new("live", "cam_1"));
        assert_ne!(fill("{name}", &comma, 7), fill("{name}", &underscore, 7));
    }
}
