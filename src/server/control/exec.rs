//! Exec hooks, as nginx-rtmp's `exec_publish`, `exec_publish_done`,
//! `exec_play` and `exec_play_done`: a command run as argv, no shell, with
//! `$app`, `$name`, `$addr`, `$port` (RTMP's) and `$http_port` replaced in
//! each argument. An `exec_publish` process is supervised: restarted with
//! a growing pause if it exits while the publish goes on, and stopped
//! (SIGTERM, then SIGKILL 2 s later) when the publish ends or the server
//! stops. Its output goes to the log at debug level; when a command exits
//! early or fails, its first lines of output go to the log at warn, since
//! they say why. At most `MAX_PLAY_COMMANDS` play commands (`exec_play`,
//! `exec_play_done`) run at once: anyone may play, and each is a process.
//! Driven by the server's events on a worker thread of its own, so no
//! command delays media; the worker ends, when the events end, once every
//! supervisor it started has stopped its command.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use log::{debug, info, warn};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use parking_lot::Mutex;

use crate::media::StreamKey;
use crate::protocol::escape::Escaped;
use crate::server::control::live::Current;
use crate::server::stream::events::Event;

/// The first pause before a command that exited is started again; it
/// doubles each time, up to `MAX_BACKOFF`.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// A run this long resets the pause to `FIRST_BACKOFF`.
const STEADY: Duration = Duration::from_secs(30);
/// How long a stopped command has between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// A command that exits sooner than this is taken to have failed to run:
/// its first lines of output go to the log at warn.
const EARLY: Duration = Duration::from_secs(10);
/// Lines of a command's output kept to tell why it exited early.
const FIRST_LINES: usize = 5;
/// Play commands running at once, at most; more are left out (and said).
pub(crate) const MAX_PLAY_COMMANDS: usize = 64;

/// The server's ports, for `$port` and `$http_port`: the HTTP port is
/// known once its listener is bound, after the worker starts.
#[derive(Debug, Default)]
pub(crate) struct Ports {
    pub(crate) rtmp: u16,
    pub(crate) http: OnceLock<u16>,
}

/// `argv` with `$app`, `$name`, `$addr`, `$port` and `$http_port`
/// replaced in every argument (`$http_port` empty without HTTP).
pub(crate) fn substitute(argv: &[String], key: &StreamKey, addr: SocketAddr, ports: &Ports) -> Vec<String> {
    let http = ports.http.get().map_or(String::new(), u16::to_string);
    argv.iter()
        .map(|arg| {
            // $http_port first: $port is a prefix of it.
            arg.replace("$http_port", &http)
                .replace("$port", &ports.rtmp.to_string())
                .replace("$app", &key.app)
                .replace("$name", &key.name)
                .replace("$addr", &addr.ip().to_string())
        })
        .collect()
}

/// Runs the commands from the server's events until the events end, each
/// from the settings in force for its stream's application; then stops
/// the `exec_publish` commands still running and waits for them.
pub(crate) fn run(current: &Current, events: Receiver<Event>, ports: &Ports) {
    let plays_running = Arc::new(AtomicUsize::new(0));
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
                let commands = current.now().config.hooks_for(&key.app).exec_publish.clone();
                let stops = (commands.iter())
                    .filter_map(|argv| supervise(substitute(argv, &key, addr, ports)))
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
                let commands = current.now().config.hooks_for(&key.app).exec_record_done.clone();
                for argv in &commands {
                    run_once(&substitute_path(&substitute(argv, &key, addr, ports), &path), None);
                }
                continue;
            }
            Event::PlayStarted { id, key, .. } => (id, key, Once::Play),
            Event::PlayStopped { id, key } => (id, key, Once::PlayDone),
            _ => continue,
        };
        let Some(addr) = addrs.get(&id).copied() else { continue };
        let live = current.now();
        let hooks = live.config.hooks_for(&key.app);
        let (commands, counted) = match once {
            Once::PublishDone => (&hooks.exec_publish_done, None),
            Once::Play => (&hooks.exec_play, Some(&plays_running)),
            Once::PlayDone => (&hooks.exec_play_done, Some(&plays_running)),
        };
        for argv in commands {
            if let Some(running) = counted
                && running.load(Ordering::Relaxed) >= MAX_PLAY_COMMANDS
            {
                warn!("exec of a play left out: {MAX_PLAY_COMMANDS} play commands run already");
                continue;
            }
            run_once(&substitute(argv, &key, addr, ports), counted.cloned());
        }
    }
    // The server stops: every command is told first, so they stop
    // together.
    stopping.extend(running.into_values().flatten().map(Supervisor::stop));
    for thread in stopping {
        let _ = thread.join();
    }
}

/// Starts a command run once, counted in `running` while it runs; it is
/// reaped on a thread of its own, which tells why when it fails.
fn run_once(argv: &[String], running: Option<Arc<AtomicUsize>>) {
    let Some((child, output)) = start(argv) else { return };
    if let Some(running) = &running {
        running.fetch_add(1, Ordering::Relaxed);
    }
    let program = argv.first().cloned().unwrap_or_default();
    let shown = Escaped(&program).to_string();
    let reaper = std::thread::Builder::new().name("exec-once".into()).spawn(move || {
        let status = wait_out(child);
        if let Some(running) = running {
            running.fetch_sub(1, Ordering::Relaxed);
        }
        if let Ok(status) = status
            && !status.success()
        {
            output.tell(&program, status);
        }
    });
    if let Err(e) = reaper {
        warn!("cannot start a thread to wait for exec {shown}: {e}");
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
        if let Some((mut child, output)) = start(argv) {
            // Wait for it to exit, or for the publish to end.
            loop {
                match stopped.recv_timeout(Duration::from_millis(100)) {
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
                    _ => return stop(child),
                }
                if let Ok(Some(status)) = child.try_wait() {
                    let program = argv.first().map_or("", String::as_str);
                    info!("exec {} exited ({status}) while the publish goes on", Escaped(program));
                    if started.elapsed() < EARLY {
                        output.tell(program, status);
                    }
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

/// The first lines a command wrote, kept to say why it failed.
#[derive(Clone, Default)]
struct FirstLines {
    lines: Arc<Mutex<Vec<String>>>,
    /// Pipes read to their end.
    closed: Arc<AtomicUsize>,
}

impl FirstLines {
    /// Logs at warn that `program` exited with `status`, and its first
    /// lines, once its pipes are read (a second at most).
    fn tell(&self, program: &str, status: std::process::ExitStatus) {
        let deadline = Instant::now() + Duration::from_secs(1);
        while self.closed.load(Ordering::Relaxed) < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let lines = self.lines.lock();
        let said = lines
            .iter()
            .map(|l| Escaped(l).to_string())
            .collect::<Vec<_>>()
            .join(" | ");
        warn!("exec {} exited early ({status}); it said: {said}", Escaped(program));
    }
}

/// Starts `argv` with its output logged (and its first lines kept);
/// `None` (and a warning) if it cannot start.
fn start(argv: &[String]) -> Option<(Child, FirstLines)> {
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
    let first = FirstLines::default();
    let out: [Option<Box<dyn Read + Send>>; 2] = [
        child.stdout.take().map(|o| Box::new(o) as _),
        child.stderr.take().map(|e| Box::new(e) as _),
    ];
    for pipe in out.into_iter().flatten() {
        let first = first.clone();
        let _ = std::thread::Builder::new().name("exec-log".into()).spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                debug!("exec pid {pid}: {}", Escaped(&line));
                let mut kept = first.lines.lock();
                if kept.len() < FIRST_LINES {
                    kept.push(line.chars().take(200).collect());
                }
            }
            first.closed.fetch_add(1, Ordering::Relaxed);
        });
    }
    Some((child, first))
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
            "rtmp://127.0.0.1:$port/$app/$name",
            "-metadata",
            "from=$addr $name",
            "http://127.0.0.1:$http_port/api",
        ]
        .map(String::from)
        .to_vec();
        let key = StreamKey::new("live", "cam 1");
        let ports = Ports {
            rtmp: 1936,
            http: OnceLock::from(8081),
        };
        let got = substitute(&argv, &key, "10.0.0.9:5000".parse().unwrap(), &ports);
        assert_eq!(
            got,
            [
                "ffmpeg",
                "-i",
                "rtmp://127.0.0.1:1936/live/cam 1",
                "-metadata",
                "from=10.0.0.9 cam 1",
                "http://127.0.0.1:8081/api"
            ]
        );
    }
}
