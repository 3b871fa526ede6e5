//! The real `rustic_rtmp` binary as a child process, watched from outside:
//! its peak memory (`VmHWM` in /proc), its log bytes and lines, whether it
//! is still alive. Hardening tests attack it over raw sockets and check
//! what a user would see.

use std::io::Read;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::canary::Canary;
use super::{Proc, Sample, Scratch, WAIT, play, probe, publish, spawn, unique, wait_until};

/// The binary under test: this build's, or the one `RUSTIC_RTMP_BIN`
/// names (to measure an older build with the same attacks).
pub fn program() -> String {
    std::env::var("RUSTIC_RTMP_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_rustic_rtmp").to_owned())
}

/// Log lines kept for assertions; bytes are counted past it.
const KEPT_LINES: usize = 20_000;

#[derive(Default)]
struct Log {
    bytes: usize,
    lines: Vec<String>,
    partial: Vec<u8>,
}

pub struct Binary {
    proc: Proc,
    pub addr: SocketAddr,
    log: Arc<Mutex<Log>>,
    /// `user:password@` for every URL the helpers make (`--users`).
    pub login: String,
}

impl Binary {
    /// Starts `rustic_rtmp --bind 127.0.0.1 --port 0 ARGS` at info level
    /// and waits for its address.
    pub fn start(args: &[&str]) -> Binary {
        Binary::start_with(Command::new(program()), args)
    }

    /// `start`, under `ulimit ULIMIT` (a shell sets it, then execs the
    /// binary).
    pub fn start_with_ulimit(ulimit: &str, args: &[&str]) -> Binary {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &format!("ulimit {ulimit} && exec \"$0\" \"$@\""), &program()]);
        Binary::start_with(cmd, args)
    }

    /// `start` with `cmd` as the program and more arguments.
    pub fn start_with(mut cmd: Command, args: &[&str]) -> Binary {
        cmd.args(["--bind", "127.0.0.1", "--port", "0"]);
        if !args.contains(&"--http-port") {
            // Not the default 8080, which another test's server may hold.
            cmd.arg("--no-http");
        }
        if !args.contains(&"--srt-port") {
            // Not the default 8890 either.
            cmd.arg("--no-srt");
        }
        cmd.args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut proc = spawn(&mut cmd);
        let mut stderr = proc.take_stderr();
        let log = Arc::new(Mutex::new(Log::default()));
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut log = sink.lock().unwrap();
                log.bytes += n;
                log.partial.extend_from_slice(&buf[..n]);
                while let Some(end) = log.partial.iter().position(|&b| b == b'\n') {
                    let line: Vec<u8> = log.partial.drain(..=end).collect();
                    if log.lines.len() < KEPT_LINES {
                        log.lines.push(String::from_utf8_lossy(&line).trim_end().to_owned());
                    }
                }
            }
        });
        let mut binary = Binary {
            proc,
            addr: "0.0.0.0:0".parse().unwrap(),
            log,
            login: String::new(),
        };
        let line = binary.wait_for_log("listening on");
        binary.addr = line.rsplit(' ').next().unwrap().parse().unwrap();
        binary
    }

    pub fn pid(&self) -> u32 {
        self.proc.id()
    }

    /// Sends the server `signal` (`TERM`, `INT`, `KILL`).
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -{signal}");
    }

    /// Waits up to [`WAIT`] for the server to exit.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        self.proc.wait()
    }

    /// A `/proc/PID/status` field in KiB (`VmHWM`, `VmRSS`).
    pub fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("the server is alive");
        let line = status
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("no {field} in /proc status"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Open file descriptors.
    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).unwrap().count()
    }

    /// Peak resident memory so far, in KiB.
    pub fn peak_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    pub fn assert_alive(&mut self) {
        assert!(self.proc.is_running(), "the server process died");
    }

    pub fn log_bytes(&self) -> usize {
        self.log.lock().unwrap().bytes
    }

    /// The log lines so far (the first [`KEPT_LINES`]).
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().lines.clone()
    }

    /// Lines containing `needle`.
    pub fn count_lines(&self, needle: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .lines
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Waits for a log line containing `needle` and returns the first.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let mut found = None;
        wait_until(&format!("a log line with {needle:?}"), || {
            found = self
                .log
                .lock()
                .unwrap()
                .lines
                .iter()
                .find(|l| l.contains(needle))
                .cloned();
            found.is_some()
        });
        found.unwrap()
    }

    /// Waits until `n` log lines contain `needle`.
    pub fn wait_for_lines(&self, needle: &str, n: usize) {
        wait_until(&format!("{n} log lines with {needle:?}"), || {
            self.count_lines(needle) >= n
        });
    }

    pub fn url(&self, path: &str) -> String {
        format!("rtmp://{}{}/{path}", self.login, self.addr)
    }

    /// A canary stream of numbered frames through this server.
    pub fn canary(&self) -> Canary {
        Canary::start_at(&self.url("canary"))
    }

    /// A fresh ffmpeg player gets what a fresh ffmpeg publisher sends.
    pub fn assert_ffmpeg_round_trip(&self) {
        let scratch = Scratch::new("roundtrip");
        let url = self.url(&format!("live/{}", unique("fresh")));
        let out = scratch.path("got.flv");
        let plays = self.count_lines("play start");
        let mut player = play(&url, &out);
        self.wait_for_lines("play start", plays + 1);
        let mut publisher = publish(&Sample::AudioVideo.path(), &url, &["-t", "1"]);
        assert!(publisher.wait().success(), "a fresh ffmpeg publisher failed");
        player.wait();
        let got = probe(&out);
        assert!(
            got.video().len() >= 20 && got.audio().len() >= 30,
            "a fresh ffmpeg player got {} video and {} audio packets",
            got.video().len(),
            got.audio().len()
        );
    }

    /// Everything a hardening test checks at its end: the process is alive,
    /// the canary lost nothing, ffmpeg still publishes and plays.
    pub fn assert_unharmed(&mut self, canary: Canary) {
        self.assert_alive();
        canary.finish();
        self.assert_ffmpeg_round_trip();
        self.assert_alive();
    }
}

/// Polls until `condition` holds or `limit` passes; false on time-out.
pub fn within(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit.min(WAIT);
    while !condition() {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}
