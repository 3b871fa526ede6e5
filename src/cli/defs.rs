//! Every setting of the `rustic_rtmp` command, declared once: its flag,
//! its config-file key (the flag's name with `_` for `-`), its help text
//! (the doc comment), its type and so its merge rule (`Setting`). The
//! defaults are `Config::default()`'s (applied in `config.rs`); the help
//! text says them, and a test checks that it says them right.
//!
//! The order here is `--help`'s. See `setting.rs` for the scopes: `flag`
//! (command line only), `key` (also a key of the file), `app` (also a key
//! of an `[app.NAME]` section).

use std::path::PathBuf;

use super::setting::{Argv, settings};

// rustfmt would take the indentation off the doc comments.
#[rustfmt::skip]
settings! {
    /// A live-streaming RTMP server: publish with ffmpeg or OBS to
    /// rtmp://HOST:PORT/APP/NAME and play the same URL with ffplay or VLC.
    struct Args;
    /// TCP port to listen on (default 1935)
    #[argh(option)]
    key port: Option<u16>,
    /// address to listen on, IPv4 or IPv6 (default 0.0.0.0)
    #[argh(option)]
    key bind: Option<String>,
    /// TCP port for HTTP players: http://HOST:PORT/APP/NAME.flv (default
    /// 8080; when taken by another program the server runs without HTTP
    /// unless the port was given)
    #[argh(option)]
    key http_port: Option<u16>,
    /// address for HTTP, IPv4 or IPv6 (default: the --bind address)
    #[argh(option)]
    key http_bind: Option<String>,
    /// do not listen for HTTP
    #[argh(switch)]
    key no_http: bool,
    /// UDP port for SRT publishers and readers, e.g.
    /// srt://HOST:PORT?streamid=publish:APP/NAME (default 8890; when taken
    /// by another program the server runs without SRT unless the port was
    /// given)
    #[argh(option)]
    key srt_port: Option<u16>,
    /// address for SRT, IPv4 or IPv6 (default: the --bind address)
    #[argh(option)]
    key srt_bind: Option<String>,
    /// do not listen for SRT
    #[argh(switch)]
    key no_srt: bool,
    /// the SRT latency this server asks for, in ms; the larger of both
    /// sides' wins (default 120)
    #[argh(option)]
    key srt_latency_ms: Option<u64>,
    /// SRT callers must encrypt with this passphrase (10 to 79
    /// characters), and readers get the stream encrypted with it; an
    /// [app.NAME] section's replaces it for that application
    #[argh(option)]
    app srt_passphrase: Option<String>,
    /// do not serve HLS (/APP/NAME/index.m3u8) on the HTTP port
    #[argh(switch)]
    key no_hls: bool,
    /// HLS segments: fmp4 (with low-latency parts) or mpegts (plain HLS
    /// for older players) (default fmp4)
    #[argh(option)]
    key hls_variant: Option<String>,
    /// also write every published stream's HLS to DIR/APP/NAME/ (playlists
    /// without LL-HLS parts, init and segments), for a web server to serve
    #[argh(option)]
    key hls_dir: Option<PathBuf>,
    /// HLS segments end at the first keyframe past this many seconds
    /// (default 1)
    #[argh(option)]
    key hls_segment_seconds: Option<f64>,
    /// low-latency HLS parts last at most this many ms; 0 for plain HLS
    /// (default 200)
    #[argh(option)]
    key hls_part_ms: Option<u64>,
    /// HLS segments kept in memory and listed (default 7)
    #[argh(option)]
    key hls_segment_count: Option<usize>,
    /// a stream's HLS muxing stops this many seconds after its last
    /// request (default 30)
    #[argh(option)]
    key hls_idle_seconds: Option<u64>,
    /// most MiB of segments all HLS muxers hold together; past it a
    /// muxer gives up its oldest segments (default 1024)
    #[argh(option)]
    key hls_max_mb: Option<usize>,
    /// HLS playlist and part requests held waiting at once, server-wide
    /// (default 512)
    #[argh(option)]
    key hls_max_blocked: Option<usize>,
    /// HLS requests held waiting at once from one address (default 32)
    #[argh(option)]
    key hls_max_blocked_per_ip: Option<usize>,
    /// TCP port for RTMPS (RTMP inside TLS), e.g. 443 or 1936; needs
    /// --tls-cert and --tls-key
    #[argh(option)]
    key tls_port: Option<u16>,
    /// the certificate chain for RTMPS, PEM; read again when it changes
    #[argh(option)]
    key tls_cert: Option<PathBuf>,
    /// the private key for RTMPS, PEM
    #[argh(option)]
    key tls_key: Option<PathBuf>,
    /// push and pull relays to rtmps:// accept any certificate
    /// (self-signed servers); otherwise Mozilla's roots must vouch for it
    #[argh(switch)]
    key push_insecure: bool,
    /// outgoing chunk size in bytes (default 4096)
    #[argh(option)]
    key chunk_size: Option<u32>,
    /// do not keep the last GOP for joining players
    #[argh(switch)]
    key no_gop_cache: bool,
    /// gather frames for this many ms and write them to each player at
    /// once: less CPU, that much more latency (default 0)
    #[argh(option)]
    key merge_write_ms: Option<u64>,
    /// send players each frame at once, even while their last one is
    /// unacknowledged (TCP_NODELAY): less latency over long links, more CPU
    #[argh(switch)]
    key nodelay: bool,
    /// most open connections; more are closed at once (default 10000)
    #[argh(option)]
    key max_connections: Option<usize>,
    /// most open connections from one address (default 0: no limit)
    #[argh(option)]
    key max_connections_per_ip: Option<usize>,
    /// most open HTTP connections, counted apart from RTMP's (default
    /// 10000)
    #[argh(option)]
    key http_max_connections: Option<usize>,
    /// most open HTTP connections from one address (default 256; 0: no
    /// limit)
    #[argh(option)]
    key http_max_connections_per_ip: Option<usize>,
    /// megabytes (MiB) of unfinished messages all connections may hold; the
    /// connection that would pass it is closed (default 512)
    #[argh(option)]
    key max_buffered_mb: Option<usize>,
    /// publishing needs ?key=SECRET on the stream name (visible to other
    /// users in the process list: prefer --publish-key-file or
    /// RUSTIC_RTMP_PUBLISH_KEY)
    #[argh(option)]
    app publish_key: Option<String>,
    /// file whose first line is the publish key
    #[argh(option)]
    app publish_key_file: Option<PathBuf>,
    /// file of stream names (or app/name) that may publish, one a line;
    /// read again when it changes
    #[argh(option)]
    app publish_keys_file: Option<PathBuf>,
    /// playing needs ?key=SECRET on the stream name (prefer
    /// --play-key-file or RUSTIC_RTMP_PLAY_KEY)
    #[argh(option)]
    app play_key: Option<String>,
    /// file whose first line is the play key
    #[argh(option)]
    app play_key_file: Option<PathBuf>,
    /// only this network may publish (repeatable; IPv4 or IPv6 CIDR)
    #[argh(option)]
    app allow_publish: Vec<String>,
    /// this network may not publish (repeatable)
    #[argh(option)]
    app deny_publish: Vec<String>,
    /// only this network may play (repeatable)
    #[argh(option)]
    app allow_play: Vec<String>,
    /// this network may not play (repeatable)
    #[argh(option)]
    app deny_play: Vec<String>,
    /// file whose first line is the token the API's changes (kicking a
    /// client) need as `Authorization: Bearer TOKEN`, from anywhere;
    /// without a token they are taken from loopback only, and never from
    /// another site's web page or through a proxy (or RUSTIC_RTMP_API_TOKEN)
    #[argh(option)]
    key api_token_file: Option<PathBuf>,
    /// auto: make an API token at start, log it once and keep it in
    /// $XDG_RUNTIME_DIR/rustic_rtmp/api-token-HTTPPORT (mode 600)
    #[argh(option)]
    key api_token: Option<String>,
    /// IP:PORT for the API, the dashboard, /stat and /metrics (loopback,
    /// say), which the HTTP port then no longer serves
    #[argh(option)]
    key api_bind: Option<String>,
    /// a name the API, the dashboard, /stat and /metrics answer to in
    /// Host, besides IP addresses, localhost and this machine's name
    /// (repeatable); media answers to any name
    #[argh(option)]
    key http_host: Vec<String>,
    /// URL asked (form POST, nginx-rtmp's on_connect) before a connect is
    /// accepted: 2xx allows, anything else denies
    #[argh(option)]
    app on_connect: Option<String>,
    /// URL asked before a publish: 2xx allows, 3xx with a name in
    /// Location renames the stream, anything else denies
    #[argh(option)]
    app on_publish: Option<String>,
    /// URL asked before a play (RTMP or HTTP), as --on-publish
    #[argh(option)]
    app on_play: Option<String>,
    /// URL told when a publish ends
    #[argh(option)]
    app on_publish_done: Option<String>,
    /// URL told when a play ends
    #[argh(option)]
    app on_play_done: Option<String>,
    /// URL told when a connection that published or played closes
    #[argh(option)]
    app on_done: Option<String>,
    /// how hooks are called: post (a form, the default) or get (a query)
    #[argh(option)]
    key notify_method: Option<String>,
    /// command run while a stream is published, as space-separated argv
    /// (no shell; $app, $name, $addr replaced): restarted if it exits,
    /// stopped when the publish ends (repeatable)
    #[argh(option)]
    app exec_publish: Vec<Argv>,
    /// command run once when a publish ends, likewise (repeatable)
    #[argh(option)]
    app exec_publish_done: Vec<Argv>,
    /// command run once when a play starts, likewise (repeatable)
    #[argh(option)]
    app exec_play: Vec<Argv>,
    /// command run once when a play ends, likewise (repeatable)
    #[argh(option)]
    app exec_play_done: Vec<Argv>,
    /// URL told of every publish and play each update interval
    /// (call=update_publish or update_play); an answer other than 2xx
    /// closes that connection
    #[argh(option)]
    app on_update: Option<String>,
    /// ms between --on-update calls for one connection, 1 or more
    /// (default 30000)
    #[argh(option)]
    key notify_update_interval_ms: Option<u64>,
    /// ms a hook may take to answer; no answer denies (default 10000)
    #[argh(option)]
    key hook_timeout_ms: Option<u64>,
    /// file of user:password lines: encoders must log in with
    /// authmod=adobe (OBS "Use authentication", rtmp://user:pass@ in ffmpeg)
    #[argh(option)]
    app users: Option<PathBuf>,
    /// record every published stream under this directory
    #[argh(option)]
    app record_dir: Option<PathBuf>,
    /// what is recorded: all, video, audio or off (default all, once
    /// --record-dir is given)
    #[argh(option)]
    app record: Option<String>,
    /// recording format: flv (with duration and size patched in at the
    /// end) or mp4 (fragmented: plays up to where it was cut off)
    #[argh(option)]
    app record_format: Option<String>,
    /// file path under --record-dir, without extension; {app}, {name},
    /// {time} (UTC YYYYmmdd-HHMMSS) and {unix} are replaced (default
    /// {app}/{name}-{time})
    #[argh(option)]
    app record_path: Option<String>,
    /// start a new file at the first keyframe after this many seconds
    #[argh(option)]
    key record_max_seconds: Option<u32>,
    /// start a new file at the first keyframe after this many bytes
    #[argh(option)]
    key record_max_bytes: Option<u64>,
    /// push every published stream to this RTMP URL too (repeatable;
    /// {app} and {name} replaced, the local name added when the URL has
    /// none); a destination that fails is dialled again, 1 s to 30 s apart
    #[argh(option)]
    app push: Vec<String>,
    /// an origin to pull a stream from when it is played here and nobody
    /// publishes it (an edge): rtmp://origin/live gets /NAME added;
    /// repeat for origins tried in turn when one fails
    #[argh(option)]
    app pull: Vec<String>,
    /// seconds a pull goes on after its last player left (default 10)
    #[argh(option)]
    key pull_idle_seconds: Option<u64>,
    /// pulls that plays may start at once (default 256)
    #[argh(option)]
    key pull_max: Option<usize>,
    /// a stream pulled from the start and for good, published here under
    /// its own app and name (repeatable)
    #[argh(option)]
    key pull_static: Vec<String>,
    /// URL told when a recorded file is complete (call=record_done, path)
    #[argh(option)]
    app on_record_done: Option<String>,
    /// command run once when a recorded file is complete, as
    /// --exec-publish, with $path, $filename, $basename, $dirname too
    /// (repeatable)
    #[argh(option)]
    app exec_record_done: Vec<Argv>,
    /// a publish of a live stream (with the right key) replaces its
    /// publisher instead of being refused; players stay
    #[argh(switch)]
    key publisher_takeover: bool,
    /// on SIGHUP, also close the publishers and players that the new
    /// access rules refuse (otherwise only new connections meet them)
    #[argh(switch)]
    key reload_drops_refused: bool,
    /// log debug messages (RUST_LOG overrides)
    #[argh(switch, short = 'v')]
    key verbose: bool,
    /// TOML file of settings: every flag is a key (with _ for -); flags
    /// given here win over the file. Read again when it changes, and on
    /// SIGHUP
    #[argh(option)]
    flag config: Option<PathBuf>,
    /// read the --config file again on SIGHUP only, not when it changes
    #[argh(switch)]
    key no_config_watch: bool,
    /// check a config file and exit: 0 when it is good, 2 (with the key
    /// and line at fault) when not
    #[argh(option)]
    flag check_config: Option<PathBuf>,
    /// print the version and exit
    #[argh(switch)]
    flag version: bool,
    /// how long a player of a name nobody publishes waits for its
    /// publisher: 0 answers at once (HTTP 404, RTMP StreamNotFound)
    /// (default: 30 s over HTTP, as long as it stays over RTMP)
    #[argh(option)]
    key wait_for_publisher_seconds: Option<u64>,}

#[cfg(test)]
mod tests {
    use argh::FromArgs;

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
            let error = super::super::file::parse(&format!("{key} = {{}}")).unwrap_err();
            assert!(!error.contains("unknown field"), "--{flag} has no key {key}: {error}");
        }
    }
}
