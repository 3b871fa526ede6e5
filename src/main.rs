//! The `rustic_rtmp` command: flags, logging and signals around the library.

use std::net::{IpAddr, SocketAddr};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use argh::FromArgs;
use log::{error, warn};
use rustic_rtmp::{Access, Cidr, Config, Server};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// A live-streaming RTMP server: publish with ffmpeg or OBS to
/// rtmp://HOST:PORT/APP/NAME and play the same URL with ffplay or VLC.
#[derive(FromArgs)]
struct Args {
    /// TCP port to listen on (default 1935)
    #[argh(option, default = "1935")]
    port: u16,
    /// address to listen on, IPv4 or IPv6 (default 0.0.0.0)
    #[argh(option, default = "String::from(\"0.0.0.0\")")]
    bind: String,
    /// outgoing chunk size in bytes (default 4096)
    #[argh(option, default = "4096")]
    chunk_size: u32,
    /// do not keep the last GOP for joining players
    #[argh(switch)]
    no_gop_cache: bool,
    /// gather frames for this many ms and write them to each player at
    /// once: less CPU, that much more latency (default 0)
    #[argh(option, default = "0")]
    merge_write_ms: u64,
    /// send players each frame at once, even while their last one is
    /// unacknowledged (TCP_NODELAY): less latency over long links, more CPU
    #[argh(switch)]
    nodelay: bool,
    /// most open connections; more are closed at once (default 10000)
    #[argh(option, default = "10_000")]
    max_connections: usize,
    /// most open connections from one address (default 0: no limit)
    #[argh(option, default = "0")]
    max_connections_per_ip: usize,
    /// megabytes (MiB) of unfinished messages all connections may hold; the
    /// connection that would pass it is closed (default 512)
    #[argh(option, default = "512")]
    max_buffered_mb: usize,
    /// publishing needs ?key=SECRET on the stream name (visible to other
    /// users in the process list: prefer --publish-key-file or
    /// RUSTIC_RTMP_PUBLISH_KEY)
    #[argh(option)]
    publish_key: Option<String>,
    /// file whose first line is the publish key
    #[argh(option)]
    publish_key_file: Option<PathBuf>,
    /// file of stream names (or app/name) that may publish, one a line;
    /// read again when it changes
    #[argh(option)]
    publish_keys_file: Option<PathBuf>,
    /// playing needs ?key=SECRET on the stream name (prefer
    /// --play-key-file or RUSTIC_RTMP_PLAY_KEY)
    #[argh(option)]
    play_key: Option<String>,
    /// file whose first line is the play key
    #[argh(option)]
    play_key_file: Option<PathBuf>,
    /// only this network may publish (repeatable; IPv4 or IPv6 CIDR)
    #[argh(option)]
    allow_publish: Vec<String>,
    /// this network may not publish (repeatable)
    #[argh(option)]
    deny_publish: Vec<String>,
    /// only this network may play (repeatable)
    #[argh(option)]
    allow_play: Vec<String>,
    /// this network may not play (repeatable)
    #[argh(option)]
    deny_play: Vec<String>,
    /// file of user:password lines: encoders must log in with
    /// authmod=adobe (OBS "Use authentication", rtmp://user:pass@ in ffmpeg)
    #[argh(option)]
    users: Option<PathBuf>,
    /// log debug messages (RUST_LOG overrides)
    #[argh(switch, short = 'v')]
    verbose: bool,
}

fn main() -> ExitCode {
    restart_without_malloc_thread_caches();
    let args: Args = argh::from_env();
    let level = if args.verbose { "debug" } else { "info" };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).init();

    let ip: IpAddr = match args.bind.trim_start_matches('[').trim_end_matches(']').parse() {
        Ok(ip) => ip,
        Err(e) => {
            error!("--bind {:?} is not an IP address: {e}", args.bind);
            return ExitCode::from(2);
        }
    };
    let networks = |flag: &str, values: &[String]| -> Result<Vec<Cidr>, String> {
        values
            .iter()
            .map(|v| v.parse().map_err(|e| format!("--{flag}: {e}")))
            .collect()
    };
    let access = (|| {
        Ok::<_, String>(Access {
            publish_key: secret(
                "publish-key",
                &args.publish_key,
                &args.publish_key_file,
                "RUSTIC_RTMP_PUBLISH_KEY",
            )?,
            publish_keys_file: args.publish_keys_file.clone(),
            play_key: secret("play-key", &args.play_key, &args.play_key_file, "RUSTIC_RTMP_PLAY_KEY")?,
            allow_publish: networks("allow-publish", &args.allow_publish)?,
            deny_publish: networks("deny-publish", &args.deny_publish)?,
            allow_play: networks("allow-play", &args.allow_play)?,
            deny_play: networks("deny-play", &args.deny_play)?,
            users: match &args.users {
                Some(path) => read_users(path)?,
                None => Vec::new(),
            },
        })
    })();
    let access = match access {
        Ok(access) => access,
        Err(e) => {
            error!("{e}");
            return ExitCode::from(2);
        }
    };
    if args.chunk_size == 0 || args.chunk_size > 0x7FFF_FFFF {
        error!("--chunk-size {} is outside 1..=2147483647", args.chunk_size);
        return ExitCode::from(2);
    }
    let config = Config {
        bind: SocketAddr::new(ip, args.port),
        chunk_size: args.chunk_size,
        gop_cache: !args.no_gop_cache,
        max_connections: args.max_connections,
        max_connections_per_ip: args.max_connections_per_ip,
        max_total_buffered_bytes: args.max_buffered_mb.saturating_mul(1024 * 1024),
        merge_write: std::time::Duration::from_millis(args.merge_write_ms),
        player_nodelay: args.nodelay,
        access,
        ..Config::default()
    };
    // Signals are registered before the server starts so none is missed.
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(e) => {
            error!("cannot handle signals: {e}");
            return ExitCode::FAILURE;
        }
    };
    raise_open_file_limit(config.max_connections);
    let mut server = match Server::start(config) {
        Ok(server) => server,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    if let Some(signal) = signals.forever().next() {
        log::info!("signal {signal}: shutting down");
    }
    server.shutdown();
    ExitCode::SUCCESS
}

/// Descriptors the server needs besides one per connection: the listener,
/// stdio, files it reads, the signal pipe, with room.
const SPARE_FILES: u64 = 64;

/// Raises the soft limit on open files to the hard limit (the usual soft
/// limit of 1024 would cap the server near 1000 connections whatever
/// --max-connections says), and warns when even that cannot hold
/// `max_connections`: each takes one descriptor.
fn raise_open_file_limit(max_connections: usize) {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            warn!("cannot raise the open-file limit: {e}");
            return;
        }
    };
    let fits = limit.saturating_sub(SPARE_FILES);
    if fits < max_connections as u64 {
        warn!(
            "the open-file limit of {limit} fits about {fits} connections, fewer than --max-connections {max_connections}; raise it (ulimit -Hn) to serve them all"
        );
    }
}

/// A secret from its flag, its file (first line) or its environment
/// variable, in that order; more than one is an error.
fn secret(flag: &str, value: &Option<String>, file: &Option<PathBuf>, var: &str) -> Result<Option<String>, String> {
    let from_file = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("--{flag}-file {}: {e}", path.display()))?;
            let key = text.lines().next().unwrap_or_default().trim().to_owned();
            if key.is_empty() {
                return Err(format!("--{flag}-file {}: the first line is empty", path.display()));
            }
            Some(key)
        }
        None => None,
    };
    let from_env = std::env::var(var).ok().filter(|v| !v.is_empty());
    let given: Vec<String> = [value.clone(), from_file, from_env].into_iter().flatten().collect();
    match &given[..] {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(format!("--{flag}, --{flag}-file and {var}: give only one")),
    }
}

/// `user:password` lines; blank lines and `#` comments are skipped.
fn read_users(path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--users {}: {e}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| match line.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok((user.to_owned(), password.to_owned())),
            _ => Err(format!("--users {}: a line is not user:password", path.display())),
        })
        .collect()
}

/// Logs an error with each of its causes.
fn report(e: &dyn std::error::Error) {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    error!("{text}");
}

/// The glibc setting that turns off its per-thread caches of freed blocks.
const NO_THREAD_CACHES: &str = "glibc.malloc.tcache_count=0";

/// Runs this program again, in place (same process id), with glibc's
/// per-thread malloc caches off, unless `GLIBC_TUNABLES` already sets them.
///
/// Each thread's cache keeps up to seven freed blocks of every small size
/// it ever freed, out of reach of other threads: with a thread per
/// connection that was 8.5 KiB of RSS per idle player, a third of the
/// total (bench, 1000 players). The thread that publishes does the
/// allocating; the caches bought nothing measurable there. glibc reads
/// the setting only at start, hence the exec. Elsewhere than glibc the
/// variable means nothing.
fn restart_without_malloc_thread_caches() {
    let tunables = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
    if tunables.contains("glibc.malloc.tcache_count") {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut command = Command::new(exe);
    if let Some(arg0) = args.next() {
        command.arg0(arg0);
    }
    let tunables = match tunables.as_str() {
        "" => NO_THREAD_CACHES.to_string(),
        other => format!("{other}:{NO_THREAD_CACHES}"),
    };
    // Returns only if the exec failed: go on with the caches.
    let e = command.args(args).env("GLIBC_TUNABLES", tunables).exec();
    eprintln!("rustic_rtmp: could not restart without malloc thread caches ({e}); going on with them");
}
