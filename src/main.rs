//! The `rustic_rtmp` command: flags, logging and signals around the library.

// One exception, `release_freed_memory`, allows it for a C call.
#![deny(unsafe_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use argh::FromArgs;
use log::error;
use rustic_rtmp::media::hls::Variant;
use rustic_rtmp::media::recording::{Container, Keep, Rotation};
use rustic_rtmp::{Access, App, Cidr, Config, ConfigError, ConfigProblem, Hooks, HttpBind, Record, Server, TlsBind};

use cli::file::{AppSettings, KeyLines, Settings};
use cli::malloc::restart_with_malloc_settings;
use cli::nofile::raise_open_file_limit;
use cli::{report, signals, token_file, with_causes};

mod cli;

/// The HTTP port when none is given, as SRS and MediaMTX use.
const DEFAULT_HTTP_PORT: u16 = 8080;

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
    /// TCP port for HTTP players: http://HOST:PORT/APP/NAME.flv (default
    /// 8080; when taken by another program the server runs without HTTP
    /// unless the port was given)
    #[argh(option)]
    http_port: Option<u16>,
    /// address for HTTP, IPv4 or IPv6 (default: the --bind address)
    #[argh(option)]
    http_bind: Option<String>,
    /// do not listen for HTTP
    #[argh(switch)]
    no_http: bool,
    /// do not serve HLS (/APP/NAME/index.m3u8) on the HTTP port
    #[argh(switch)]
    no_hls: bool,
    /// HLS segments: fmp4 (with low-latency parts) or mpegts (plain HLS
    /// for older players) (default fmp4)
    #[argh(option, default = "String::from(\"fmp4\")")]
    hls_variant: String,
    /// also write every published stream's HLS to DIR/APP/NAME/ (playlists
    /// without LL-HLS parts, init and segments), for a web server to serve
    #[argh(option)]
    hls_dir: Option<PathBuf>,
    /// HLS segments end at the first keyframe past this many seconds
    /// (default 1)
    #[argh(option, default = "1.0")]
    hls_segment_seconds: f64,
    /// low-latency HLS parts last at most this many ms; 0 for plain HLS
    /// (default 200)
    #[argh(option, default = "200")]
    hls_part_ms: u64,
    /// HLS segments kept in memory and listed (default 7)
    #[argh(option, default = "7")]
    hls_segment_count: usize,
    /// a stream's HLS muxing stops this many seconds after its last
    /// request (default 30)
    #[argh(option, default = "30")]
    hls_idle_seconds: u64,
    /// most MiB of segments all HLS muxers hold together; past it a
    /// muxer gives up its oldest segments (default 1024)
    #[argh(option, default = "1024")]
    hls_max_mb: usize,
    /// HLS playlist and part requests held waiting at once, server-wide
    /// (default 512)
    #[argh(option, default = "512")]
    hls_max_blocked: usize,
    /// HLS requests held waiting at once from one address (default 32)
    #[argh(option, default = "32")]
    hls_max_blocked_per_ip: usize,
    /// TCP port for RTMPS (RTMP inside TLS), e.g. 443 or 1936; needs
    /// --tls-cert and --tls-key
    #[argh(option)]
    tls_port: Option<u16>,
    /// the certificate chain for RTMPS, PEM; read again when it changes
    #[argh(option)]
    tls_cert: Option<PathBuf>,
    /// the private key for RTMPS, PEM
    #[argh(option)]
    tls_key: Option<PathBuf>,
    /// push and pull relays to rtmps:// accept any certificate
    /// (self-signed servers); otherwise Mozilla's roots must vouch for it
    #[argh(switch)]
    push_insecure: bool,
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
    /// most open HTTP connections, counted apart from RTMP's (default
    /// 10000)
    #[argh(option, default = "10_000")]
    http_max_connections: usize,
    /// most open HTTP connections from one address (default 256; 0: no
    /// limit)
    #[argh(option, default = "256")]
    http_max_connections_per_ip: usize,
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
    /// file whose first line is the token the API's changes (kicking a
    /// client) need as `Authorization: Bearer TOKEN`, from anywhere;
    /// without a token they are taken from loopback only, and never from
    /// another site's web page or through a proxy (or RUSTIC_RTMP_API_TOKEN)
    #[argh(option)]
    api_token_file: Option<PathBuf>,
    /// auto: make an API token at start, log it once and keep it in
    /// $XDG_RUNTIME_DIR/rustic_rtmp/api-token-HTTPPORT (mode 600)
    #[argh(option)]
    api_token: Option<String>,
    /// IP:PORT for the API, the dashboard, /stat and /metrics (loopback,
    /// say), which the HTTP port then no longer serves
    #[argh(option)]
    api_bind: Option<String>,
    /// a name the API, the dashboard, /stat and /metrics answer to in
    /// Host, besides IP addresses, localhost and this machine's name
    /// (repeatable); media answers to any name
    #[argh(option)]
    http_host: Vec<String>,
    /// URL asked (form POST, nginx-rtmp's on_connect) before a connect is
    /// accepted: 2xx allows, anything else denies
    #[argh(option)]
    on_connect: Option<String>,
    /// URL asked before a publish: 2xx allows, 3xx with a name in
    /// Location renames the stream, anything else denies
    #[argh(option)]
    on_publish: Option<String>,
    /// URL asked before a play (RTMP or HTTP), as --on-publish
    #[argh(option)]
    on_play: Option<String>,
    /// URL told when a publish ends
    #[argh(option)]
    on_publish_done: Option<String>,
    /// URL told when a play ends
    #[argh(option)]
    on_play_done: Option<String>,
    /// URL told when a connection that published or played closes
    #[argh(option)]
    on_done: Option<String>,
    /// how hooks are called: post (a form, the default) or get (a query)
    #[argh(option, default = "String::from(\"post\")")]
    notify_method: String,
    /// command run while a stream is published, as space-separated argv
    /// (no shell; $app, $name, $addr replaced): restarted if it exits,
    /// stopped when the publish ends (repeatable)
    #[argh(option)]
    exec_publish: Vec<String>,
    /// command run once when a publish ends, likewise (repeatable)
    #[argh(option)]
    exec_publish_done: Vec<String>,
    /// command run once when a play starts, likewise (repeatable)
    #[argh(option)]
    exec_play: Vec<String>,
    /// command run once when a play ends, likewise (repeatable)
    #[argh(option)]
    exec_play_done: Vec<String>,
    /// URL told of every publish and play each update interval
    /// (call=update_publish or update_play); an answer other than 2xx
    /// closes that connection
    #[argh(option)]
    on_update: Option<String>,
    /// ms between --on-update calls for one connection (default 30000)
    #[argh(option, default = "30_000")]
    notify_update_interval_ms: u64,
    /// ms a hook may take to answer; no answer denies (default 10000)
    #[argh(option, default = "10_000")]
    hook_timeout_ms: u64,
    /// file of user:password lines: encoders must log in with
    /// authmod=adobe (OBS "Use authentication", rtmp://user:pass@ in ffmpeg)
    #[argh(option)]
    users: Option<PathBuf>,
    /// record every published stream under this directory
    #[argh(option)]
    record_dir: Option<PathBuf>,
    /// what is recorded: all, video, audio or off (default all, once
    /// --record-dir is given)
    #[argh(option, default = "String::from(\"all\")")]
    record: String,
    /// recording format: flv (with duration and size patched in at the
    /// end) or mp4 (fragmented: plays up to where it was cut off)
    #[argh(option, default = "String::from(\"flv\")")]
    record_format: String,
    /// file path under --record-dir, without extension; {app}, {name},
    /// {time} (UTC YYYYmmdd-HHMMSS) and {unix} are replaced (default
    /// {app}/{name}-{time})
    #[argh(option, default = "String::from(\"{app}/{name}-{time}\")")]
    record_path: String,
    /// start a new file at the first keyframe after this many seconds
    #[argh(option)]
    record_max_seconds: Option<u32>,
    /// start a new file at the first keyframe after this many bytes
    #[argh(option)]
    record_max_bytes: Option<u64>,
    /// push every published stream to this RTMP URL too (repeatable;
    /// {app} and {name} replaced, the local name added when the URL has
    /// none); a destination that fails is dialled again, 1 s to 30 s apart
    #[argh(option)]
    push: Vec<String>,
    /// an origin to pull a stream from when it is played here and nobody
    /// publishes it (an edge): rtmp://origin/live gets /NAME added;
    /// repeat for origins tried in turn when one fails
    #[argh(option)]
    pull: Vec<String>,
    /// seconds a pull goes on after its last player left (default 10)
    #[argh(option, default = "10")]
    pull_idle_seconds: u64,
    /// pulls that plays may start at once (default 256)
    #[argh(option, default = "256")]
    pull_max: usize,
    /// a stream pulled from the start and for good, published here under
    /// its own app and name (repeatable)
    #[argh(option)]
    pull_static: Vec<String>,
    /// URL told when a recorded file is complete (call=record_done, path)
    #[argh(option)]
    on_record_done: Option<String>,
    /// command run once when a recorded file is complete, as
    /// --exec-publish, with $path, $filename, $basename, $dirname too
    /// (repeatable)
    #[argh(option)]
    exec_record_done: Vec<String>,
    /// a publish of a live stream (with the right key) replaces its
    /// publisher instead of being refused; players stay
    #[argh(switch)]
    publisher_takeover: bool,
    /// on SIGHUP, also close the publishers and players that the new
    /// access rules refuse (otherwise only new connections meet them)
    #[argh(switch)]
    reload_drops_refused: bool,
    /// log debug messages (RUST_LOG overrides)
    #[argh(switch, short = 'v')]
    verbose: bool,
    /// TOML file of settings: every flag is a key (with _ for -); flags
    /// given here win over the file. Read again when it changes, and on
    /// SIGHUP
    #[argh(option)]
    config: Option<PathBuf>,
    /// read the --config file again on SIGHUP only, not when it changes
    #[argh(switch)]
    no_config_watch: bool,
    /// check a config file and exit: 0 when it is good, 2 (with the key
    /// and line at fault) when not
    #[argh(option)]
    check_config: Option<PathBuf>,
    /// print the version and exit
    #[argh(switch)]
    version: bool,
    /// how long a player of a name nobody publishes waits for its
    /// publisher: 0 answers at once (HTTP 404, RTMP StreamNotFound)
    /// (default: 30 s over HTTP, as long as it stays over RTMP)
    #[argh(option)]
    wait_for_publisher_seconds: Option<u64>,
}

fn main() -> ExitCode {
    restart_with_malloc_settings();
    let mut args: Args = argh::from_env();
    if args.version {
        println!("rustic_rtmp {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    // The file is checked as a start would take it: merged with the flags
    // and built into a `Config` that `Config::validate` accepts.
    if let Some(path) = args.check_config.clone() {
        args.config = Some(path.clone());
        return match load_file(&mut args).and_then(|file| build_config(&args, file)) {
            Ok(_) => {
                println!("{}: ok", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        };
    }
    let from_file = match load_file(&mut args) {
        Ok(from_file) => from_file,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let level = if args.verbose { "debug" } else { "info" };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level)).init();
    let config = match build_config(&args, from_file) {
        Ok(config) => config,
        Err(e) => {
            error!("{e}");
            return ExitCode::from(2);
        }
    };
    // Signals are registered before the server starts so none is missed.
    let Some(signals) = signals::register() else {
        return ExitCode::FAILURE;
    };
    raise_open_file_limit(config.max_connections);
    let mut server = match Server::start(config) {
        Ok(server) => server,
        Err(e) => {
            report(&e);
            return ExitCode::FAILURE;
        }
    };
    let token_kept = (args.api_token.as_deref() == Some("auto"))
        .then(|| token_file::tell_api_token(&server))
        .flatten();
    let watched = args.config.as_deref().filter(|_| !args.no_config_watch);
    signals::serve(&server, signals, watched);
    // Returns once recordings are finished and the done hooks told (2 s
    // at most): exiting sooner would leave `.part` files behind.
    server.shutdown();
    if let Some(path) = token_kept {
        let _ = std::fs::remove_file(path);
    }
    ExitCode::SUCCESS
}

/// What a config file holds beyond the flags' values.
#[derive(Default)]
struct FileOnly {
    /// `exec_publish`, `exec_publish_done`, `exec_play`, `exec_play_done`
    /// and `exec_record_done` as argv arrays, where no flag gave the same.
    exec: [Option<Vec<Vec<String>>>; 5],
    /// The `[app.NAME]` sections.
    apps: BTreeMap<String, AppSettings>,
    /// Where the file sets each key.
    lines: KeyLines,
}

/// How an error names a setting: as the user gave it, so that they know
/// where to look.
struct Names<'a> {
    lines: &'a KeyLines,
}

impl Names<'_> {
    /// `--flag` when the command line gave `key` (a flag's field name),
    /// `FILE:LINE: key` when the config file did, `--flag (default)` when
    /// neither did.
    fn of(&self, key: &str) -> String {
        let flag = format!("--{}", key.replace('_', "-"));
        match self.lines.at(None, key) {
            _ if given(key) => flag,
            Some(at) => format!("{at}: {key}"),
            None => format!("{flag} (default)"),
        }
    }

    /// `FILE:LINE: [app.NAME] key` for a key of an `[app.NAME]` section.
    fn in_app(&self, app: &str, key: &str) -> String {
        match self.lines.at(Some(app), key) {
            Some(at) => format!("{at}: [app.{app}] {key}"),
            None => format!("[app.{app}] {key}"),
        }
    }

    /// A `Config::validate` error, with the key or flag that set the field
    /// (or, when that is a default another setting went below, the other
    /// one) and the error's causes.
    fn config_error(&self, e: &ConfigError) -> String {
        let key = key_of(e.field);
        let name = match (&e.app, &e.problem) {
            (Some(app), _) => self.in_app(app, key),
            (None, ConfigProblem::NotBelow { field, .. }) if !given(key) && self.lines.at(None, key).is_none() => {
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
        "hls_segment" => "hls_segment_seconds",
        "hls_part" => "hls_part_ms",
        "hls_segments" => "hls_segment_count",
        "tls.cert" => "tls_cert",
        "tls.key" => "tls_key",
        // `hooks.on_publish`, `access.publish_keys_file`: the key is the
        // field's own name.
        field => field.rsplit('.').next().unwrap_or(field),
    }
}

/// Reads `--config`'s file, if given, into `args` (flags win); returns
/// what the flags cannot hold (see `merge`).
fn load_file(args: &mut Args) -> Result<FileOnly, String> {
    match args.config.clone() {
        Some(path) => cli::file::read(&path).map(|file| merge(args, file)),
        None => Ok(FileOnly::default()),
    }
}

/// The server's `Config` from the flags (and the file merged into them),
/// checked by `Config::validate`. Errors name the setting as it was given
/// (`Names`).
fn build_config(args: &Args, file: FileOnly) -> Result<Config, String> {
    let FileOnly { exec, apps, lines } = file;
    let names = Names { lines: &lines };
    let name = |key: &str| names.of(key);
    let ip_of = |key: &str, value: &str| -> Result<IpAddr, String> {
        value
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .map_err(|e| format!("{} {value:?} is not an IP address: {e}", name(key)))
    };
    let ip = ip_of("bind", &args.bind)?;
    let http_ip = match &args.http_bind {
        Some(value) => ip_of("http_bind", value)?,
        None => ip,
    };
    let tls = match (args.tls_port, &args.tls_cert, &args.tls_key) {
        (None, None, None) => None,
        (Some(port), Some(cert), Some(key)) => Some(TlsBind {
            addr: SocketAddr::new(ip, port),
            cert: cert.clone(),
            key: key.clone(),
        }),
        (port, cert, key) => {
            let keys = [
                ("tls_port", port.is_some()),
                ("tls_cert", cert.is_some()),
                ("tls_key", key.is_some()),
            ];
            let first_set = keys.iter().find(|(_, set)| *set).map_or("tls_port", |(key, _)| key);
            let missing: Vec<&str> = keys.iter().filter(|(_, set)| !set).map(|(key, _)| *key).collect();
            return Err(format!(
                "{}: tls_port, tls_cert and tls_key go together; {} missing",
                name(first_set),
                missing.join(" and ")
            ));
        }
    };
    // The default port gives way to another program; one asked for does not.
    let http = (!args.no_http).then(|| HttpBind {
        addr: SocketAddr::new(http_ip, args.http_port.unwrap_or(DEFAULT_HTTP_PORT)),
        required: args.http_port.is_some() || args.http_bind.is_some(),
    });
    let networks = |key: &str, values: &[String]| -> Result<Vec<Cidr>, String> {
        values
            .iter()
            .map(|v| v.parse().map_err(|e| format!("{}: {e}", name(key))))
            .collect()
    };
    let access = Access {
        publish_key: secret(
            &name,
            "publish_key",
            &args.publish_key,
            &args.publish_key_file,
            Some("RUSTIC_RTMP_PUBLISH_KEY"),
        )?,
        publish_keys_file: args.publish_keys_file.clone(),
        play_key: secret(
            &name,
            "play_key",
            &args.play_key,
            &args.play_key_file,
            Some("RUSTIC_RTMP_PLAY_KEY"),
        )?,
        allow_publish: networks("allow_publish", &args.allow_publish)?,
        deny_publish: networks("deny_publish", &args.deny_publish)?,
        allow_play: networks("allow_play", &args.allow_play)?,
        deny_play: networks("deny_play", &args.deny_play)?,
        api_token: api_token(args, &name)?,
        users: match &args.users {
            Some(path) => read_users(&name("users"), path)?,
            None => Vec::new(),
        },
    };
    let [
        exec_publish,
        exec_publish_done,
        exec_play,
        exec_play_done,
        exec_record_done,
    ] = exec;
    let rotation = Rotation {
        max_ms: args.record_max_seconds.map(|s| s.saturating_mul(1000)),
        max_bytes: args.record_max_bytes,
    };
    let mut config = Config {
        bind: SocketAddr::new(ip, args.port),
        chunk_size: args.chunk_size,
        gop_cache: !args.no_gop_cache,
        max_connections: args.max_connections,
        max_connections_per_ip: args.max_connections_per_ip,
        http_max_connections: args.http_max_connections,
        http_max_connections_per_ip: args.http_max_connections_per_ip,
        max_total_buffered_bytes: args.max_buffered_mb.saturating_mul(1024 * 1024),
        merge_write: Duration::from_millis(args.merge_write_ms),
        player_nodelay: args.nodelay,
        access,
        http,
        api_bind: match &args.api_bind {
            Some(value) => Some(
                value
                    .parse()
                    .map_err(|e| format!("{} {value:?} is not IP:PORT: {e}", name("api_bind")))?,
            ),
            None => None,
        },
        http_hosts: args.http_host.clone(),
        hooks: Hooks {
            on_connect: args.on_connect.clone(),
            on_publish: args.on_publish.clone(),
            on_play: args.on_play.clone(),
            on_publish_done: args.on_publish_done.clone(),
            on_play_done: args.on_play_done.clone(),
            on_done: args.on_done.clone(),
            notify_get: match args.notify_method.as_str() {
                "get" => true,
                "post" => false,
                other => {
                    return Err(format!("{} {other:?} is neither get nor post", name("notify_method")));
                }
            },
            timeout: Duration::from_millis(args.hook_timeout_ms),
            on_update: args.on_update.clone(),
            update_interval: Duration::from_millis(args.notify_update_interval_ms.max(1)),
            exec_publish: exec_publish.unwrap_or_else(|| argvs(&args.exec_publish)),
            exec_publish_done: exec_publish_done.unwrap_or_else(|| argvs(&args.exec_publish_done)),
            exec_play: exec_play.unwrap_or_else(|| argvs(&args.exec_play)),
            exec_play_done: exec_play_done.unwrap_or_else(|| argvs(&args.exec_play_done)),
            on_record_done: args.on_record_done.clone(),
            exec_record_done: exec_record_done.unwrap_or_else(|| argvs(&args.exec_record_done)),
        },
        record: match &args.record_dir {
            Some(dir) => record(
                &name,
                dir.clone(),
                &args.record,
                &args.record_format,
                &args.record_path,
                rotation,
            )?,
            None => None,
        },
        reload_drops_refused: args.reload_drops_refused,
        hls: !args.no_hls,
        hls_variant: match args.hls_variant.as_str() {
            "fmp4" => Variant::Fmp4,
            "mpegts" => Variant::MpegTs,
            other => {
                return Err(format!("{} {other:?} is neither fmp4 nor mpegts", name("hls_variant")));
            }
        },
        hls_dir: args.hls_dir.clone(),
        hls_segment: Duration::try_from_secs_f64(args.hls_segment_seconds).map_err(|_| {
            format!(
                "{} {} is not a number of seconds",
                name("hls_segment_seconds"),
                args.hls_segment_seconds
            )
        })?,
        hls_part: Duration::from_millis(args.hls_part_ms),
        hls_segments: args.hls_segment_count,
        hls_idle: Duration::from_secs(args.hls_idle_seconds),
        hls_max_bytes: args.hls_max_mb.saturating_mul(1024 * 1024),
        hls_max_blocked: args.hls_max_blocked,
        hls_max_blocked_per_ip: args.hls_max_blocked_per_ip,
        tls,
        relay_tls_insecure: args.push_insecure,
        publisher_takeover: args.publisher_takeover,
        push: args.push.clone(),
        pull: args.pull.clone(),
        pull_idle: Duration::from_secs(args.pull_idle_seconds),
        pull_max: args.pull_max,
        pull_static: args.pull_static.clone(),
        http_wait_for_publisher: args
            .wait_for_publisher_seconds
            .map_or(Config::default().http_wait_for_publisher, Duration::from_secs),
        rtmp_wait_for_publisher: args.wait_for_publisher_seconds.map(Duration::from_secs),
        ..Config::default()
    };
    for (app, section) in apps {
        let named = |key: &str| names.in_app(&app, key);
        let settings = app_config(&config, section, &named)?;
        config.apps.insert(app, settings);
    }
    config.validate().map_err(|e| names.config_error(&e))?;
    Ok(config)
}

/// Recording settings from their flags or keys (`name` names them in
/// errors); `None` for `off`.
fn record(
    name: &dyn Fn(&str) -> String,
    dir: PathBuf,
    keep: &str,
    format: &str,
    path: &str,
    rotation: Rotation,
) -> Result<Option<Record>, String> {
    let keep = match keep {
        "all" => Keep::All,
        "video" => Keep::Video,
        "audio" => Keep::Audio,
        "off" => return Ok(None),
        other => {
            return Err(format!(
                "{} {other:?} is none of all, video, audio, off",
                name("record")
            ));
        }
    };
    let container = match format {
        "flv" => Container::Flv,
        "mp4" => Container::Mp4,
        other => return Err(format!("{} {other:?} is neither flv nor mp4", name("record_format"))),
    };
    Ok(Some(Record {
        dir,
        path: path.to_owned(),
        container,
        keep,
        rotation,
    }))
}

/// An `[app.NAME]` section's settings: the server-wide access rules and
/// hooks with the section's keys in their place (an empty string turns a
/// key or URL off); `name` names the section's keys in errors.
fn app_config(server: &Config, section: AppSettings, name: &dyn Fn(&str) -> String) -> Result<App, String> {
    let text = |value: Option<String>, inherited: &Option<String>| match value {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(v),
        None => inherited.clone(),
    };
    let key = |key: &str, value: Option<String>, file: Option<PathBuf>, inherited: &Option<String>| match (value, file)
    {
        (None, None) => Ok(inherited.clone()),
        (value, file) => secret(name, key, &value.filter(|v| !v.is_empty()), &file, None),
    };
    let networks = |key: &str, values: Option<Vec<String>>, inherited: &Vec<Cidr>| match values {
        None => Ok(inherited.clone()),
        Some(values) => (values.iter())
            .map(|v| v.parse().map_err(|e| format!("{}: {e}", name(key))))
            .collect(),
    };
    let (access, hooks) = (&server.access, &server.hooks);
    let s = section;
    Ok(App {
        access: Access {
            publish_key: key("publish_key", s.publish_key, s.publish_key_file, &access.publish_key)?,
            publish_keys_file: s.publish_keys_file.or(access.publish_keys_file.clone()),
            play_key: key("play_key", s.play_key, s.play_key_file, &access.play_key)?,
            allow_publish: networks("allow_publish", s.allow_publish, &access.allow_publish)?,
            deny_publish: networks("deny_publish", s.deny_publish, &access.deny_publish)?,
            allow_play: networks("allow_play", s.allow_play, &access.allow_play)?,
            deny_play: networks("deny_play", s.deny_play, &access.deny_play)?,
            api_token: None,
            users: match s.users {
                Some(path) => read_users(&name("users"), &path)?,
                None => access.users.clone(),
            },
        },
        hooks: Hooks {
            on_connect: text(s.on_connect, &hooks.on_connect),
            on_publish: text(s.on_publish, &hooks.on_publish),
            on_play: text(s.on_play, &hooks.on_play),
            on_publish_done: text(s.on_publish_done, &hooks.on_publish_done),
            on_play_done: text(s.on_play_done, &hooks.on_play_done),
            on_done: text(s.on_done, &hooks.on_done),
            on_update: text(s.on_update, &hooks.on_update),
            exec_publish: s.exec_publish.unwrap_or(hooks.exec_publish.clone()),
            exec_publish_done: s.exec_publish_done.unwrap_or(hooks.exec_publish_done.clone()),
            exec_play: s.exec_play.unwrap_or(hooks.exec_play.clone()),
            exec_play_done: s.exec_play_done.unwrap_or(hooks.exec_play_done.clone()),
            on_record_done: text(s.on_record_done, &hooks.on_record_done),
            exec_record_done: s.exec_record_done.unwrap_or(hooks.exec_record_done.clone()),
            ..hooks.clone()
        },
        record: app_record(
            name,
            server.record.as_ref(),
            s.record,
            s.record_format,
            s.record_path,
            s.record_dir,
        )?,
        push: s.push.unwrap_or(server.push.clone()),
        pull: s.pull.unwrap_or(server.pull.clone()),
    })
}

/// An application's recording: the server's with the section's keys in
/// their place; `record = "off"` turns it off, and any other mode turns
/// it on (a directory is then needed, the server's or the section's).
fn app_record(
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
    let dir = dir.or(server.map(|r| r.dir.clone())).ok_or_else(|| {
        let keys = [
            ("record", mode.is_some()),
            ("record_format", format.is_some()),
            ("record_path", path.is_some()),
        ];
        let first_set = keys.iter().find(|(_, set)| *set).map_or("record", |(key, _)| key);
        format!("{}: recording needs record_dir, here or server-wide", name(first_set))
    })?;
    let keep = mode.unwrap_or_else(|| match server.map(|r| r.keep) {
        Some(Keep::Video) => "video".into(),
        Some(Keep::Audio) => "audio".into(),
        _ => "all".into(),
    });
    let format = format.unwrap_or_else(|| server.map_or("flv", |r| r.container.extension()).into());
    let path = path.unwrap_or_else(|| server.map_or("{app}/{name}-{time}".into(), |r| r.path.clone()));
    let rotation = server.map(|r| r.rotation).unwrap_or_default();
    record(name, dir, &keep, &format, &path, rotation)
}

/// A secret from its key (`publish_key`), its file (the key's
/// `_file`, first line) or its environment variable, in that order; more
/// than one is an error. `name` names a key in errors.
fn secret(
    name: &dyn Fn(&str) -> String,
    key: &str,
    value: &Option<String>,
    file: &Option<PathBuf>,
    var: Option<&str>,
) -> Result<Option<String>, String> {
    let file_key = format!("{key}_file");
    let from_file = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{} {}: cannot be read: {e}", name(&file_key), path.display()))?;
            let secret = text.lines().next().unwrap_or_default().trim().to_owned();
            if secret.is_empty() {
                return Err(format!(
                    "{} {}: the first line is empty",
                    name(&file_key),
                    path.display()
                ));
            }
            Some(secret)
        }
        None => None,
    };
    let from_env = var.and_then(|var| std::env::var(var).ok()).filter(|v| !v.is_empty());
    let given: Vec<String> = [value.clone(), from_file, from_env].into_iter().flatten().collect();
    match &given[..] {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(format!(
            "{}, {}{}: give only one",
            name(key),
            name(&file_key),
            var.map(|var| format!(" and {var}")).unwrap_or_default()
        )),
    }
}

/// The API token: `--api-token auto`'s, or one read from
/// `--api-token-file` or `RUSTIC_RTMP_API_TOKEN`; only one of them.
fn api_token(args: &Args, name: &dyn Fn(&str) -> String) -> Result<Option<String>, String> {
    let read = secret(
        name,
        "api_token",
        &None,
        &args.api_token_file,
        Some("RUSTIC_RTMP_API_TOKEN"),
    )?;
    match (args.api_token.as_deref(), read) {
        (None, read) => Ok(read),
        (Some("auto"), None) => Ok(Some(token_file::auto().to_owned())),
        (Some("auto"), Some(_)) => Err(format!(
            "{} auto and a token read from a file: give only one",
            name("api_token")
        )),
        // A token on the command line would show in `ps` to every user.
        (Some(other), _) => Err(format!(
            "{} {other:?}: only auto is taken here; give a token with api_token_file",
            name("api_token")
        )),
    }
}

/// Whether `--flag` (the field `flag`, `_` for `-`) was on the command line.
fn given(field: &str) -> bool {
    let flag = format!("--{}", field.replace('_', "-"));
    std::env::args().any(|a| a == flag)
}

/// Takes the file's settings into `args` where no flag was given; returns
/// what flags cannot hold: the file's exec commands (argv arrays) unless
/// flags gave some, and its application sections.
fn merge(args: &mut Args, mut file: Settings) -> FileOnly {
    macro_rules! value {
        ($($field:ident),*) => { $(
            if let Some(v) = file.$field.take() && !given(stringify!($field)) {
                args.$field = v;
            }
        )* };
    }
    macro_rules! optional {
        ($($field:ident),*) => { $(
            if file.$field.is_some() && !given(stringify!($field)) {
                args.$field = file.$field.take();
            }
        )* };
    }
    macro_rules! switch {
        ($($field:ident),*) => { $( args.$field |= file.$field.unwrap_or(false); )* };
    }
    value!(
        port,
        bind,
        chunk_size,
        merge_write_ms,
        max_connections,
        max_connections_per_ip,
        http_max_connections,
        http_max_connections_per_ip,
        max_buffered_mb
    );
    value!(
        hook_timeout_ms,
        notify_update_interval_ms,
        allow_publish,
        deny_publish,
        allow_play,
        deny_play
    );
    optional!(
        http_port,
        http_bind,
        publish_key,
        publish_key_file,
        publish_keys_file,
        play_key,
        play_key_file
    );
    optional!(api_token, api_bind, wait_for_publisher_seconds);
    value!(http_host);
    optional!(
        api_token_file,
        tls_port,
        tls_cert,
        tls_key,
        on_connect,
        on_publish,
        on_play,
        on_publish_done,
        on_play_done,
        on_done,
        on_update,
        users
    );
    value!(
        hls_variant,
        hls_segment_seconds,
        hls_part_ms,
        hls_segment_count,
        hls_idle_seconds,
        hls_max_mb,
        hls_max_blocked,
        hls_max_blocked_per_ip,
        notify_method,
        record,
        record_format,
        record_path,
        push,
        pull,
        pull_idle_seconds,
        pull_max,
        pull_static
    );
    optional!(
        hls_dir,
        record_dir,
        record_max_seconds,
        record_max_bytes,
        on_record_done
    );
    switch!(
        no_http,
        no_hls,
        no_gop_cache,
        nodelay,
        reload_drops_refused,
        no_config_watch,
        publisher_takeover,
        push_insecure,
        verbose
    );
    let exec = |field: &str, from_file: Option<Vec<Vec<String>>>| from_file.filter(|_| !given(field));
    FileOnly {
        exec: [
            exec("exec_publish", file.exec_publish.take()),
            exec("exec_publish_done", file.exec_publish_done.take()),
            exec("exec_play", file.exec_play.take()),
            exec("exec_play_done", file.exec_play_done.take()),
            exec("exec_record_done", file.exec_record_done.take()),
        ],
        apps: file.app,
        lines: file.lines,
    }
}

/// Commands given as space-separated words, empty ones left out.
fn argvs(commands: &[String]) -> Vec<Vec<String>> {
    commands
        .iter()
        .map(|c| c.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .filter(|argv| !argv.is_empty())
        .collect()
}

/// `user:password` lines; blank lines and `#` comments are skipped.
/// `name` is how errors name the setting.
fn read_users(name: &str, path: &Path) -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name} {}: cannot be read: {e}", path.display()))?;
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| match line.split_once(':') {
            Some((user, password)) if !user.is_empty() => Ok((user.to_owned(), password.to_owned())),
            _ => Err(format!("{name} {}: a line is not user:password", path.display())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The flags `--help` lists.
    fn flags() -> Vec<String> {
        let help = match Args::from_args(&["rustic_rtmp"], &["--help"]) {
            Err(early) => early.output,
            Ok(_) => panic!("--help exits early"),
        };
        let options = help.split("Options:").nth(1).expect("an Options section");
        options
            .lines()
            .filter_map(|line| line.split_whitespace().find_map(|w| w.strip_prefix("--")))
            .map(|flag| flag.trim_end_matches(',').to_owned())
            .collect()
    }

    #[test]
    fn every_flag_is_a_config_key() {
        let flags = flags();
        assert!(flags.len() > 30, "{flags:?}");
        for flag in flags
            .iter()
            .filter(|f| !matches!(f.as_str(), "help" | "version" | "config" | "check-config"))
        {
            let key = flag.replace('-', "_");
            // A table is the wrong type for every key: the error must be
            // about the value, not an unknown key.
            let error = cli::file::parse(&format!("{key} = {{}}")).unwrap_err();
            assert!(!error.contains("unknown field"), "--{flag} has no key {key}: {error}");
        }
    }
}
