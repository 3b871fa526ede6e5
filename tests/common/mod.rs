//! Shared test helpers: a server on 127.0.0.1 port 0, sample files made by
//! ffmpeg's lavfi sources, real ffmpeg publishers and players, ffprobe.
//!
//! Every wait is bounded by [`WAIT`]; a missing client fails the test with
//! a message pointing at scripts/test.sh, it never skips.
#![allow(dead_code)] // each test binary uses its own part of the helpers

pub mod binary;
pub mod browser;
pub mod canary;
pub mod codecs;
pub mod http;
pub mod lossy_relay;
pub mod nginx;
pub mod rtmp;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustic_rtmp::RtmpSettings;
use rustic_rtmp::media::{Frame, FrameKind};
use rustic_rtmp::protocol::time::RtmpTime;
use rustic_rtmp::{Config, Server, ServerHandle, StreamStats};

/// The longest any one condition is waited for.
pub const WAIT: Duration = Duration::from_secs(30);
/// How long a player's read may stall before ffmpeg ends the input. It
/// makes players exit by themselves after the publisher is gone, and it
/// must outlast a republish gap.
const PLAYER_STALL_US: &str = "3000000";

pub fn start_server() -> ServerHandle {
    start_server_with(Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
        ..Config::default()
    })
}

/// Starts a server with `config`; one left at the default address (all
/// interfaces, port 1935) gets a free loopback port instead, so tests
/// never share a port or listen beyond loopback.
pub fn start_server_with(mut config: Config) -> ServerHandle {
    let _ = env_logger::builder().is_test(true).try_init();
    if config.rtmp.bind == Config::default().rtmp.bind {
        config.rtmp.bind = "127.0.0.1:0".parse().unwrap();
    }
    Server::start(config).expect("server starts on a free loopback port")
}

pub fn url(server: &ServerHandle, path: &str) -> String {
    format!("rtmp://{}/{path}", server.local_addr())
}

/// A stream name no other test uses.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A scratch directory for one test, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique(name));
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Video frame number `n` at `ms`: an AVC keyframe or inter frame whose
/// data starts with `n` (big-endian), padded to `size` bytes (at least 6).
pub fn numbered_frame(n: u32, keyframe: bool, ms: u32, size: usize) -> Frame {
    let mut payload = vec![if keyframe { 0x17 } else { 0x27 }, 1];
    payload.extend_from_slice(&n.to_be_bytes());
    payload.resize(size.max(payload.len()), n as u8);
    Frame {
        kind: FrameKind::Video,
        timestamp: RtmpTime(ms),
        payload,
    }
}

/// The number `numbered_frame` put in `frame`.
pub fn frame_number(frame: &Frame) -> u32 {
    u32::from_be_bytes(frame.payload[2..6].try_into().unwrap())
}

/// Polls `condition` until it holds; panics after [`WAIT`].
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out after {WAIT:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The stats of one stream, if it exists.
pub fn stream_stats(server: &ServerHandle, app: &str, name: &str) -> Option<StreamStats> {
    server
        .stats()
        .streams
        .into_iter()
        .find(|s| s.key.app == app && s.key.name == name)
}

/// What a sample file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// 4 s of 320x240 H.264 at 25 fps (keyframe every second) and AAC.
    AudioVideo,
    /// The same video at 160x120.
    SmallAudioVideo,
    /// 8 s of audio and video, for late joiners.
    LongAudioVideo,
    /// 4 s of AAC only.
    AudioOnly,
    /// 4 s of H.264 only.
    VideoOnly,
    /// 2 s of audio and video, for many publishes in a row.
    ShortAudioVideo,
}

impl Sample {
    fn args(self) -> Vec<String> {
        let (size, audio, seconds) = match self {
            Sample::AudioVideo => (Some("320x240"), true, "4"),
            Sample::SmallAudioVideo => (Some("160x120"), true, "4"),
            Sample::LongAudioVideo => (Some("320x240"), true, "8"),
            Sample::AudioOnly => (None, true, "4"),
            Sample::VideoOnly => (Some("320x240"), false, "4"),
            Sample::ShortAudioVideo => (Some("320x240"), true, "2"),
        };
        let mut args: Vec<String> = Vec::new();
        let mut add = |more: &[&str]| args.extend(more.iter().map(|a| a.to_string()));
        if let Some(size) = size {
            add(&["-f", "lavfi", "-i", &format!("testsrc=size={size}:rate=25")]);
        }
        if audio {
            add(&["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]);
        }
        if size.is_some() {
            add(&[
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-g",
                "25",
                "-pix_fmt",
                "yuv420p",
            ]);
        }
        if audio {
            add(&["-c:a", "aac", "-b:a", "64k"]);
        }
        add(&["-t", seconds]);
        args
    }

    /// The sample's path; made on first use and kept under target/ for
    /// later runs (written under a temporary name, then renamed, so a
    /// half-written sample is never used).
    pub fn path(self) -> PathBuf {
        static MAKING: Mutex<()> = Mutex::new(());
        let _one_at_a_time = MAKING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("samples");
        let path = dir.join(format!("{self:?}-v1.flv"));
        if path.exists() {
            return path;
        }
        fs::create_dir_all(&dir).unwrap();
        let partial = dir.join(format!("{self:?}-{}.partial.flv", std::process::id()));
        let mut cmd = ffmpeg();
        cmd.args(["-y", "-loglevel", "error"])
            .args(self.args())
            .args(["-f", "flv"])
            .arg(&partial);
        let out = run(&mut cmd);
        assert!(out.status.success(), "ffmpeg could not make {self:?}: {}", stderr(&out));
        fs::rename(&partial, &path).unwrap();
        path
    }
}

fn tool(name: &str) -> Command {
    let mut cmd = Command::new(name);
    cmd.stdin(Stdio::null());
    cmd
}

pub fn ffmpeg() -> Command {
    let mut cmd = tool("ffmpeg");
    cmd.args(["-nostdin", "-hide_banner"]);
    cmd
}

/// Runs to the end (bounded by [`WAIT`]) and returns the output.
pub fn run(cmd: &mut Command) -> Output {
    let child = spawn(cmd.stdout(Stdio::piped()).stderr(Stdio::piped()));
    child.wait_output()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A child process killed (by its PID) if the test ends before it does.
pub struct Proc(Option<Child>);

pub fn spawn(cmd: &mut Command) -> Proc {
    let program = cmd.get_program().to_string_lossy().into_owned();
    match cmd.spawn() {
        Ok(child) => Proc(Some(child)),
        Err(e) => panic!("cannot run {program} ({e}): scripts/test.sh installs the clients the tests need"),
    }
}

impl From<Child> for Proc {
    fn from(child: Child) -> Proc {
        Proc(Some(child))
    }
}

impl Proc {
    /// Waits up to [`WAIT`] for the process to exit.
    pub fn wait(&mut self) -> ExitStatus {
        let child = self.0.as_mut().expect("not waited yet");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "process {} still running after {WAIT:?}",
                child.id()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to [`WAIT`] and collects piped output.
    pub fn wait_output(mut self) -> Output {
        // Read pipes on threads so a chatty child cannot block on them.
        let child = self.0.as_mut().unwrap();
        let mut out = child.stdout.take();
        let mut err = child.stderr.take();
        let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut buf);
                }
                buf
            })
        };
        let stdout = read(out.take().map(|p| Box::new(p) as _));
        let stderr = read(err.take().map(|p| Box::new(p) as _));
        let status = self.wait();
        Output {
            status,
            stdout: stdout.join().unwrap(),
            stderr: stderr.join().unwrap(),
        }
    }

    /// The process id, for signals.
    pub fn id(&self) -> u32 {
        self.0.as_ref().unwrap().id()
    }

    /// The piped stderr, to read while the process runs.
    pub fn take_stderr(&mut self) -> std::process::ChildStderr {
        self.0.as_mut().unwrap().stderr.take().expect("stderr was piped")
    }

    /// The child, for its pipes.
    pub fn child_mut(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.0.as_mut().unwrap().try_wait().unwrap().is_none()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut()
            && child.try_wait().ok().flatten().is_none()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Publishes `file` in real time with `-c copy`, plus `extra` output args.
pub fn publish(file: &Path, url: &str, extra: &[&str]) -> Proc {
    spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re", "-i"])
            .arg(file)
            .args(["-c", "copy"])
            .args(extra)
            .args(["-f", "flv", url])
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
}

/// Plays `url` into an FLV file; ffmpeg exits by itself a few seconds
/// after the stream stalls.
pub fn play(url: &str, out: &Path) -> Proc {
    play_with(url, out, &[])
}

/// `play` with extra output options (`-copyts` keeps the timestamps).
pub fn play_with(url: &str, out: &Path, extra: &[&str]) -> Proc {
    spawn(
        ffmpeg()
            .args([
                "-loglevel",
                "error",
                "-y",
                "-rw_timeout",
                PLAYER_STALL_US,
                "-i",
                url,
                "-c",
                "copy",
            ])
            .args(extra)
            .args(["-f", "flv"])
            .arg(out)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
}

/// Waits until the server lists `n` players on the stream.
pub fn wait_for_players(server: &ServerHandle, app: &str, name: &str, n: usize) {
    wait_until(&format!("{n} players on {app}/{name}"), || {
        stream_stats(server, app, name).is_some_and(|s| s.players == n)
    });
}

/// One packet as ffprobe reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    pub video: bool,
    pub audio: bool,
    pub dts: i64,
    pub key: bool,
}

/// What ffprobe finds in a file.
#[derive(Debug, Default)]
pub struct Probe {
    pub packets: Vec<Packet>,
    /// (codec_type, codec_name, width, height) per stream.
    pub streams: Vec<(String, String, Option<u32>, Option<u32>)>,
}

impl Probe {
    pub fn video(&self) -> Vec<&Packet> {
        self.packets.iter().filter(|p| p.video).collect()
    }

    pub fn audio(&self) -> Vec<&Packet> {
        self.packets.iter().filter(|p| p.audio).collect()
    }

    pub fn video_size(&self) -> Option<(u32, u32)> {
        self.streams
            .iter()
            .find(|s| s.0 == "video")
            .and_then(|s| Some((s.2?, s.3?)))
    }

    pub fn codecs(&self) -> Vec<String> {
        let mut codecs: Vec<String> = self.streams.iter().map(|s| s.1.clone()).collect();
        codecs.sort();
        codecs
    }

    /// Panics unless each stream's DTS never decreases.
    pub fn assert_monotonic(&self) {
        for (kind, packets) in [("video", self.video()), ("audio", self.audio())] {
            let dts: Vec<i64> = packets.iter().map(|p| p.dts).collect();
            assert!(
                dts.windows(2).all(|w| w[0] <= w[1]),
                "{kind} dts went backwards: {dts:?}"
            );
        }
    }
}

pub fn probe(file: &Path) -> Probe {
    let mut cmd = tool("ffprobe");
    cmd.args([
        "-v",
        "error",
        "-show_entries",
        "stream=index,codec_type,codec_name,width,height",
        "-of",
        "csv=p=0",
    ]);
    let out = run(cmd.arg(file));
    assert!(out.status.success(), "ffprobe {file:?}: {}", stderr(&out));
    let mut probe = Probe::default();
    let mut seen = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // csv columns follow ffprobe's own order: index, codec_name,
        // codec_type, width, height. A transport stream lists its streams
        // twice (in its program, then alone): the index tells.
        let Some((index, rest)) = line.split_once(',') else {
            continue;
        };
        if seen.contains(&index.to_owned()) {
            continue;
        }
        seen.push(index.to_owned());
        let f: Vec<&str> = rest.split(',').collect();
        probe.streams.push((
            f.get(1).unwrap_or(&"").to_string(),
            f.first().unwrap_or(&"").to_string(),
            f.get(2).and_then(|w| w.parse().ok()),
            f.get(3).and_then(|h| h.parse().ok()),
        ));
    }
    let mut cmd = tool("ffprobe");
    cmd.args([
        "-v",
        "error",
        "-show_entries",
        "packet=codec_type,dts,flags",
        "-of",
        "csv=p=0",
    ]);
    let out = run(cmd.arg(file));
    assert!(out.status.success(), "ffprobe {file:?}: {}", stderr(&out));
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 3 {
            continue;
        }
        probe.packets.push(Packet {
            video: f[0] == "video",
            audio: f[0] == "audio",
            dts: f[1].parse().unwrap_or(i64::MIN),
            key: f[2].starts_with('K'),
        });
    }
    probe
}

/// Asserts that `got` is at least `percent`% of `sent`.
pub fn assert_near(what: &str, got: usize, sent: usize, percent: usize) {
    assert!(
        got * 100 >= sent * percent,
        "{what}: got {got} of {sent} (< {percent}%)"
    );
    assert!(got <= sent + sent / 10, "{what}: got {got}, more than the {sent} sent");
}
