//! `Config`: everything an embedder or the CLI can set, one section per
//! concern (`rtmp`, `http`, `hls`, `stream`, `players`, `limits`, `relay`,
//! then who may do what: `access`, `policy`, `hooks`, `apps`). A section
//! is the type its wing or layer takes, handed down as it is: the session
//! its `SessionConfig`, the chunk decoder its `DecoderLimits`, each HLS
//! segmenter its `Timing`, each stream its `StreamSettings`. Each default
//! is written once, in the section's `Default` (or the layer's).
//!
//! `Config::validate` (in `server/validate.rs`: it reads files, which this
//! module may not) checks it.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::media::hls::{Timing, Variant};
use crate::media::recording::{Container, Keep, Rotation};
use crate::policy::Policy;
use crate::protocol::chunk::DecoderLimits;
use crate::session::SessionConfig;

mod cidr;
pub use cidr::Cidr;

/// The stack of every connection thread. It decodes AMF (depth-limited),
/// formats logs and writes, and no recursion there depends on what a peer
/// sends. The fuzz
/// entry points run on a stack this size too.
pub(crate) const THREAD_STACK: usize = 256 * 1024;

/// Server settings, one section per concern; each wing of the server is
/// handed its section as it is. `Config::default()` is what `rustic_rtmp`
/// runs with, except that it has no HTTP listener: an embedding program
/// opens one by setting `http.bind`.
///
/// Every section has a `Default`, so one setting is changed thus:
///
/// ```
/// use std::time::Duration;
/// use rustic_rtmp::{Config, HlsSettings};
/// use rustic_rtmp::media::hls::Timing;
///
/// let config = Config {
///     hls: HlsSettings {
///         timing: Timing { part: Duration::from_millis(300), ..Timing::default() },
///         ..HlsSettings::default()
///     },
///     ..Config::default()
/// };
/// config.validate().unwrap();
/// ```
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The RTMP door: where it listens, the session and the peer limits.
    pub rtmp: RtmpSettings,
    /// The HTTP door: where it listens, its requests' limits.
    pub http: HttpSettings,
    /// HLS on the HTTP port, and its files.
    pub hls: HlsSettings,
    /// The SRT door: where it listens, its latency, passphrase and bounds.
    pub srt: SrtSettings,
    /// What every stream runs with: its caches, when a slow player goes.
    pub stream: StreamSettings,
    /// Each player's queue and socket.
    pub players: PlayerSettings,
    /// How many connections, and how many bytes they hold.
    pub limits: Limits,
    /// Push and pull relays.
    pub relay: RelaySettings,
    /// Record every published stream to files, when set.
    pub record: Option<Record>,
    /// Who may publish and play.
    pub access: Access,
    /// The embedding program's say on connects, publishes and plays,
    /// asked after `access` and `hooks` let them through.
    pub policy: Option<Arc<dyn Policy>>,
    /// Webhooks with nginx-rtmp's `on_*` contract, and commands to run.
    pub hooks: Hooks,
    /// Applications (`rtmp://host/APP/name`) with access rules, hooks,
    /// recording and relays of their own, which their streams follow
    /// instead of `access`, `hooks`, `record` and `relay`'s `push` and
    /// `pull`. Other applications follow those.
    pub apps: BTreeMap<String, App>,
    /// On `ServerHandle::reload`, close the publishers and players that
    /// the new access rules refuse (keys, address lists); without it they
    /// go on and only new connections meet the new rules.
    pub reload_drops_refused: bool,
}

/// The RTMP door (`Config::rtmp`).
#[derive(Debug, Clone)]
pub struct RtmpSettings {
    /// Address to listen on; port 0 picks a free port (see
    /// `ServerHandle::local_addr`).
    pub bind: SocketAddr,
    /// Where RTMPS clients connect, with the certificate to show, if
    /// anywhere.
    pub tls: Option<TlsBind>,
    /// What each connection's session announces and decodes: the
    /// outgoing chunk size (which every stream chunks its frames at),
    /// the window sizes, the AMF limits (`max_amf_message_len` is also
    /// the largest message of any kind before a connection's publish is
    /// accepted: only a publisher sends media).
    pub session: SessionConfig,
    /// What a peer may send: the largest message, chunk streams, chunk
    /// size, and the bytes of unfinished messages a publishing connection
    /// may hold (before its publish is accepted, four times
    /// `session.max_amf_message_len` at most).
    pub decoder: DecoderLimits,
    /// Time a peer has to finish the handshake.
    pub handshake_timeout: Duration,
    /// Silence after which a peer is sent a PingRequest; a peer that then
    /// stays silent as long again is closed as dead.
    pub ping_interval: Duration,
    /// Time a publisher may go without sending media before it is closed.
    pub idle_publisher_timeout: Duration,
    /// How long an RTMP player of a stream not live yet waits for its
    /// publisher before the connection closes; `None`: as long as it
    /// stays (nginx-rtmp's way); zero: refused at once.
    pub wait_for_publisher: Option<Duration>,
    /// A publish of a stream that is live (with every access rule met)
    /// replaces its publisher instead of being refused: its players stay
    /// and go on from the new publisher's keyframe, on the same timeline.
    /// For encoders that reconnect before the server noticed their old
    /// connection died.
    pub publisher_takeover: bool,
    /// A test hook, in debug builds only: a connection whose publish to
    /// this app is accepted then panics in its thread, to show that a bug
    /// there ends only that connection.
    #[cfg(debug_assertions)]
    #[doc(hidden)]
    pub panic_after_publish_to_app: Option<String>,
}

/// The peer limits and session settings are the defaults of the layers
/// that enforce them, so each number is written once.
impl Default for RtmpSettings {
    fn default() -> Self {
        RtmpSettings {
            bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 1935)),
            tls: None,
            session: SessionConfig::default(),
            decoder: DecoderLimits::default(),
            handshake_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(30),
            idle_publisher_timeout: Duration::from_secs(30),
            wait_for_publisher: None,
            publisher_takeover: false,
            #[cfg(debug_assertions)]
            panic_after_publish_to_app: None,
        }
    }
}

/// The HTTP door (`Config::http`): HTTP-FLV, fMP4, HLS, the API.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Where HTTP players connect, if anywhere.
    pub bind: Option<HttpBind>,
    /// An address of their own for the API, the dashboard, `/stat` and
    /// `/metrics` (loopback, say), which the HTTP port then no longer
    /// serves; `None`: the HTTP port serves them too.
    pub api_bind: Option<SocketAddr>,
    /// Names the API, the dashboard, `/stat` and `/metrics` answer to in
    /// a request's `Host`, besides IP addresses, `localhost` and the
    /// machine's host name: a page on any other name is refused there,
    /// which defeats DNS rebinding. Media answers to any name.
    pub hosts: Vec<String>,
    /// Time an HTTP client has to send a whole request head.
    pub header_timeout: Duration,
    /// Time an HTTP connection may stay open between requests.
    pub idle_timeout: Duration,
    /// Largest HTTP request head, in bytes; a longer one is answered 431.
    pub max_header_bytes: usize,
    /// Most header lines in an HTTP request; more are answered 431.
    pub max_headers: usize,
    /// How long an HTTP player of a stream not live yet waits for its
    /// publisher before it is answered 404.
    pub wait_for_publisher: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            bind: None,
            api_bind: None,
            hosts: Vec::new(),
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(15),
            // nginx's default for a request line and its headers together
            // is up to 4 buffers of 8 KiB.
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            wait_for_publisher: Duration::from_secs(30),
        }
    }
}

/// HLS (`Config::hls`).
#[derive(Debug, Clone)]
pub struct HlsSettings {
    /// Serve HLS on the HTTP port (`/APP/NAME/index.m3u8`), muxed only
    /// while someone asks.
    pub enabled: bool,
    /// The segments' container: fMP4 (with LL-HLS parts) or MPEG-TS
    /// (plain HLS, for older players).
    pub variant: Variant,
    /// Where HLS files are written too (`DIR/APP/NAME/`), every stream's
    /// while it is published; `None`: HLS stays in memory, muxed only
    /// while asked.
    pub dir: Option<PathBuf>,
    /// Segment and part targets, segments kept, a segment's byte limit:
    /// what each stream's segmenter is made with.
    pub timing: Timing,
    /// A stream's HLS muxing stops once nobody asked for this long.
    pub idle: Duration,
    /// Bytes of segments all HLS muxers hold together, at most; past it,
    /// a muxer gives up its stream's oldest segments as it adds new ones.
    pub max_bytes: usize,
    /// Playlist and part requests held waiting at once, server-wide...
    pub max_blocked: usize,
    /// ...and from one address.
    pub max_blocked_per_ip: usize,
}

impl Default for HlsSettings {
    fn default() -> Self {
        HlsSettings {
            enabled: true,
            variant: Variant::Fmp4,
            dir: None,
            timing: Timing::default(),
            idle: Duration::from_secs(30),
            max_bytes: 1024 * 1024 * 1024,
            max_blocked: 512,
            max_blocked_per_ip: 32,
        }
    }
}

/// What every stream runs with (`Config::stream`): its caches, and when
/// it gives up on a player that does not read.
#[derive(Debug, Clone, Copy)]
pub struct StreamSettings {
    /// Keep the frames since the last keyframe so a joining player starts
    /// at once with a picture.
    pub gop_cache: bool,
    /// Most frames the GOP cache holds; past it caching stops until the
    /// next keyframe. At most `players.queue_len` less 8, so that a
    /// joining player's queue takes the whole GOP and the headers.
    pub gop_max_frames: usize,
    /// Most bytes a stream's caches hold together: its metadata, every
    /// track's sequence headers and the GOP. A GOP that does not fit is
    /// dropped (joining players wait for the next keyframe); metadata and
    /// headers that do not fit close the publisher.
    pub cache_max_bytes: usize,
    /// Most tracks per stream with sequence headers (Enhanced RTMP
    /// multitrack: each audio and video track is configured apart); a
    /// publisher configuring more is closed.
    pub max_tracks: usize,
    /// Frames a player may miss in a row for want of room while it reads
    /// nothing before it is disconnected: about 8 s of a 25 fps video with
    /// AAC audio. A player that keeps reading, however slowly, only skips
    /// frames.
    pub max_dropped_in_a_row: u64,
    /// How long, besides those frames, the player's thread must have
    /// written nothing before it is disconnected. A publisher faster than
    /// real time drops 600 frames in a few milliseconds, less than a busy
    /// machine may take to schedule a player's thread.
    pub min_stall: Duration,
    /// How long a published frame may wait for more to be written to each
    /// player in the same write (it goes out after the first read from the
    /// publisher past that); zero (the default) writes what each read
    /// brought at once, for the lowest latency.
    pub merge_write: Duration,
}

impl Default for StreamSettings {
    fn default() -> Self {
        StreamSettings {
            gop_cache: true,
            gop_max_frames: 1024,
            // A 4K stream at 50 Mbit/s with 2 s GOPs holds about 12 MiB in
            // its GOP; several multitrack renditions fit as well.
            cache_max_bytes: 64 * 1024 * 1024,
            max_tracks: 32,
            max_dropped_in_a_row: 600,
            min_stall: Duration::from_secs(2),
            merge_write: Duration::ZERO,
        }
    }
}

/// Each player's queue and socket (`Config::players`), over every
/// protocol and in-process.
#[derive(Debug, Clone, Copy)]
pub struct PlayerSettings {
    /// Media messages queued per player before it counts as slow and skips
    /// to the next keyframe.
    pub queue_len: usize,
    /// Bytes queued per player before it counts as slow, likewise.
    pub queue_max_bytes: usize,
    /// Send players each frame at once even while their last segment is
    /// unacknowledged (TCP_NODELAY), instead of letting the kernel gather
    /// frames for a player that reads slowly (Nagle, the default, as
    /// nginx-rtmp and SRS do): lower latency over long links, more CPU.
    pub nodelay: bool,
}

impl Default for PlayerSettings {
    fn default() -> Self {
        PlayerSettings {
            queue_len: 1536,
            // About 5 s of a 50 Mbit/s stream, two of the largest frames.
            queue_max_bytes: 32 * 1024 * 1024,
            nodelay: false,
        }
    }
}

/// How many connections there may be, how many bytes they hold, how long
/// a peer may leave its bytes untaken (`Config::limits`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most open RTMP connections; past it a new socket is closed at once.
    pub max_connections: usize,
    /// Most open RTMP connections from one address; 0 for no limit.
    pub max_connections_per_ip: usize,
    /// Most open HTTP connections (players, HLS viewers, the API),
    /// counted apart from RTMP's so that neither crowds out the other.
    pub http_max_connections: usize,
    /// Most open HTTP connections from one address; 0 for no limit.
    pub http_max_connections_per_ip: usize,
    /// Most bytes of unfinished messages all connections together may hold;
    /// the connection that would pass it is closed.
    pub max_total_buffered_bytes: usize,
    /// Time a peer may take none of the bytes owed to it before it counts
    /// as dead.
    pub write_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10_000,
            max_connections_per_ip: 0,
            http_max_connections: 10_000,
            // Players behind one NAT (an office, a campus) share an
            // address; a page or a script on it gets no more than this.
            http_max_connections_per_ip: 256,
            max_total_buffered_bytes: 512 * 1024 * 1024,
            write_timeout: Duration::from_secs(30),
        }
    }
}

/// Push and pull relays (`Config::relay`).
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Push every published stream to these RTMP URLs (`{app}` and
    /// `{name}` replaced; a URL without a stream name gets the local
    /// name), each on its own connection that reconnects when lost.
    pub push: Vec<String>,
    /// Origins to pull a stream from when it is played here and nobody
    /// publishes it (an edge): base URLs such as `rtmp://origin/live`
    /// (the name is added) or with `{name}`, tried in turn when one fails.
    pub pull: Vec<String>,
    /// How long a pull goes on after its last player left.
    pub pull_idle: Duration,
    /// Pulls started by plays at once, at most: each is a thread and a
    /// connection out, and any name may be played. Static pulls are not
    /// counted.
    pub pull_max: usize,
    /// Streams pulled from the start and for good: full URLs, each
    /// published here under its own app and name.
    pub pull_static: Vec<String>,
    /// Push and pull relays to `rtmps://` accept any certificate
    /// (self-signed LAN servers, tests); otherwise certificates are
    /// checked against Mozilla's roots.
    pub tls_insecure: bool,
}

impl Default for RelaySettings {
    fn default() -> Self {
        RelaySettings {
            push: Vec::new(),
            pull: Vec::new(),
            pull_idle: Duration::from_secs(10),
            pull_max: 256,
            pull_static: Vec::new(),
            tls_insecure: false,
        }
    }
}

impl Config {
    /// Whether stream names are credentials: a publish keys file lists
    /// the names that may publish, server-wide or for an application.
    pub(crate) fn names_are_secret(&self) -> bool {
        let keyed = |access: &Access| access.publish_keys_file.is_some();
        keyed(&self.access) || self.apps.values().any(|app| keyed(&app.access))
    }

    /// The hooks of `app`'s streams: its own, or the server's.
    pub(crate) fn hooks_for(&self, app: &str) -> &Hooks {
        self.apps.get(app).map_or(&self.hooks, |a| &a.hooks)
    }

    /// Where `app`'s streams are pushed.
    pub(crate) fn push_for(&self, app: &str) -> &[String] {
        self.apps.get(app).map_or(&self.relay.push, |a| &a.push)
    }

    /// Where `app`'s streams are pulled from.
    pub(crate) fn pull_for(&self, app: &str) -> &[String] {
        self.apps.get(app).map_or(&self.relay.pull, |a| &a.pull)
    }

    /// The SRT passphrase of `app`'s callers: its own, or the server's.
    pub(crate) fn srt_passphrase_for(&self, app: &str) -> Option<&str> {
        let own = self.apps.get(app).and_then(|a| a.srt_passphrase.as_deref());
        own.or(self.srt.passphrase.as_deref())
    }

    /// Whether any SRT caller must encrypt: the server or an application
    /// has a passphrase.
    pub(crate) fn srt_encrypts(&self) -> bool {
        self.srt.passphrase.is_some() || self.apps.values().any(|a| a.srt_passphrase.is_some())
    }

    /// How `app`'s streams are recorded, if they are.
    pub(crate) fn record_for(&self, app: &str) -> Option<&Record> {
        self.apps.get(app).map_or(self.record.as_ref(), |a| a.record.as_ref())
    }
}

/// Where and how published streams are recorded.
#[derive(Debug, Clone)]
pub struct Record {
    /// The directory files go under.
    pub dir: PathBuf,
    /// The file's path under `dir`, without extension: `{app}`, `{name}`,
    /// `{time}` (UTC, `YYYYmmdd-HHMMSS`) and `{unix}` (seconds) are
    /// replaced. Characters other than letters, digits, `.`, `-` and `_`
    /// in the app and name become `_`.
    pub path: String,
    /// FLV or fragmented MP4.
    pub container: Container,
    /// Audio and video, or one of them.
    pub keep: Keep,
    /// When a file gives way to the next (at a keyframe).
    pub rotation: Rotation,
}

impl Record {
    /// FLV files of audio and video at `dir/{app}/{name}-{time}.flv`, one
    /// per publish.
    pub fn to(dir: impl Into<PathBuf>) -> Record {
        Record {
            dir: dir.into(),
            path: "{app}/{name}-{time}".into(),
            container: Container::Flv,
            keep: Keep::All,
            rotation: Rotation::default(),
        }
    }
}

/// One application's settings (`Config::apps`), whole: nothing is taken
/// from the server-wide ones. (The command's config file starts each
/// `[app.NAME]` section from the server-wide settings.)
#[derive(Debug, Clone, Default)]
pub struct App {
    /// Who may publish and play its streams. `api_token` is not read
    /// here: the API is the server's.
    pub access: Access,
    /// Its webhooks and commands.
    pub hooks: Hooks,
    /// How its streams are recorded, if they are.
    pub record: Option<Record>,
    /// Where its streams are pushed.
    pub push: Vec<String>,
    /// Where its streams are pulled from.
    pub pull: Vec<String>,
    /// The SRT passphrase its callers must encrypt with, in place of
    /// `SrtSettings::passphrase`; `None` leaves them the server's (an
    /// application cannot turn encryption off).
    pub srt_passphrase: Option<String>,
}

/// Webhook URLs (nginx-rtmp's `on_*`): each gets a form-encoded POST.
/// `on_connect`, `on_publish` and `on_play` decide: 2xx allows, 3xx with
/// a name in `Location` renames, anything else or no answer within
/// `timeout` denies. The `_done` ones are told after the fact.
#[derive(Debug, Clone)]
pub struct Hooks {
    /// Asked on RTMP `connect`.
    pub on_connect: Option<String>,
    /// Asked on `publish`.
    pub on_publish: Option<String>,
    /// Asked on `play`, RTMP or HTTP.
    pub on_play: Option<String>,
    /// Told when a publish ends.
    pub on_publish_done: Option<String>,
    /// Told when a play ends.
    pub on_play_done: Option<String>,
    /// Told when a connection that published or played closes.
    pub on_done: Option<String>,
    /// Told when a recorded file is complete (`call=record_done`, with
    /// `path`).
    pub on_record_done: Option<String>,
    /// Told every `update_interval` of each publish and play
    /// (`call=update_publish` or `update_play`, with `time` in seconds);
    /// an answer other than 2xx closes that connection, as nginx-rtmp does.
    pub on_update: Option<String>,
    /// How often `on_update` is told (nginx-rtmp's
    /// `notify_update_interval`).
    pub update_interval: Duration,
    /// Send the hooks' fields as a GET query instead of a POST form
    /// (nginx-rtmp's `notify_method get`).
    pub notify_get: bool,
    /// How long a hook may take to answer.
    pub timeout: Duration,
    /// Commands (argv, no shell) run while a stream is published, with
    /// `$app`, `$name` and `$addr` replaced in each argument: restarted
    /// if they exit, stopped when the publish ends.
    pub exec_publish: Vec<Vec<String>>,
    /// Commands run once when a publish ends, likewise.
    pub exec_publish_done: Vec<Vec<String>>,
    /// Commands run once when a play starts, likewise.
    pub exec_play: Vec<Vec<String>>,
    /// Commands run once when a play ends, likewise.
    pub exec_play_done: Vec<Vec<String>>,
    /// Commands run once when a recorded file is complete, likewise, with
    /// `$path`, `$filename`, `$basename` and `$dirname` replaced too.
    pub exec_record_done: Vec<Vec<String>>,
}

impl Default for Hooks {
    fn default() -> Hooks {
        Hooks {
            on_connect: None,
            on_publish: None,
            on_play: None,
            on_publish_done: None,
            on_play_done: None,
            on_done: None,
            on_update: None,
            on_record_done: None,
            update_interval: Duration::from_secs(30),
            notify_get: false,
            timeout: Duration::from_secs(10),
            exec_publish: Vec::new(),
            exec_publish_done: Vec::new(),
            exec_play: Vec::new(),
            exec_play_done: Vec::new(),
            exec_record_done: Vec::new(),
        }
    }
}

impl Hooks {
    /// Whether any hook decides.
    pub(crate) fn decides(&self) -> bool {
        self.on_connect.is_some() || self.on_publish.is_some() || self.on_play.is_some()
    }
}

/// Where the RTMPS listener binds, and its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsBind {
    /// The address; port 0 picks a free port (see `ServerHandle::tls_addr`).
    pub addr: SocketAddr,
    /// The certificate chain, PEM. Read again for new connections when it
    /// changes on disk.
    pub cert: PathBuf,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The SRT door (`Config::srt`): publishers and readers over SRT, in live
/// mode, carrying MPEG-TS.
#[derive(Debug, Clone)]
pub struct SrtSettings {
    /// Where it listens (UDP), if anywhere; `required` as for HTTP.
    pub bind: Option<HttpBind>,
    /// The TSBPD latency this side asks for; the larger of both sides'
    /// wins. 120 ms, libsrt's default.
    pub latency: Duration,
    /// Callers must encrypt with this passphrase (10 to 79 bytes), and
    /// readers get the stream encrypted with it; `None`: no encryption.
    /// An application's `App::srt_passphrase` replaces it for its streams.
    pub passphrase: Option<String>,
    /// The key length asked of callers with a passphrase (the server's or
    /// an application's): 16, 24 or 32
    /// bytes (AES-128, -192, -256). A caller's own length is used.
    pub key_len: u8,
    /// A caller silent this long is gone (libsrt's peer idle timeout).
    pub idle_timeout: Duration,
    /// Payload bytes one connection holds to play in order (its receive
    /// window), and keeps for retransmission to a reader.
    pub max_buffer_bytes: usize,
}

impl Default for SrtSettings {
    fn default() -> Self {
        SrtSettings {
            bind: None,
            latency: Duration::from_millis(120),
            passphrase: None,
            key_len: 16,
            idle_timeout: Duration::from_secs(5),
            max_buffer_bytes: 8 << 20,
        }
    }
}

/// Where the HTTP listener binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpBind {
    /// The address; port 0 picks a free port (see `ServerHandle::http_addr`).
    pub addr: SocketAddr,
    /// When false, an address that cannot be bound is logged and the
    /// server runs without HTTP (the command's default port, so that
    /// another program on 8080 does not stop an RTMP server); when true it
    /// is an error at start.
    pub required: bool,
}

/// Who may publish and play. The default lets anyone do both.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// When set, publishing needs `?key=` with this value on the stream
    /// name (`rtmp://host/live/name?key=SECRET`)...
    pub publish_key: Option<String>,
    /// ...or a stream name listed in this file, one `name` or `app/name` a
    /// line (`#` starts a comment). The file is read again when it changes.
    pub publish_keys_file: Option<PathBuf>,
    /// When set, playing needs `?key=` with this value.
    pub play_key: Option<String>,
    /// When not empty, only these networks may publish.
    pub allow_publish: Vec<Cidr>,
    /// These networks may not publish.
    pub deny_publish: Vec<Cidr>,
    /// When not empty, only these networks may play.
    pub allow_play: Vec<Cidr>,
    /// These networks may not play.
    pub deny_play: Vec<Cidr>,
    /// When set, the API's changes (`DELETE /api/v1/clients/{id}`) need
    /// `Authorization: Bearer` with this token; when not, they are taken
    /// from loopback addresses only. Reading needs no token.
    pub api_token: Option<String>,
    /// When not empty, encoders (flashVer `FMLE/...`) must log in with
    /// Adobe's `authmod=adobe` challenge as one of these `(user, password)`
    /// pairs, and only logged-in connections may publish.
    pub users: Vec<(String, String)>,
}
