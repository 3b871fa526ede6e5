//! `rtmp-load`: opens many players on one stream and reports what they
//! receive. Used by `scripts/bench.sh`; works against any RTMP server.
//!
//! Players are spread over a few threads; each thread wakes every
//! `--read-interval-ms` and reads everything its players have ready
//! without blocking, as a buffering player does. It prints one line of
//! `key=value` fields.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use argh::FromArgs;
use rustic_rtmp::client::{Client, ClientOptions, Player};
use rustic_rtmp::media::Frame;

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
}

/// One player's numbers.
#[derive(Default, Clone)]
struct Tally {
    bytes: u64,
    frames: u64,
    /// From `play` to the first video keyframe.
    first_keyframe: Option<Duration>,
    failed: bool,
}

struct Slot {
    player: Player,
    started: Instant,
    tally: Tally,
    /// Bytes read inside the measuring window.
    measured_bytes: u64,
}

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    let options = ClientOptions::default();
    let threads = args.threads.max(1);
    // Reader threads run from the start, so a player's first keyframe is
    // seen within one read interval of its arrival, ramp or not.
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
                    for slot in slots.iter_mut().filter(|s| !s.tally.failed) {
                        frames.clear();
                        match slot.player.poll(&mut frames) {
                            Ok(n) => {
                                slot.tally.bytes += n as u64;
                                if measuring.load(Ordering::Relaxed) {
                                    slot.measured_bytes += n as u64;
                                }
                            }
                            Err(_) => slot.tally.failed = true,
                        }
                        slot.tally.frames += frames.len() as u64;
                        if slot.tally.first_keyframe.is_none() && frames.iter().any(Frame::is_keyframe) {
                            slot.tally.first_keyframe = Some(slot.started.elapsed());
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

    let mut failed = 0usize;
    let ramp_gap = Duration::from_secs_f64(1.0 / args.ramp_per_sec.max(1) as f64);
    let ramp_start = Instant::now();
    for i in 0..args.players {
        let started = Instant::now();
        match Client::play(&args.url, &options).and_then(|p| p.set_nonblocking(true).map(|()| p)) {
            Ok(player) => {
                let slot = Slot {
                    player,
                    started,
                    tally: Tally::default(),
                    measured_bytes: 0,
                };
                feeds[i % threads].send(slot).expect("reader thread alive");
            }
            Err(e) => {
                failed += 1;
                if failed <= 3 {
                    eprintln!("player {i}: {e}");
                }
            }
        }
        let due = ramp_start + ramp_gap * (i as u32 + 1);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }

    // Every player is open: let the first batches drain what queued during
    // the ramp, then measure for `seconds`.
    std::thread::sleep(interval * 3);
    measuring.store(true, Ordering::Relaxed);
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(args.seconds));
    measuring.store(false, Ordering::Relaxed);
    let measured_for = window.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    drop(feeds);
    let slots: Vec<Slot> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("reader thread"))
        .collect();

    let established = slots.iter().filter(|s| !s.tally.failed).count();
    let total_bytes: u64 = slots.iter().map(|s| s.tally.bytes).sum();
    let measured: u64 = slots.iter().map(|s| s.measured_bytes).sum();
    let mut kbps: Vec<f64> = slots
        .iter()
        .map(|s| s.measured_bytes as f64 * 8.0 / 1000.0 / measured_for)
        .collect();
    kbps.sort_by(|a, b| a.total_cmp(b));
    let mut ttff: Vec<f64> = slots
        .iter()
        .filter_map(|s| s.tally.first_keyframe)
        .map(|d| d.as_secs_f64() * 1000.0)
        .collect();
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
        "players={} established={} failed={} read_interval_ms={} total_bytes={} measured_mb_per_s={:.2} \
         min_share={:.3} median_share={:.3} ttff_p50_ms={:.1} ttff_max_ms={:.1}",
        args.players,
        established,
        failed + (slots.len() - established),
        args.read_interval_ms,
        total_bytes,
        measured as f64 / 1e6 / measured_for,
        share(pick(&kbps, 0.0)),
        share(pick(&kbps, 0.5)),
        pick(&ttff, 0.5),
        pick(&ttff, 1.0),
    );
    if established == args.players {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
