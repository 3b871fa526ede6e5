//! The only I/O in the server: threads, sockets, channels, locks.
//!
//! `listener` accepts and starts one thread per socket: `connection` for
//! RTMP, `http::connection` for HTTP. Each reads, writes what it owes
//! (`writer`) and sleeps on its socket (`waker`). Streams live in the
//! `registry`; each `stream` fans frames out to its players' sockets and
//! queues (`outlet`), in the form each player takes (`wire`).

mod control;
mod hls;
mod http;
mod net;
mod record;
mod relay;
mod rtmp;
mod srt;
mod stream;
mod validate;
mod wings;

pub use control::clients::{ClientStats, SrtStats};
pub use relay::push::PushStats;
pub use stream::events::Event;
pub use stream::kind::ClientKind;
pub use stream::local::{LocalError, Publisher};
pub use stream::{PlayerCounts, PublisherStats, StreamStats, TrackStats};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::RecvTimeoutError;
use log::{info, warn};

use crate::config::{Config, HttpBind};
use crate::error::{ConfigError, Error};
use crate::media::{Frame, StreamKey};
use control::admission::Admission;
use control::clients::Client;
use control::connections::{Connections, Door};
use control::live::{Current, Live};
use control::started::{OnPublishes, Started};
use http::operations::Operations;
use net::log_limit::PeerWarnings;
use stream::PublisherInfo;
use stream::events::Events;
use stream::registry::Registry;
use wings::Wings;

/// How long `shutdown` waits for connection threads, recordings and the
/// hooks told of what ended.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The RTMP server. Start it with [`Server::start`].
#[derive(Debug)]
pub struct Server;

/// What `ServerHandle::stats` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerStats {
    /// Open connections.
    pub connections: usize,
    /// Streams with a publisher or a player, sorted by key.
    pub streams: Vec<StreamStats>,
}

/// A running server. Dropping it shuts the server down.
pub struct ServerHandle {
    local_addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    api_addr: Option<SocketAddr>,
    tls_addr: Option<SocketAddr>,
    wings: Arc<Wings>,
    /// The accept threads, and the address that wakes each.
    accept_threads: Vec<(SocketAddr, JoinHandle<()>)>,
    /// The SRT door, its address and its socket thread, when it listens.
    srt: Option<(Arc<srt::Srt>, SocketAddr, JoinHandle<()>)>,
    /// Ends when the webhooks and exec workers have both ended.
    workers_done: crossbeam_channel::Receiver<()>,
}

impl Server {
    /// Checks `config` (`Config::validate`: a bad value is
    /// `Error::Config`), binds `config.rtmp.bind` (and `config.http.bind`) and starts
    /// accepting on background threads.
    pub fn start(config: Config) -> Result<ServerHandle, Error> {
        config.validate()?;
        let addr = config.rtmp.bind;
        let listener = net::listener::listen(addr).map_err(|source| Error::Bind { addr, source })?;
        let local_addr = listener.local_addr().map_err(|source| Error::Bind { addr, source })?;
        let http_bind = config.http.bind;
        let api_bind = config.http.api_bind;
        let tls_bind = config.rtmp.tls.clone();
        let tls_certificates = match &tls_bind {
            Some(bind) => Some(crate::tls::Certificates::load(&bind.cert, &bind.key).map_err(Error::Tls)?),
            None => None,
        };
        let events = Events::new();
        let (hooks_events, exec_events) = (events.listen(), events.listen());
        let registry = Arc::new(Registry::new(
            config.stream,
            config.rtmp.session.chunk_size,
            events.clone(),
        ));
        let recorders = Arc::new(record::Recorders::new(registry.clone(), events.clone()));
        let relay_id = {
            let [a, b, c, ..] = control::auth::os_secret();
            format!("{a:02x}{b:02x}{c:02x}")
        };
        let pushes = Arc::new(relay::push::Pushes::new(
            registry.clone(),
            local_addr.port(),
            relay_id.clone(),
        ));
        let muxers = Arc::new(hls::muxer::Muxers::new(registry.clone()));
        // What every publish starts, whoever publishes (a connection, the
        // embedding program, a pull): its recording, its push relays, its
        // HLS files.
        let on_publish = OnPublishes::new(vec![recorders.clone(), pushes.clone(), muxers.clone()]);
        let live = Current::new(Live::new(config));
        let warnings = Arc::new(PeerWarnings::new());
        let pulls = Arc::new(relay::pull::Pulls::new(
            registry.clone(),
            live.clone(),
            warnings.clone(),
            on_publish.clone(),
        ));
        let admission = Arc::new(Admission::new(relay_id, pulls.clone()));
        let connections = Arc::new(Connections::new(registry.clone(), events.clone(), warnings.clone()));
        let wings = Arc::new(Wings {
            events,
            live,
            rtmp_addr: local_addr,
            started: Instant::now(),
            service: net::calendar::since_1970().as_millis().to_string(),
            feeds: Arc::new(srt::Feeds::new(registry.clone())),
            registry,
            stopping: AtomicBool::new(false),
            admission,
            on_publish,
            pushes,
            pulls,
            recorders,
            muxers,
            warnings,
            connections,
        });
        // Told of every event, they read the settings in force at each,
        // so a reload changes hooks and commands too. They end when
        // shutdown closes their queues (the hooks worker holds the server
        // weakly), each dropping its `done`.
        let (done, workers_done) = crossbeam_channel::bounded::<()>(0);
        let (current, weak) = (wings.live.clone(), Arc::downgrade(&wings.connections));
        let hooks_done = done.clone();
        std::thread::Builder::new()
            .name("hooks".into())
            .spawn(move || {
                control::hooks::tell(&current, hooks_events, &weak);
                drop(hooks_done);
            })
            .map_err(Error::Spawn)?;
        let current = wings.live.clone();
        let ports = Arc::new(control::exec::Ports {
            rtmp: local_addr.port(),
            ..control::exec::Ports::default()
        });
        let exec_ports = ports.clone();
        std::thread::Builder::new()
            .name("exec-events".into())
            .spawn(move || {
                control::exec::run(&current, exec_events, &exec_ports);
                drop(done);
            })
            .map_err(Error::Spawn)?;
        let mut handle = ServerHandle {
            local_addr,
            http_addr: None,
            api_addr: None,
            tls_addr: None,
            wings,
            accept_threads: Vec::new(),
            srt: None,
            workers_done,
        };
        // On error, dropping `handle` stops the threads already started.
        let door = Arc::new(rtmp::Rtmp {
            current: handle.wings.live.clone(),
            registry: handle.wings.registry.clone(),
            admission: handle.wings.admission.clone(),
            connections: handle.wings.connections.clone(),
            on_publish: handle.wings.on_publish.clone(),
            warnings: handle.wings.warnings.clone(),
            buffered: AtomicUsize::new(0),
            tls: tls_certificates,
        });
        let plain = door.clone();
        handle.accept(listener, local_addr, ("rtmp", Door::Rtmp), move |socket, client| {
            rtmp::connection::serve(socket, client, plain.clone())
        })?;
        info!("listening on {local_addr}");
        handle.wings.pulls.start_static(&handle.wings.live.now());
        if let Some(bind) = tls_bind {
            let addr = bind.addr;
            let listener = net::listener::listen(addr).map_err(|source| Error::Bind { addr, source })?;
            let local = listener.local_addr().map_err(|source| Error::Bind { addr, source })?;
            handle.accept(listener, local, ("rtmps", Door::Rtmp), move |socket, client| {
                rtmp::rtmps::serve(socket, client, door.clone())
            })?;
            handle.tls_addr = Some(local);
            info!("listening for RTMPS on {local}");
        }
        let w = &handle.wings;
        let door = Arc::new(http::Http {
            current: w.live.clone(),
            registry: w.registry.clone(),
            admission: w.admission.clone(),
            muxers: w.muxers.clone(),
            pulls: w.pulls.clone(),
            warnings: w.warnings.clone(),
            secret: control::auth::os_secret(),
            held: Default::default(),
            server: handle.wings.clone(),
        });
        if let Some(bind) = handle.wings.live.now().config.srt.bind {
            handle.start_srt(bind)?;
        }
        let bind_http = |bind: HttpBind| {
            let open = |addr| net::listener::listen(addr).and_then(|l| Ok((l.local_addr()?, l)));
            net::listener::optional(bind, "HTTP", open)
        };
        if let Some((addr, listener)) = http_bind.map(bind_http).transpose()?.flatten() {
            let http = door.clone();
            handle.accept(listener, addr, ("http", Door::Http), move |socket, client| {
                http::connection::serve(socket, client, http.clone())
            })?;
            handle.http_addr = Some(addr);
            let _ = ports.http.set(addr.port());
            info!("listening for HTTP on {addr}");
        }
        if let Some(addr) = api_bind {
            let listener = net::listener::listen(addr).map_err(|source| Error::Bind { addr, source })?;
            let local = listener.local_addr().map_err(|source| Error::Bind { addr, source })?;
            handle.accept(listener, local, ("api", Door::Http), move |socket, client| {
                http::connection::serve_api(socket, client, door.clone())
            })?;
            handle.api_addr = Some(local);
            info!("listening for the API, the dashboard, /stat and /metrics on {local}");
        }
        Ok(handle)
    }
}

impl ServerHandle {
    /// Starts the SRT door on `bind` (UDP); an optional address that
    /// cannot be bound is logged, as HTTP's is.
    fn start_srt(&mut self, bind: HttpBind) -> Result<(), Error> {
        let w = &self.wings;
        let door = Arc::new(srt::Srt {
            current: w.live.clone(),
            registry: w.registry.clone(),
            admission: w.admission.clone(),
            connections: w.connections.clone(),
            on_publish: w.on_publish.clone(),
            warnings: w.warnings.clone(),
            feeds: w.feeds.clone(),
            stopping: AtomicBool::new(false),
            held: AtomicUsize::new(0),
        });
        let started = net::listener::optional(bind, "SRT", |addr| srt::start(door.clone(), addr))?;
        if let Some((local, thread)) = started {
            self.srt = Some((door, local, thread));
        }
        Ok(())
    }

    /// Starts a thread accepting on `listener`, whose threads are named
    /// for `kind` and whose connections count against `door`'s limits.
    fn accept(
        &mut self,
        listener: TcpListener,
        addr: SocketAddr,
        (kind, door): (&'static str, Door),
        serve: impl Fn(Arc<TcpStream>, Arc<Client>) + Send + Sync + 'static,
    ) -> Result<(), Error> {
        let wings = self.wings.clone();
        let serve = Arc::new(serve);
        let thread = std::thread::Builder::new()
            .name(format!("{kind}-accept"))
            .spawn(move || {
                net::listener::run(listener, &wings.stopping, |socket, peer| {
                    let serve = serve.clone();
                    let limits = &wings.live.now().config.limits;
                    (wings.connections).serve(limits, (socket, peer), (kind, door), move |socket, client| {
                        serve(socket, client)
                    });
                })
            })
            .map_err(Error::Spawn)?;
        self.accept_threads.push((addr, thread));
        Ok(())
    }

    /// The address the server listens on for RTMP (with the real port when
    /// the config asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the API, the dashboard, `/stat` and `/metrics` when
    /// `Config::http.api_bind` gives them one (with the real port when it asked
    /// for port 0).
    pub fn api_addr(&self) -> Option<SocketAddr> {
        self.api_addr
    }

    /// The address the server listens on for RTMPS, if it does.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// The address the server listens on for SRT (UDP), if it does.
    pub fn srt_addr(&self) -> Option<SocketAddr> {
        self.srt.as_ref().map(|(_, addr, _)| *addr)
    }

    /// The address the server listens on for HTTP, if it does.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_addr
    }

    /// Connections and streams right now.
    pub fn stats(&self) -> ServerStats {
        ServerStats {
            connections: self.connections(),
            streams: self.wings.streams(),
        }
    }

    /// What happens on the server, as it happens: connections opened and
    /// closed, publishes and plays started and stopped, slow players
    /// dropped. The channel is bounded (4096 events) and the server never
    /// waits for it: read it promptly, or the newest events are lost.
    /// Every call returns the same channel: give it one reader.
    ///
    /// ```no_run
    /// use rustic_rtmp::{Config, Event, Server};
    ///
    /// let mut config = Config::default();
    /// config.rtmp.bind = "127.0.0.1:0".parse().unwrap();
    /// let server = Server::start(config).unwrap();
    /// let events = server.events();
    /// std::thread::spawn(move || {
    ///     for event in events {
    ///         if let Event::PublishStarted { key, .. } = event {
    ///             println!("{key} is live");
    ///         }
    ///     }
    /// });
    /// ```
    pub fn events(&self) -> crossbeam_channel::Receiver<Event> {
        self.wings.events.receiver()
    }

    /// Puts `config` in force for connections opened from now on; those
    /// already open keep the settings they opened with, except that with
    /// `config.reload_drops_refused` the publishers and players its access
    /// rules refuse are closed. Hooks and commands told after the fact
    /// follow the new settings at once. The addresses to listen on and
    /// the stream settings (chunk size, caches, queues) stay as they were
    /// at the start (a warning says so when the addresses differ).
    ///
    /// A `config` that `Config::validate` refuses is not put in force: the
    /// settings stay as they were and the error says which value is bad.
    pub fn reload(&self, config: Config) -> Result<(), ConfigError> {
        config.validate()?;
        let old = self.wings.live.now();
        let (was, now) = (&old.config, &config);
        let listening = |c: &Config| (c.rtmp.bind, c.rtmp.tls.clone(), c.http.bind, c.http.api_bind);
        if listening(was) != listening(now) {
            warn!("reload: the addresses to listen on change only with a restart");
        }
        let mut removed = control::access::removed_rules(&was.access, &now.access);
        for (name, app) in &was.apps {
            let after = now.apps.get(name).map(|a| &a.access).unwrap_or(&now.access);
            removed.extend(
                control::access::removed_rules(&app.access, after)
                    .into_iter()
                    .map(|r| format!("[app.{name}] {r}")),
            );
        }
        if !removed.is_empty() {
            warn!("reload removes access rules: {}", removed.join(", "));
        }
        let live = Arc::new(Live::new(config));
        self.wings.live.set(live.clone());
        info!("reloaded: new settings apply to new connections");
        self.wings.pushes.follow_reload(&live);
        if live.config.reload_drops_refused {
            let n = self.wings.connections.drop_refused(&live);
            info!("reload: closed {n} publishers and players the new access rules refuse");
        }
        Ok(())
    }

    /// Publishes `key` from inside the program: the frames sent through
    /// the returned `Publisher` go to the stream's players over every
    /// protocol, as an encoder's would; dropping it ends the publish.
    /// Access rules and the `Policy` are not asked (the program is its own
    /// policy), and no hooks run, since no client connected.
    ///
    /// ```no_run
    /// use rustic_rtmp::media::{Frame, FrameKind, StreamKey};
    /// use rustic_rtmp::protocol::time::RtmpTime;
    /// use rustic_rtmp::{Config, Server};
    ///
    /// let server = Server::start(Config::default()).unwrap();
    /// let publisher = server.publish(&StreamKey::new("live", "made-here")).unwrap();
    /// // An AAC sequence header (AudioSpecificConfig: LC, 44.1 kHz, stereo).
    /// let header = Frame { kind: FrameKind::Audio, timestamp: RtmpTime(0), payload: vec![0xAF, 0, 0x12, 0x10] };
    /// publisher.send(header).unwrap();
    /// // ... audio frames; players at rtmp://host/live/made-here hear them.
    /// ```
    pub fn publish(&self, key: &StreamKey) -> Result<Publisher, LocalError> {
        if self.wings.stopping.load(Ordering::SeqCst) {
            return Err(LocalError::Stopped);
        }
        let id = self.wings.registry.new_conn_id();
        let info = PublisherInfo {
            addr: stream::local::LOCAL_ADDR,
            encoder: "in-process".into(),
            tc_url: String::new(),
        };
        let publishing =
            (self.wings.registry.publish(key, id, info)).ok_or_else(|| LocalError::AlreadyPublished(key.clone()))?;
        let live = self.wings.live.now();
        self.wings.on_publish.tell(&Started {
            live: &live,
            key,
            id,
            addr: stream::local::LOCAL_ADDR,
            extra: None,
            came: &control::trail::Came::default(),
        });
        info!(
            "local#{id} publish start app={}",
            crate::protocol::escape::Escaped(&key.app)
        );
        Ok(Publisher::new(publishing, id, key.clone()))
    }

    /// Plays `key` inside the program: the stream's frames arrive on the
    /// returned channel as the publisher sent them, byte for byte, starting
    /// with its metadata, sequence headers and cached GOP. It is a player
    /// like any other: it waits for a publisher if none is live yet, stays
    /// subscribed across republishes, and if it does not keep up it skips
    /// to the next keyframe and, stalled long enough, is dropped (the
    /// channel then ends). Dropping the receiver unsubscribes it at the
    /// next frame; shutting the server down ends the channel.
    ///
    /// ```no_run
    /// use rustic_rtmp::media::StreamKey;
    /// use rustic_rtmp::{Config, Server};
    ///
    /// let server = Server::start(Config::default()).unwrap();
    /// let frames = server.subscribe(&StreamKey::new("live", "cam1")).unwrap();
    /// for frame in frames.iter().take(100) {
    ///     if frame.is_keyframe() {
    ///         println!("keyframe at {} ms, {} bytes", frame.timestamp.0, frame.payload.len());
    ///     }
    /// }
    /// ```
    pub fn subscribe(&self, key: &StreamKey) -> Result<crossbeam_channel::Receiver<Frame>, LocalError> {
        if self.wings.stopping.load(Ordering::SeqCst) {
            return Err(LocalError::Stopped);
        }
        let frames = stream::local::subscribe(&self.wings.registry, &self.wings.live.now().config.players, key)?;
        info!("local play start app={}", crate::protocol::escape::Escaped(&key.app));
        Ok(frames)
    }

    /// Every push relay: where (without its stream key), connected or not,
    /// bytes sent, reconnects and the last error.
    pub fn pushes(&self) -> Vec<PushStats> {
        self.wings.pushes()
    }

    /// Pushes `key`, while it is published, to `url` as well (with the
    /// substitutions of `Config::relay.push`); the relay ends with the publish.
    /// The API's own push: false when nobody publishes `key`, when `url`
    /// is no `rtmp://` or `rtmps://` URL, or when the stream goes there
    /// already or to as many places as it may (16).
    pub fn add_push(&self, key: &StreamKey, url: &str) -> bool {
        let live = self.wings.live.now();
        let published = self.wings.streams().iter().any(|s| &s.key == key && s.publishing);
        published && (self.wings.add_push(&live, key, relay::push::target(url, key))).is_ok()
    }

    /// Stops pushing `key` to `url`; false when it was not.
    pub fn remove_push(&self, key: &StreamKey, url: &str) -> bool {
        self.wings.remove_push(key, url)
    }

    /// Every open connection, and every HLS viewer (`hls-play`, told from
    /// its requests): who, doing what, bytes moved.
    pub fn clients(&self) -> Vec<ClientStats> {
        self.wings.clients()
    }

    /// Closes connection `id` (a publisher's players get StreamEOF, as
    /// when it stops); false when no such connection is open.
    pub fn kick(&self, id: u64) -> bool {
        self.wings.kick(id)
    }

    /// Drains the server (`true`), so that a load balancer in front can
    /// take it out without cutting anyone: it takes no new publishers or
    /// players, keeps those connected, and `/healthz` answers 503; `false`
    /// takes new ones again.
    pub fn drain(&self, draining: bool) {
        self.wings.drain(draining);
    }

    /// Whether the server is draining (`drain`).
    pub fn is_draining(&self) -> bool {
        self.wings.admission.draining()
    }

    /// Open connections right now; cheaper than `stats`, which visits
    /// every stream and player.
    pub fn connections(&self) -> usize {
        self.wings.connections.count()
    }

    /// Stops accepting, closes every connection, finishes every recording
    /// and tells the hooks and commands of all that ended, waiting up to
    /// two seconds in all. Calling it again does nothing.
    pub fn shutdown(&mut self) {
        if self.wings.stopping.swap(true, Ordering::SeqCst) {
            return;
        }
        self.wings.pulls.stop();
        // Each accept thread sits in accept(): connect once to wake it.
        for (addr, thread) in self.accept_threads.drain(..) {
            let wake = match addr.ip() {
                IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port())),
                IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::from((Ipv6Addr::LOCALHOST, addr.port())),
                _ => addr,
            };
            let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
            let _ = thread.join();
        }
        // The SRT socket thread looks up every 100 ms; its connections
        // close with the others below.
        if let Some((door, _, thread)) = self.srt.take() {
            door.stopping.store(true, Ordering::SeqCst);
            let _ = thread.join();
        }
        // Players hear StreamEOF; closing the read side ends each reader,
        // and its writer flushes what is queued before the socket closes.
        // Recorders are let go of, and finish their files meanwhile.
        self.wings.registry.end_all();
        let start = Instant::now();
        let deadline = start + SHUTDOWN_GRACE;
        // Half the grace for a clean close, then cut what is left.
        let closing = self.wings.connections.close_all(start + SHUTDOWN_GRACE / 2, deadline);
        if closing > 0 {
            warn!("{closing} connections still closing after {SHUTDOWN_GRACE:?}");
        }
        // A process that exits now would leave a recording as `.part`
        // with no `on_record_done`.
        let recording = self.wings.recorders.wait_all(deadline);
        if recording > 0 {
            warn!("{recording} recordings still finishing after {SHUTDOWN_GRACE:?}");
        }
        // What ended is queued for the workers by now: the done webhooks,
        // `exec_*_done`, and the stop of each `exec_publish` command.
        self.wings.events.close_workers();
        if let Err(RecvTimeoutError::Timeout) = self.workers_done.recv_deadline(deadline) {
            warn!("hooks and exec still running after {SHUTDOWN_GRACE:?}");
        }
        info!("stopped listening on {}", self.local_addr);
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
