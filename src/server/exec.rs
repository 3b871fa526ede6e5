//! Exec hooks, as nginx-rtmp's `exec_publish`, `exec_publish_done`,
//! `exec_play` and `exec_play_done`: a command run as argv, no shell, with `$app`, `$name` and `$addr`
//! replaced in each argument. An `exec_publish` process is supervised:
//! restarted with a growing pause if it exits while the publish goes on,
//! and stopped (SIGTERM, then SIGKILL 2 s later) when the publish ends
//! or the server stops. Its output goes to the log at debug level. Driven
//! by the server's events on a worker thread of its own, so no command
//! delays media; the worker ends, when the events end, once every
//! supervisor it started has stopped its command.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use log::{debug, info, warn};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::events::Event;
use super::live::Current;
use crate::media::StreamKey;
use crate::protocol::escape::Escaped;

/// The first pause before a command that exited is started again; it
/// doubles each time, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A run this long resets the pause to `FIRST_BACKOFF`.
const STEADY: Duration = Duration::from_secs(30);
/// How long a stopped command has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// `argv` with `$app`, `$name` and `$addr` replaced in every argument.
pub(crate) fn substitute(argv: &[String], key: &StreamKey, addr: SocketAddr) -> Vec<String> {
    argv.iter()
        .map(|arg| {
            arg.replace("$app", &key.app)
                .replace("$name", &key.name)
                .replace("$addr", &addr.ip().to_string())
        })
        .collect()
}

/// Runs the commands from the server's events until the events end, each
/// from the settings in force for its stream's application; then stops
/// the `exec_publish` commands still running and waits for them.
pub(crate) fn run(current: &Current, events: Receiver<Event>) {
    let mut addrs: HashMap<u64, SocketAddr> = HashMap::new();
    // Per publishing connection, its supervisors.
    let mut running: HashMap<u64, Vec<Supervisor>> = HashMap::new();
    // Supervisors told to stop, still stopping their command.
    let mut stopping: Vec<JoinHandle<()>> = Vec::new();
    for event in events {
        let (id, key, once) = match event {
            Event::Opened { id, addr } => {
                addrs.insert(id, addr);
                continue;
            }
            Event::Closed { id } => {
                addrs.remove(&id);
                continue;
            }
            Event::PublishStarted { id, key } => {
                // A publisher inside the process has no address: no command.
                let Some(addr) = addrs.get(&id).copied() else { continue };
                let commands = current.read().config.hooks_for(&key.app).exec_publish.clone();
                let stops = (commands.iter())
                    .filter_map(|argv| supervise(substitute(argv, &key, addr)))
                    .collect();
                running.insert(id, stops);
                continue;
            }
            Event::PublishStopped { id, key } => {
                stopping.retain(|thread| !thread.is_finished());
                stopping.extend(running.remove(&id).into_iter().flatten().map(Supervisor::stop));
                (id, key, Once::PublishDone)
            }
            Event::RecordingDone { key, path, addr, .. } => {
                let commands = current.read().config.hooks_for(&key.app).exec_record_done.clone();
                for argv in &commands {
                    run_once(&substitute_path(&substitute(argv, &key, addr), &path));
                }
                continue;
            }
            Event::PlayStarted { id, key, .. } => (id, key, Once::Play),
            Event::PlayStopped { id, key } => (id, key, Once::PlayDone),
            _ => continue,
        };
        let Some(addr) = addrs.get(&id).copied() else { continue };
        let live = current.read().clone();
        let hooks = live.config.hooks_for(&key.app);
        let commands = match once {
            Once::PublishDone => &hooks.exec_publish_done,
            Once::Play => &hooks.exec_play,
            Once::PlayDone => &hooks.exec_play_done,
        };
        for argv in commands {
            run_once(&substitute(argv, &key, addr));
        }
    }
    // The server stops: every command is told first, so they stop
    // together.
    stopping.extend(running.into_values().flatten().map(Supervisor::stop));
    for thread in stopping {
        let _ = thread.join();
    }
}

/// Starts a command run once; it is reaped on a thread of its own.
fn run_once(argv: &[String]) {
    if let Some(child) = start(argv) {
        let _ = std::thread::Builder::new()
            .name("exec-once".into())
            .spawn(move || drop(wait_out(child)));
    }
}

/// `argv` with a recorded file's `$path`, `$filename` (its name),
/// `$basename` (its name without extension) and `$dirname` replaced, as
/// nginx-rtmp's `exec_record_done` has them.
pub(crate) fn substitute_path(argv: &[String], path: &Path) -> Vec<String> {
    let text = |p: Option<&std::ffi::OsStr>| p.map_or(String::new(), |p| p.to_string_lossy().into_owned());
    let dirname = path.parent().map_or(String::new(), |d| d.display().to_string());
    argv.iter()
        .map(|arg| {
            arg.replace("$path", &path.display().to_string())
                .replace("$filename", &text(path.file_name()))
                .replace("$basename", &text(path.file_stem()))
                .replace("$dirname", &dirname)
        })
        .collect()
}

/// The commands run once, and when.
enum Once {
    PublishDone,
    Play,
    PlayDone,
}

/// A thread keeping an `exec_publish` command running.
struct Supervisor {
    /// Dropped, it tells the thread to stop the command.
    stop: Sender<()>,
    thread: JoinHandle<()>,
}

impl Supervisor {
    /// Tells the thread to stop its command; it ends once it has.
    fn stop(self) -> JoinHandle<()> {
        drop(self.stop);
        self.thread
    }
}

/// Starts a thread keeping `argv` running until it is told to stop;
/// `None` if no thread could start.
fn supervise(argv: Vec<String>) -> Option<Supervisor> {
    let (stop, stopped) = bounded::<()>(0);
    let spawned = std::thread::Builder::new()
        .name("exec".into())
        .spawn(move || keep_running(&argv, &stopped));
    match spawned {
        Ok(thread) => Some(Supervisor { stop, thread }),
        Err(e) => {
            warn!("cannot start a thread for exec: {e}");
            None
        }
    }
}

fn keep_running(argv: &[String], stopped: &Receiver<()>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let started = Instant::now();
        if let Some(mut child) = start(argv) {
            // Wait for it to exit, or for the publish to end.
            loop {
                match stopped.recv_timeout(Duration::from_millis(100)) {
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                    _ => return stop(child),
                }
                if let Ok(Some(status)) = child.try_wait() {
                    let program = argv.first().map_or("", String::as_str);
                    info!("exec {} exited ({status}) while the publish goes on", Escaped(program));
                    break;
                }
            }
        }
        if started.elapsed() >= STEADY {
            backoff = FIRST_BACKOFF;
        }
        // Pause before starting it again, unless the publish ends first.
        match stopped.recv_timeout(backoff) {
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Starts `argv` with its output logged; `None` (and a warning) if it
/// cannot start.
fn start(argv: &[String]) -> Option<Child> {
    let (program, args) = argv.split_first()?;
    let spawned = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            warn!("exec {} cannot start: {e}", Escaped(program));
            return None;
        }
    };
    info!("exec {} started, pid {}", Escaped(program), child.id());
    let pid = child.id();
    let out: [Option<Box<dyn Read + Send>>; 2] = [
        child.stdout.take().map(|o| Box::new(o) as _),
        child.stderr.take().map(|e| Box::new(e) as _),
    ];
    for pipe in out.into_iter().flatten() {
        let _ = std::thread::Builder::new().name("exec-log".into()).spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                debug!("exec pid {pid}: {}", Escaped(&line));
            }
        });
    }
    Some(child)
}

/// SIGTERM, then SIGKILL if it is still running after `GRACE`.
fn stop(mut child: Child) {
    let pid = Pid::from_raw(child.id() as i32);
    let _ = kill(pid, Signal::SIGTERM);
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            info!("exec pid {pid} stopped");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    info!("exec pid {pid} killed after {GRACE:?}");
}

/// Waits for a one-shot command.
fn wait_out(mut child: Child) -> std::io::Result<std::process::ExitStatus> {
    child.wait()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_files_path_is_substituted() {
        let argv: Vec<String> = ["mv", "$path", "/archive/$basename-done.flv", "$dirname/$filename"]
            .map(String::from)
            .to_vec();
        let got = substitute_path(&argv, Path::new("/rec/live/cam-1.flv"));
        assert_eq!(
            got,
            [
                "mv",
                "/rec/live/cam-1.flv",
                "/archive/cam-1-done.flv",
                "/rec/live/cam-1.flv"
            ]
        );
    }

    #[test]
    fn arguments_are_substituted_one_by_one() {
        let argv: Vec<String> = [
            "ffmpeg",
            "-i",
            "rtmp://127.0.0.1/$app/$name",
            "-metadata",
            "from=$addr $name",
        ]
        .map(String::from)
        .to_vec();
        let key = StreamKey::new("live", "cam 1");
        let got = substitute(&argv, &key, "10.0.0.9:5000".parse().unwrap());
        assert_eq!(
            got,
            [
                "ffmpeg",
                "-i",
                "rtmp://127.0.0.1/live/cam 1",
                "-metadata",
                "from=10.0.0.9 cam 1"
            ]
        );
    }
}
