//! The thread of one connection: socket -> handshake -> chunk decoder ->
//! session -> actions, and everything owed back to the peer. It sleeps on
//! its socket between reads (see `waker`). The only place that classifies
//! I/O errors.

use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::{debug, info};

use crate::config::RtmpSettings;
use crate::media::StreamKey;
use crate::protocol::chunk::{ChunkDecoder, DecoderLimits};
use crate::protocol::command::status;
use crate::protocol::escape::Escaped;
use crate::protocol::handshake::{Handshake, Progress, random_filler};
use crate::protocol::message::{Message, UserControl};
use crate::server::control::admission::Asker;
use crate::server::control::clients::{Client, ClientStats};
use crate::server::control::live::Live;
use crate::server::control::started::Started;
use crate::server::control::trail::Came;
use crate::server::net::log_limit::LogLimit;
use crate::server::net::socket::{End, read, write_failed};
use crate::server::net::waker::Sleeper;
use crate::server::rtmp::Rtmp;
use crate::server::stream::kind::ClientKind;
use crate::server::stream::kind::ConnId;
use crate::server::stream::outlet::Outlet;
use crate::server::stream::registry::{Playing, Publishing};
use crate::server::stream::wire::Form;
use crate::server::stream::writer::Output;
use crate::server::stream::{CacheError, PublisherInfo};
use crate::session::{Action, Outbound, ServerSession};

/// A player only sends acknowledgements and pings, so reads start small
/// (the handshake takes C1 in two reads); they grow to `READ_SIZE` once a
/// read fills what it was given (a publisher).
const FIRST_READ_SIZE: usize = 1024;
const READ_SIZE: usize = 64 * 1024;
/// Warnings one connection may cause in 10 s.
const CONNECTION_WARNINGS: u32 = 5;

/// Serves one accepted socket to the end; logs how it ended.
pub(crate) fn serve(socket: Arc<TcpStream>, client: Arc<Client>, door: Arc<Rtmp>) {
    let (id, peer) = (client.id(), client.addr());
    info!("conn#{id} {peer} opened");
    let (end, left_out) = run(&socket, &client, &door);
    if let End::Misbehaved(_) | End::Io(_) = &end {
        door.warnings
            .warn(None, format_args!("conn#{id} {peer} {end}; closing"));
    }
    let _ = socket.shutdown(Shutdown::Both);
    match left_out {
        0 => info!("conn#{id} {peer} closed ({end})"),
        n => info!("conn#{id} {peer} closed ({end}; {n} warnings left out)"),
    }
}

/// The handshake, bounded in time; returns the bytes read past it. Its
/// state (the handshake's buffers, 7 KiB) is dropped on return.
///
/// Not inlined: its 3 KiB stack frame (the S1 random field among it) would
/// otherwise sit under the whole session in `run`, and each page of stack a
/// connection thread ever touches stays resident: 16 -> 12 KiB a reader
/// thread, measured in /proc/PID/smaps with 200 players.
#[inline(never)]
fn handshake(socket: &TcpStream, rtmp: &RtmpSettings, client: &Client) -> Result<Vec<u8>, End> {
    let id = client.id();
    let mut reader = socket;
    let mut buf = vec![0u8; FIRST_READ_SIZE];
    let _ = socket.set_read_timeout(Some(rtmp.handshake_timeout));
    let epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut handshake = Handshake::server(epoch.as_millis() as u32, &random_filler(epoch.as_nanos() as u64 ^ id));
    loop {
        let n = match read(&mut reader, &mut buf)? {
            Some(n) => n,
            None => {
                return Err(End::Misbehaved(format!(
                    "handshake not done within {:?}",
                    rtmp.handshake_timeout
                )));
            }
        };
        client.received(n);
        let progress = handshake.push(&buf[..n]).map_err(|e| End::Misbehaved(e.to_string()))?;
        client
            .counting(reader)
            .write_all(&handshake.take_output())
            .map_err(End::Io)?;
        if let Progress::Done { leftover } = progress {
            debug!("conn#{id} handshake done scheme={:?}", handshake.scheme());
            return Ok(leftover);
        }
    }
}

/// Serves the connection; how it ended, and how many of the warnings it
/// caused were not written.
fn run(socket: &Arc<TcpStream>, client: &Arc<Client>, door: &Arc<Rtmp>) -> (End, u64) {
    // The settings in force when it opened, for its whole life.
    let live = door.current.now();
    let _ = socket.set_nodelay(true);
    let _ = socket.set_write_timeout(Some(live.config.limits.write_timeout));
    match handshake(socket, &live.config.rtmp, client) {
        Ok(leftover) => session(socket, client, door, live, &leftover),
        Err(end) => (end, 0),
    }
}

/// The connection after its handshake, with the bytes read past it.
///
/// Not inlined, for the same reason as `handshake`: the two stack frames
/// are siblings, so the deepest the stack goes is the larger of them, not
/// their sum. A connection thread then touches two pages of stack below
/// the page holding its thread descriptor, not three (/proc/PID/pagemap).
#[inline(never)]
fn session(
    socket: &Arc<TcpStream>,
    client: &Arc<Client>,
    door: &Arc<Rtmp>,
    live: Arc<Live>,
    leftover: &[u8],
) -> (End, u64) {
    let (id, peer) = (client.id(), client.addr());
    let config = &live.config;
    let (outlet, media) = Outlet::new(
        socket.clone(),
        Form::Rtmp,
        config.players.queue_len,
        config.players.queue_max_bytes,
    );
    client.attach(&outlet);
    let sleeper = match Sleeper::new(outlet.waker()) {
        Ok(sleeper) => sleeper,
        Err(e) => return (End::Io(e), 0),
    };
    let mut connection = Connection {
        id,
        peer,
        door: door.clone(),
        live: live.clone(),
        session: ServerSession::new(config.rtmp.session),
        decoder: ChunkDecoder::new(limits_before_publish(&config.rtmp)),
        held: 0,
        warnings: LogLimit::new(CONNECTION_WARNINGS, Duration::from_secs(10)),
        output: Output::new(media),
        socket: socket.clone(),
        outlet: outlet.clone(),
        publishing: None,
        playing: None,
        logged_in: false,
        client: client.clone(),
        timers: Timers {
            started: Instant::now(),
            last_read: Instant::now(),
            ping_sent: None,
            last_media: Instant::now(),
            publisher_due: None,
            ping_interval: config.rtmp.ping_interval,
            idle_publisher_timeout: config.rtmp.idle_publisher_timeout,
            write_timeout: config.limits.write_timeout,
        },
    };
    connection.decoder.push(leftover);
    let mut end = connection.input(leftover.len()).err();
    let mut read_size = FIRST_READ_SIZE;
    while end.is_none() {
        end = connection.step(&sleeper, &mut read_size).err();
    }
    let end = end.unwrap_or(End::PeerLeft);
    // Leave the stream, then write what is still owed (replies to a
    // refused command, StreamEOF at shutdown) unless the peer is gone.
    connection.leave();
    if !matches!(end, End::TooSlow | End::NotReading(_) | End::WriteFailed(_)) {
        connection.finish_output(&sleeper);
    }
    (end, connection.warnings.left_out())
}

struct Connection {
    id: ConnId,
    peer: SocketAddr,
    door: Arc<Rtmp>,
    /// The settings it opened with.
    live: Arc<Live>,
    session: ServerSession,
    decoder: ChunkDecoder,
    socket: Arc<TcpStream>,
    /// The media queue; a clone goes to the stream on `play`.
    outlet: Arc<Outlet>,
    /// What is owed to the peer.
    output: Output,
    publishing: Option<Publishing>,
    playing: Option<Playing>,
    /// The decoder's held bytes as counted in the server-wide total.
    held: usize,
    /// Warnings this peer may still cause.
    warnings: LogLimit,
    /// Logged in with authmod=adobe.
    logged_in: bool,
    /// What the API shows of this connection.
    client: Arc<Client>,
    timers: Timers,
}

/// When the peer was last heard from, and the liveness rules.
struct Timers {
    started: Instant,
    last_read: Instant,
    /// When a PingRequest went out with no byte from the peer since.
    ping_sent: Option<Instant>,
    /// The last media frame from a publishing peer (or its publish start).
    last_media: Instant,
    /// When a player of a name nobody publishes gives up waiting for its
    /// publisher (`Config::rtmp.wait_for_publisher`).
    publisher_due: Option<Instant>,
    ping_interval: Duration,
    idle_publisher_timeout: Duration,
    write_timeout: Duration,
}

impl Timers {
    /// When `check_timers` has something to do next.
    fn next_due(&self, publishing: bool, stuck_since: Option<Instant>) -> Instant {
        let ping = self.ping_sent.unwrap_or(self.last_read) + self.ping_interval;
        let media = publishing.then(|| self.last_media + self.idle_publisher_timeout);
        let write = stuck_since.map(|since| since + self.write_timeout);
        [media, write, self.publisher_due]
            .into_iter()
            .flatten()
            .fold(ping, Instant::min)
    }
}

/// Before its publish is accepted a connection sends only commands, which
/// are under 64 KiB in every real client: its messages may be no longer
/// than `session.max_amf_message_len`, and it may hold four of them. Once
/// accepted, it has `rtmp.decoder` as it is.
fn limits_before_publish(rtmp: &RtmpSettings) -> DecoderLimits {
    let limits = rtmp.decoder;
    let max_len = rtmp.session.max_amf_message_len.min(limits.max_message_len as usize);
    DecoderLimits {
        max_message_len: max_len as u32,
        max_partial_bytes: (4 * max_len).min(limits.max_partial_bytes),
        ..limits
    }
}

impl Connection {
    /// Writes what is owed, sleeps until the socket, the queue or a timer
    /// has something, and handles it.
    fn step(&mut self, sleeper: &Sleeper<'_>, read_size: &mut usize) -> Result<(), End> {
        let done = self.output.write(&self.socket, &self.outlet).map_err(write_failed)?;
        if self.outlet.is_hung_up() {
            return Err(End::TooSlow);
        }
        let now = Instant::now();
        let due = self
            .timers
            .next_due(self.publishing.is_some(), self.output.stuck_since());
        let output = &self.output;
        let readable = sleeper
            .wait(
                &self.socket,
                !done,
                || output.has_queued(),
                due.saturating_duration_since(now),
            )
            .map_err(End::Io)?;
        if readable {
            // Read straight into the decoder's buffer.
            let room = self.decoder.unfilled(*read_size);
            let asked = room.len();
            if let Some(n) = read(&mut &*self.socket, room)? {
                self.client.received(n);
                self.decoder.filled(n);
                if n == asked {
                    *read_size = READ_SIZE;
                }
                self.input(n)?;
                self.count_held()?;
            }
        }
        self.check_timers(Instant::now())
    }

    /// Leaves the streams this connection publishes or plays.
    fn leave(&mut self) {
        if self.publishing.take().is_some() {
            info!("conn#{} {} publish stop", self.id, self.peer);
        }
        if self.playing.take().is_some() {
            info!("conn#{} {} play stop", self.id, self.peer);
        }
    }

    /// Writes what is still owed, waiting for the socket up to the write
    /// timeout (shutdown closes it sooner).
    fn finish_output(&mut self, sleeper: &Sleeper<'_>) {
        let deadline = Instant::now() + self.timers.write_timeout;
        while let Ok(false) = self.output.write(&self.socket, &self.outlet) {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            let _ = sleeper.wait(&self.socket, true, || false, deadline - now);
        }
    }

    /// Counts the decoder's held bytes in the server-wide total, and ends
    /// this connection when they would take the total past its limit.
    fn count_held(&mut self) -> Result<(), End> {
        let held = self.decoder.held();
        let total = &self.door.buffered;
        if held <= self.held {
            total.fetch_sub(self.held - held, Ordering::Relaxed);
            self.held = held;
            return Ok(());
        }
        let more = held - self.held;
        self.held = held;
        let now = total.fetch_add(more, Ordering::Relaxed) + more;
        let limit = self.live.config.limits.max_total_buffered_bytes;
        if now > limit {
            return Err(End::Misbehaved(format!(
                "holds {held} bytes of unfinished messages while all connections together passed the limit of {limit}"
            )));
        }
        Ok(())
    }

    /// Pings a silent peer, and ends a connection whose peer did not answer
    /// a ping in time, that publishes without sending media or that takes
    /// nothing we send.
    fn check_timers(&mut self, now: Instant) -> Result<(), End> {
        let t = &mut self.timers;
        if let Some(since) = self.output.stuck_since()
            && now.duration_since(since) >= t.write_timeout
        {
            return Err(End::NotReading(t.write_timeout));
        }
        if let Some(due) = t.publisher_due
            && now >= due
        {
            t.publisher_due = None;
            if self.playing.as_ref().is_some_and(|p| !p.is_live()) {
                return Err(End::Closed("nothing was published in time"));
            }
        }
        if self.publishing.is_some() && now.duration_since(t.last_media) > t.idle_publisher_timeout {
            return Err(End::Misbehaved(format!(
                "published no media for {:?}",
                t.idle_publisher_timeout
            )));
        }
        match t.ping_sent {
            Some(sent) if now.duration_since(sent) >= t.ping_interval => Err(End::Misbehaved(format!(
                "no answer to a ping within {:?}",
                t.ping_interval
            ))),
            None if now.duration_since(t.last_read) >= t.ping_interval => {
                t.ping_sent = Some(now);
                let stamp = now.duration_since(t.started).as_millis() as u32;
                let ping = Outbound::control(Message::UserControl(UserControl::PingRequest(stamp)));
                self.output.control(&self.outlet, &ping);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Counts `n` bytes just added to the decoder and handles every message
    /// they complete.
    fn input(&mut self, n: usize) -> Result<(), End> {
        let now = Instant::now();
        self.timers.last_read = now;
        self.timers.ping_sent = None;
        if let Some(ack) = self.session.bytes_received(n) {
            self.apply(vec![ack])?;
        }
        loop {
            let raw = match self.decoder.next_message() {
                Ok(Some(raw)) => raw,
                Ok(None) => {
                    // Everything this read brought goes to the players together.
                    if let Some(publishing) = &self.publishing {
                        publishing.flush();
                    }
                    return Ok(());
                }
                Err(e) => return Err(End::Misbehaved(e.to_string())),
            };
            // The message, then an aggregate's parts a few at a time.
            let mut next = Some(self.session.handle(raw));
            while let Some(handled) = next {
                match handled {
                    Ok(actions) => self.apply(actions)?,
                    // A message we cannot read is dropped; the stream goes on.
                    Err(e) => self.door.warnings.warn(
                        Some(&mut self.warnings),
                        format_args!("conn#{} {} {e}; message dropped", self.id, self.peer),
                    ),
                }
                next = self.session.next_parts();
            }
        }
    }

    fn apply(&mut self, actions: Vec<Action>) -> Result<(), End> {
        for action in actions {
            match action {
                Action::Send(outbound) => self.output.control(&self.outlet, &outbound),
                Action::Media(frame) => {
                    if let Some(publishing) = &self.publishing {
                        self.timers.last_media = Instant::now();
                        publishing.push(frame).map_err(|e| match e {
                            CacheError::Replaced => End::Closed("another publisher took the stream over"),
                            e => End::Misbehaved(e.to_string()),
                        })?;
                    }
                }
                Action::Connect {
                    app,
                    query,
                    flash_ver,
                    tc_url,
                } => {
                    self.client.connected(&flash_ver, &tc_url);
                    let client = self.client.stats();
                    let allowed = (self.door.admission).may_connect(&self.live, &self.asker(&client), &app, &query);
                    let replies = match allowed {
                        Ok(user) => {
                            if let Some(user) = &user {
                                info!(
                                    "conn#{} {} logged in as {} app={}",
                                    self.id,
                                    self.peer,
                                    Escaped(user),
                                    Escaped(&app)
                                );
                            }
                            self.logged_in = user.is_some();
                            self.session.accept_connect()
                        }
                        Err(why) => {
                            info!(
                                "conn#{} {} connect refused app={}: {}",
                                self.id,
                                self.peer,
                                Escaped(&app),
                                Escaped(&why)
                            );
                            self.session.reject_connect(&why)
                        }
                    };
                    self.apply(replies)?;
                }
                Action::Publish(key, query) => {
                    let replies = self.decide_publish(&key, &query);
                    self.apply(replies)?;
                }
                Action::Unpublish => {
                    self.client.doing(ClientKind::Idle, None);
                    if self.publishing.take().is_some() {
                        info!("conn#{} {} publish stop", self.id, self.peer);
                    }
                }
                Action::Play(key, query) => {
                    let said = self.client.stats();
                    let asker = self.asker(&said);
                    let key = match self.door.admission.may_play(&self.live, &asker, &key, &query) {
                        Ok(key) => key,
                        Err(why) => {
                            info!(
                                "conn#{} {} play refused app={}: {why}",
                                self.id,
                                self.peer,
                                Escaped(&key.app)
                            );
                            let replies = self.session.reject_play(&why);
                            return self.apply(replies);
                        }
                    };
                    let wait = self.live.config.rtmp.wait_for_publisher;
                    if wait == Some(Duration::ZERO) && !self.door.registry.is_live(&key) {
                        let replies = self.session.reject_play("nothing is published under that name");
                        return self.apply(replies);
                    }
                    // Status replies first, so cached frames follow Play.Start.
                    let replies = self.session.accept_play();
                    self.apply(replies)?;
                    info!("conn#{} {} play start app={}", self.id, self.peer, Escaped(&key.app));
                    debug!("conn#{} play name={}", self.id, Escaped(&key.name));
                    if !self.live.config.players.nodelay {
                        // Nagle from here on: a player that reads promptly
                        // acknowledges at once and gets each frame as it comes;
                        // one that reads in batches (or sits behind a slow
                        // link) gets several frames per segment, which costs
                        // the server far less per byte (see README,
                        // Performance). Commands went out without delay.
                        let _ = self.socket.set_nodelay(false);
                    }
                    let playing = self.door.registry.play(&key, self.id, self.outlet.clone());
                    if let Some(wait) = wait.filter(|_| !playing.is_live()) {
                        debug!("conn#{} waits up to {wait:?} for a publisher", self.id);
                        self.timers.publisher_due = Some(Instant::now() + wait);
                    }
                    self.playing = Some(playing);
                    self.client.doing(ClientKind::RtmpPlay, Some(&key));
                    self.client.asked_with(&query, self.logged_in);
                }
                Action::StopPlay => {
                    self.client.doing(ClientKind::Idle, None);
                    if self.playing.take().is_some() {
                        info!("conn#{} {} play stop", self.id, self.peer);
                    }
                }
                Action::Close(why) => return Err(End::Closed(why)),
            }
        }
        Ok(())
    }
}

impl Connection {
    /// This connection as the admission path sees it, with what it said
    /// of itself at `connect` (`said`, its client's figures).
    fn asker<'a>(&self, said: &'a ClientStats) -> Asker<'a> {
        Asker {
            id: self.id,
            addr: self.peer,
            flash_ver: &said.flash_ver,
            tc_url: &said.tc_url,
            logged_in: self.logged_in,
        }
    }

    /// Checks access, then claims the name; the replies to send.
    fn decide_publish(&mut self, key: &StreamKey, query: &str) -> Vec<Action> {
        let client = self.client.stats();
        let allowed = self
            .door
            .admission
            .may_publish(&self.live, &self.asker(&client), key, query);
        let (key, relay) = match allowed {
            Ok(routed) => (&routed.key.clone(), routed.relay),
            Err(why) => {
                info!(
                    "conn#{} {} publish refused app={}: {why}",
                    self.id,
                    self.peer,
                    Escaped(&key.app)
                );
                return self.session.reject_publish(status::PUBLISH_DENIED, &why);
            }
        };
        let info = PublisherInfo {
            addr: self.peer,
            encoder: client.flash_ver,
            tc_url: client.tc_url,
        };
        let takeover = self.live.config.rtmp.publisher_takeover;
        match self.door.registry.publish_or_take_over(key, self.id, info, takeover) {
            Some((publishing, replaced)) => {
                if let Some(old) = replaced {
                    info!(
                        "conn#{} {} takes app={} over from conn#{old}",
                        self.id,
                        self.peer,
                        Escaped(&key.app)
                    );
                    self.door.connections.kick(old);
                }
                info!("conn#{} {} publish start app={}", self.id, self.peer, Escaped(&key.app));
                debug!("conn#{} publish name={}", self.id, Escaped(&key.name));
                self.publishing = Some(publishing);
                self.door.on_publish.tell(&Started {
                    live: &self.live,
                    key,
                    id: self.id,
                    addr: self.peer,
                    extra: relay.as_deref(),
                    came: &Came::from_publisher(&self.client.stats().flash_ver, self.peer),
                });
                self.client.doing(self.client.publish_kind(), Some(key));
                self.client.asked_with(query, self.logged_in);
                #[cfg(debug_assertions)]
                if self.live.config.rtmp.panic_after_publish_to_app.as_ref() == Some(&key.app) {
                    panic!("injected by Config::panic_after_publish_to_app");
                }
                self.decoder.set_limits(self.live.config.rtmp.decoder);
                self.timers.last_media = Instant::now();
                self.session.accept_publish()
            }
            None => {
                info!(
                    "conn#{} {} publish refused app={}: already published",
                    self.id, self.peer, key.app
                );
                let why = format!("{key} is already being published");
                self.session.reject_publish(status::PUBLISH_BAD_NAME, &why)
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.door.buffered.fetch_sub(self.held, Ordering::Relaxed);
        self.leave();
    }
}
