//! `rtmp-load`: opens many players on one stream and reports what they
//! receive. Used by `scripts/bench.sh`; works against any RTMP server.
//!
//! Players are spread over a few threads; each thread wakes every
//! `--read-interval-ms` and reads everything its players have ready
//! without blocking, as a buffering player does. Beside them, while the
//! measuring window runs:
//! - two latency players, one joined before the others and one after
//!   (first and last in the order they joined: rustic_rtmp serves players
//!   in that order, nginx-rtmp newest first), read as soon as bytes arrive
//!   and time each audio and video frame's arrival against when `rtmp-tap`
//!   saw the publisher's message go to the server (`--stamps`);
//! - probe players join one at a time and time `play` until their first
//!   video keyframe;
//! - with `--server-pid`, the server's CPU time (user + system, all
//!   threads) is read from /proc at the window's start and end, and so is
//!   this tool's own, to show it costs less than what it measures;
//! - with `--stamps`, each player's audio and video messages and payload
//!   bytes are counted per second of their timestamps, against what the
//!   publisher sent in the same seconds: the player that got the fewest
//!   shows any loss, which a count of bytes read (chunk headers included)
//!   would hide.
//!
//! An `http://HOST:PORT/APP/NAME.flv` URL makes every player (probes
//! included) an HTTP-FLV player instead; an `rtmps://` URL an RTMPS
//! player, accepting any certificate (the bench's is self-signed). Each
//! RTMPS player has a TLS pump thread in this process.
//!
//! An `http://HOST:PORT/APP/NAME/index.m3u8` URL makes every player an
//! HLS viewer (see `hls`) on a thread of its own; the run then reports the
//! bytes, requests and server CPU of the window, without the latency,
//! probe and per-second figures.
//!
//! It raises its own open-file limit to the hard limit, one descriptor a
//! player. It prints one line of `key=value` fields.

mod hls;
mod http;
mod http_flv;

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use argh::FromArgs;
use http_flv::HttpFlvPlayer;
use rustic_rtmp::client::{Client, ClientOptions, Player};
use rustic_rtmp::media::{Frame, FrameKind};
use rustic_rtmp::protocol::message::type_id;

/// Open N players on an RTMP stream and measure what arrives.
#[derive(FromArgs)]
struct Args {
    /// rtmp://host:port/app/stream to play
    #[argh(option)]
    url: String,
    /// how many players
    #[argh(option, default = "1")]
    players: usize,
    /// players opened per second while ramping up
    #[argh(option, default = "500")]
    ramp_per_sec: u32,
    /// seconds to measure once every player is open
    #[argh(option, default = "10")]
    seconds: u64,
    /// how often each player's socket is read, in milliseconds
    #[argh(option, default = "100")]
    read_interval_ms: u64,
    /// reader threads
    #[argh(option, default = "2")]
    threads: usize,
    /// the published bitrate in kbit/s, to report each player's share of it
    #[argh(option, default = "0")]
    published_kbps: u64,
    /// players that join during the window to time their first keyframe
    #[argh(option, default = "5")]
    probes: usize,
    /// the server's process id, to read its CPU time over the window
    #[argh(option)]
    server_pid: Option<u32>,
    /// rtmp-tap's log of when each published message reached the server,
    /// to time publish-to-player latency
    #[argh(option)]
    stamps: Option<String>,
}

/// Threads opening players during the ramp.
const OPENERS: usize = 32;

/// Players that may fail to open before the ramp stops: a server that
/// stopped answering would otherwise hold each opener for the client
/// timeout, player after player, and the run would never reach its window.
const GIVE_UP_AFTER: usize = 2 * OPENERS;

/// A player of the protocol its URL names.
enum Source {
    Rtmp(Box<Player>),
    Http(HttpFlvPlayer),
}

impl Source {
    fn open(url: &str, options: &ClientOptions) -> Result<Source, String> {
        if url.starts_with("http://") {
            HttpFlvPlayer::open(url, options.timeout).map(Source::Http)
        } else {
            Client::play(url, options)
                .map(|p| Source::Rtmp(Box::new(p)))
                .map_err(|e| e.to_string())
        }
    }

    /// Opens a player that reads without blocking, for `poll`.
    fn open_nonblocking(url: &str, options: &ClientOptions) -> Result<Source, String> {
        let source = Source::open(url, options)?;
        match &source {
            Source::Rtmp(p) => p.set_nonblocking(true).map_err(|e| e.to_string())?,
            Source::Http(p) => p.set_nonblocking(true).map_err(|e| e.to_string())?,
        }
        Ok(source)
    }

    /// Reads what has arrived; the bytes read.
    fn poll(&mut self, frames: &mut Vec<Frame>) -> Result<usize, String> {
        match self {
            Source::Rtmp(p) => p.poll(frames).map_err(|e| e.to_string()),
            Source::Http(p) => p.poll(frames).map_err(|e| e.to_string()),
        }
    }

    /// The next frame, waiting for it; `None` at the end of the stream.
    fn recv(&mut self) -> Result<Option<Frame>, String> {
        match self {
            Source::Rtmp(p) => p.recv().map_err(|e| e.to_string()),
            Source::Http(p) => match p.recv() {
                Ok(frame) => Ok(Some(frame)),
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
                Err(e) => Err(e.to_string()),
            },
        }
    }
}

/// One batch-reading player and its counts.
struct Slot {
    player: Source,
    bytes: u64,
    /// Bytes read inside the measuring window.
    measured_bytes: u64,
    /// Audio, video and data messages read inside the measuring window.
    measured_messages: u64,
    /// Audio and video received, by second of their timestamps.
    media: Tallies,
    failed: bool,
}

/// Audio and video messages and their payload bytes, by second of their
/// timestamps.
type Tallies = HashMap<u32, Tally>;

#[derive(Default, Clone, Copy)]
struct Tally {
    messages: u64,
    bytes: u64,
}

impl Tally {
    fn add(&mut self, bytes: usize) {
        self.messages += 1;
        self.bytes += bytes as u64;
    }

    fn sum<'a>(tallies: impl Iterator<Item = &'a Tally>) -> Tally {
        tallies.fold(Tally::default(), |a, t| Tally {
            messages: a.messages + t.messages,
            bytes: a.bytes + t.bytes,
        })
    }
}

/// A line of rtmp-tap's log: when a published message reached the server.
struct Stamp {
    type_id: u8,
    timestamp: u32,
    unix_micros: u128,
    len: u64,
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        eprintln!("cannot raise the open-file limit: {e}");
    }
    let options = ClientOptions {
        tls_insecure: true,
        ..ClientOptions::default()
    };
    if args.url.ends_with(".m3u8") {
        return hls_run(&args);
    }
    let threads = args.threads.max(1);
    // Reader threads run from the start, so players opened early in the
    // ramp are read as a buffering player would read them.
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let interval = Duration::from_millis(args.read_interval_ms);
    let (feeds, workers): (Vec<_>, Vec<_>) = (0..threads)
        .map(|_| {
            let (feed, new_players) = crossbeam_channel::unbounded::<Slot>();
            let (measuring, stop) = (measuring.clone(), stop.clone());
            let worker = std::thread::spawn(move || {
                let mut slots: Vec<Slot> = Vec::new();
                let mut frames = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    slots.extend(new_players.try_iter());
                    for slot in slots.iter_mut().filter(|s| !s.failed) {
                        frames.clear();
                        match slot.player.poll(&mut frames) {
                            Ok(n) => {
                                slot.bytes += n as u64;
                                if measuring.load(Ordering::Relaxed) {
                                    slot.measured_bytes += n as u64;
                                    slot.measured_messages += frames.len() as u64;
                                }
                                for frame in frames.iter().filter(|f| f.kind != FrameKind::Metadata) {
                                    let second = frame.timestamp.0 / 1000;
                                    slot.media.entry(second).or_default().add(frame.payload.len());
                                }
                            }
                            Err(_) => slot.failed = true,
                        }
                    }
                    if let Some(rest) = interval.checked_sub(now.elapsed()) {
                        std::thread::sleep(rest);
                    }
                }
                slots
            });
            (feed, worker)
        })
        .unzip();

    let spawn_latency_player = || {
        let (url, options, measuring, stop) = (args.url.clone(), options.clone(), measuring.clone(), stop.clone());
        std::thread::spawn(move || time_arrivals(&url, &options, &measuring, &stop))
    };
    let latency_first = spawn_latency_player();
    // Openers work in parallel so that a server slow to answer `play`
    // (nginx-rtmp's replies wait on the client's delayed ACK, ~90 ms a
    // player here) does not stretch the ramp; each keeps to its share of
    // the rate.
    let ramp_gap = Duration::from_secs_f64(1.0 / args.ramp_per_sec.max(1) as f64);
    let ramp_start = Instant::now();
    let failed = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for k in 0..OPENERS {
            let (feeds, options, url, failed) = (&feeds, &options, &args.url, &failed);
            scope.spawn(move || {
                for i in (k..args.players).step_by(OPENERS) {
                    if failed.load(Ordering::Relaxed) >= GIVE_UP_AFTER {
                        return;
                    }
                    let due = ramp_start + ramp_gap * i as u32;
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    match Source::open_nonblocking(url, options) {
                        Ok(player) => {
                            let slot = Slot {
                                player,
                                bytes: 0,
                                measured_bytes: 0,
                                measured_messages: 0,
                                media: Tallies::new(),
                                failed: false,
                            };
                            feeds[i % threads].send(slot).expect("reader thread alive");
                        }
                        Err(e) => {
                            let failed = failed.fetch_add(1, Ordering::Relaxed) + 1;
                            if failed <= 3 {
                                eprintln!("player {i}: {e}");
                            }
                            if failed == GIVE_UP_AFTER {
                                eprintln!("{failed} players failed to open: no more are opened");
                            }
                        }
                    }
                }
            });
        }
    });

    let latency_last = spawn_latency_player();
    // Every player is open: let the first batches drain what queued during
    // the ramp, then measure for `seconds`.
    std::thread::sleep(interval * 3);
    let cpu_before = args.server_pid.map(cpu_seconds);
    let own_cpu_before = cpu_seconds(std::process::id());
    measuring.store(true, Ordering::Relaxed);
    let window = Instant::now();
    let window_start = unix_micros();
    let window_len = Duration::from_secs(args.seconds);
    let mut ttff = Vec::new();
    for i in 0..args.probes {
        // Spread over the window's first half; each probe is bounded by
        // the client timeout.
        let due = window + window_len / 2 * i as u32 / args.probes as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        match time_first_keyframe(&args.url, &options) {
            Ok(t) => ttff.push(t.as_secs_f64() * 1000.0),
            Err(e) => eprintln!("probe {i}: {e}"),
        }
    }
    if let Some(rest) = (window + window_len).checked_duration_since(Instant::now()) {
        std::thread::sleep(rest);
    }
    measuring.store(false, Ordering::Relaxed);
    let window_end = unix_micros();
    let measured_for = window.elapsed().as_secs_f64();
    let server_cpu = cpu_before.zip(args.server_pid.map(cpu_seconds)).map(|(a, b)| b - a);
    let own_cpu = cpu_seconds(std::process::id()) - own_cpu_before;
    stop.store(true, Ordering::Relaxed);
    let stamps = args.stamps.as_deref().map(read_stamps).unwrap_or_default();
    let latency = |player: std::thread::JoinHandle<Vec<Arrival>>| {
        let arrivals = player.join().expect("latency thread");
        let mut latency = latencies(&arrivals, &stamps);
        latency.sort_by(|a, b| a.total_cmp(b));
        latency
    };
    let (latency_first, latency_last) = (latency(latency_first), latency(latency_last));
    drop(feeds);
    let slots: Vec<Slot> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("reader thread"))
        .collect();

    let established = slots.iter().filter(|s| !s.failed).count();
    // Seconds published inside the window, less the last one: its frames
    // may still have been on their way when the readers stopped.
    let published = published_in(&stamps, window_start, window_end - 1_000_000);
    let (message_share, payload_share) = fewest(&slots, &published);
    let total_bytes: u64 = slots.iter().map(|s| s.bytes).sum();
    let measured: u64 = slots.iter().map(|s| s.measured_bytes).sum();
    let mut messages: Vec<u64> = slots.iter().map(|s| s.measured_messages).collect();
    messages.sort_unstable();
    let mut kbps: Vec<f64> = slots
        .iter()
        .map(|s| s.measured_bytes as f64 * 8.0 / 1000.0 / measured_for)
        .collect();
    kbps.sort_by(|a, b| a.total_cmp(b));
    ttff.sort_by(|a, b| a.total_cmp(b));
    let pick = |v: &[f64], q: f64| {
        v.get(((v.len() as f64 - 1.0) * q).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let share = |k: f64| {
        if args.published_kbps > 0 {
            k / args.published_kbps as f64
        } else {
            f64::NAN
        }
    };
    println!(
        "players={} established={} failed={} read_interval_ms={} total_bytes={} measured_bytes={} \
         min_messages={} measured_mb_per_s={:.2} server_cpu_s={:.2} load_cpu_s={:.2} min_share={:.3} median_share={:.3} ttff_p50_ms={:.1} \
         ttff_max_ms={:.1} latency_frames={} latency_p50_ms={:.2} latency_p99_ms={:.2} \
         latency_first_p50_ms={:.2} latency_first_p99_ms={:.2} compared_seconds={} \
         min_message_share={:.4} min_payload_share={:.4}",
        args.players,
        established,
        args.players - established,
        args.read_interval_ms,
        total_bytes,
        measured,
        messages.first().copied().unwrap_or(0),
        measured as f64 / 1e6 / measured_for,
        server_cpu.unwrap_or(f64::NAN),
        own_cpu,
        share(pick(&kbps, 0.0)),
        share(pick(&kbps, 0.5)),
        pick(&ttff, 0.5),
        pick(&ttff, 1.0),
        latency_last.len(),
        pick(&latency_last, 0.5),
        pick(&latency_last, 0.99),
        pick(&latency_first, 0.5),
        pick(&latency_first, 0.99),
        published.len(),
        message_share,
        payload_share,
    );
    if established == args.players {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// From calling `play` to the first video keyframe, for one new player.
fn time_first_keyframe(url: &str, options: &ClientOptions) -> Result<Duration, String> {
    let started = Instant::now();
    let mut player = Source::open(url, options)?;
    while started.elapsed() < options.timeout {
        match player.recv()? {
            Some(frame) if frame.is_keyframe() => return Ok(started.elapsed()),
            Some(_) => {}
            None => return Err("the stream ended".into()),
        }
    }
    Err(format!("no keyframe within {:?}", options.timeout))
}

/// One frame's arrival: its RTMP message type, timestamp, and when it
/// was read, in microseconds since the Unix epoch.
type Arrival = (u8, u32, u128);

/// Plays with blocking reads until `stop`, noting each audio and video
/// frame that arrives while `measuring`.
fn time_arrivals(url: &str, options: &ClientOptions, measuring: &AtomicBool, stop: &AtomicBool) -> Vec<Arrival> {
    let mut player = match Source::open(url, options) {
        Ok(player) => player,
        Err(e) => {
            eprintln!("latency player: {e}");
            return Vec::new();
        }
    };
    let mut arrivals = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let frame = match player.recv() {
            Ok(Some(frame)) => frame,
            Ok(None) | Err(_) => break,
        };
        let type_id = match frame.kind {
            FrameKind::Audio => type_id::AUDIO,
            FrameKind::Video => type_id::VIDEO,
            FrameKind::Metadata => continue,
        };
        if measuring.load(Ordering::Relaxed) {
            arrivals.push((type_id, frame.timestamp.0, unix_micros()));
        }
    }
    arrivals
}

/// rtmp-tap's log at `path`; lines it cannot read are left out.
fn read_stamps(path: &str) -> Vec<Stamp> {
    let log = match std::fs::read_to_string(path) {
        Ok(log) => log,
        Err(e) => {
            eprintln!("{path}: {e}");
            return Vec::new();
        }
    };
    log.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ').map(str::parse::<u128>);
            match (fields.next(), fields.next(), fields.next(), fields.next()) {
                (Some(Ok(t)), Some(Ok(ts)), Some(Ok(at)), Some(Ok(len))) => Some(Stamp {
                    type_id: t as u8,
                    timestamp: ts as u32,
                    unix_micros: at,
                    len: len as u64,
                }),
                _ => None,
            }
        })
        .collect()
}

/// Each arrival's latency in ms after the message reached the server;
/// arrivals the log lacks are left out.
fn latencies(arrivals: &[Arrival], stamps: &[Stamp]) -> Vec<f64> {
    let sent: HashMap<(u8, u32), u128> = stamps
        .iter()
        .map(|s| ((s.type_id, s.timestamp), s.unix_micros))
        .collect();
    arrivals
        .iter()
        .filter_map(|(t, ts, at)| sent.get(&(*t, *ts)).map(|s| at.saturating_sub(*s) as f64 / 1000.0))
        .collect()
}

/// What was published in each second of timestamps whose every message
/// reached the server between `from` and `to` (Unix microseconds).
fn published_in(stamps: &[Stamp], from: u128, to: u128) -> Tallies {
    let mut tallies = Tallies::new();
    let mut outside = std::collections::HashSet::new();
    for stamp in stamps {
        let second = stamp.timestamp / 1000;
        if (from..=to).contains(&stamp.unix_micros) {
            tallies.entry(second).or_default().add(stamp.len as usize);
        } else {
            outside.insert(second);
        }
    }
    tallies.retain(|second, _| !outside.contains(second));
    tallies
}

/// The smallest share of the published messages, and of the published
/// payload bytes, that any established player received in the seconds of
/// `published`; NaN without any.
fn fewest(slots: &[Slot], published: &Tallies) -> (f64, f64) {
    let sent = Tally::sum(published.values());
    if sent.messages == 0 {
        return (f64::NAN, f64::NAN);
    }
    slots
        .iter()
        .filter(|s| !s.failed)
        .map(|slot| {
            let got = Tally::sum(published.keys().filter_map(|second| slot.media.get(second)));
            (
                got.messages as f64 / sent.messages as f64,
                got.bytes as f64 / sent.bytes as f64,
            )
        })
        .fold((f64::INFINITY, f64::INFINITY), |(m, b), (gm, gb)| {
            (m.min(gm), b.min(gb))
        })
}

fn unix_micros() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}

/// The HLS run: `players` viewers opened at the ramp's rate, a second
/// to settle, then the window.
fn hls_run(args: &Args) -> ExitCode {
    let stream = match hls::Stream::parse(&args.url) {
        Ok(stream) => stream,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let counts = Arc::new(hls::Counts::default());
    let stop = Arc::new(AtomicBool::new(false));
    let ramp_gap = Duration::from_secs_f64(1.0 / args.ramp_per_sec.max(1) as f64);
    let viewers: Vec<_> = (0..args.players)
        .filter_map(|_| {
            std::thread::sleep(ramp_gap);
            let (stream, counts, stop) = (stream.clone(), counts.clone(), stop.clone());
            let viewer = std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || hls::view(&stream, &counts, &stop));
            viewer.map_err(|e| eprintln!("cannot start a viewer: {e}")).ok()
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let (bytes_before, requests_before) = (
        counts.bytes.load(Ordering::Relaxed),
        counts.requests.load(Ordering::Relaxed),
    );
    let cpu_before = args.server_pid.map(cpu_seconds);
    let own_cpu_before = cpu_seconds(std::process::id());
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(args.seconds));
    let measured_for = window.elapsed().as_secs_f64();
    let server_cpu = cpu_before.zip(args.server_pid.map(cpu_seconds)).map(|(a, b)| b - a);
    let own_cpu = cpu_seconds(std::process::id()) - own_cpu_before;
    let measured = counts.bytes.load(Ordering::Relaxed) - bytes_before;
    let requests = counts.requests.load(Ordering::Relaxed) - requests_before;
    let failed_in_window = counts.failed.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    for viewer in viewers {
        let _ = viewer.join();
    }
    println!(
        "players={} established={} failed={} measured_bytes={measured} measured_mb_per_s={:.2} requests={requests} \
         server_cpu_s={:.2} load_cpu_s={:.2}",
        args.players,
        args.players as u64 - failed_in_window.min(args.players as u64),
        failed_in_window,
        measured as f64 / measured_for / 1e6,
        server_cpu.unwrap_or(f64::NAN),
        own_cpu,
    );
    ExitCode::SUCCESS
}

/// A process's CPU time so far (user + system, all threads), from
/// /proc/PID/stat; NaN when it cannot be read.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the command name, which is in parentheses and may hold
    // spaces: state is field 3, utime 14 and stime 15.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i - 3).and_then(|f| f.parse::<f64>().ok());
    match (ticks(14), ticks(15)) {
        // The kernel reports ticks of USER_HZ, 100 on Linux.
        (Some(user), Some(system)) => (user + system) / 100.0,
        _ => f64::NAN,
    }
}
