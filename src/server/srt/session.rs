//! One SRT connection's thread: the CONCLUSION checked, the stream id
//! read, the one admission path asked (before anything starts), then the
//! connection run until it ends: a publisher's TS demuxed into the
//! stream's frames, or the stream's TS feed sent to a reader.
//!
//! A refusal is a rejection handshake with a reason the caller shows
//! (ffmpeg prints it), never silence. With a passphrase configured (the
//! application's the stream id names, else the server's) the caller's
//! keys are unwrapped before admission, and a wrong passphrase is refused
//! as a bad secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{never, select};
use log::{debug, info};

use super::Srt;
use super::feed::Reading;
use super::routes::Link;
use crate::media::StreamKey;
use crate::media::ts_demux::Demuxer;
use crate::protocol::escape::Escaped;
use crate::protocol::srt::{Handshake, KeyMaterial, Keys, Mode, Packet, StreamRequest};
use crate::server::control::admission::Asker;
use crate::server::control::clients::{Client, SrtStats};
use crate::server::control::connections::HangUp;
use crate::server::control::live::Live;
use crate::server::control::started::Started;
use crate::server::control::trail::Came;
use crate::server::net::log_limit::LogLimit;
use crate::server::stream::kind::ClientKind;
use crate::server::stream::registry::Publishing;
use crate::server::stream::stats::PublisherInfo;
use crate::session::srt::handshake::{self, Agreed, Offer, Rejection};
use crate::session::srt::{Bounds, Connection, Secret};

/// TS packets per SRT payload: 7 × 188 = 1,316 bytes, what every encoder
/// sends, under the live mode's 1,456.
const TS_PER_PACKET: usize = 7;
/// Datagrams taken at once before the timers run.
const BATCH: usize = 64;

/// How the rest of the server ends an SRT connection: the thread sees it
/// at its next wake (10 ms while media flows, 100 ms at most).
#[derive(Default)]
pub(crate) struct Line {
    /// 0 open, 1 stop reading, 2 hang up.
    ending: AtomicU8,
}

impl HangUp for Line {
    fn stop_reading(&self) {
        self.ending.fetch_max(1, Ordering::Relaxed);
    }

    fn hang_up(&self) {
        self.ending.store(2, Ordering::Relaxed);
    }
}

/// What a connection does once admitted.
enum Role {
    Publish(Publishing, Box<Demuxer>),
    Read(Reading),
}

pub(super) fn serve(link: Link, line: Arc<Line>, client: Arc<Client>, door: Arc<Srt>, first: Handshake) {
    let live = door.current.now();
    let (id, peer) = (client.id(), link.peer);
    // The stream id before the keys, for its application's passphrase; a
    // stream id that does not parse is refused by `admit`, after the
    // server's passphrase has been asked of it.
    let app = StreamRequest::parse(first.stream_id().unwrap_or_default()).map(|request| request.app);
    let passphrase = live.config.srt_passphrase_for(app.as_deref().unwrap_or_default());
    let offer = Offer {
        latency_ms: live.config.srt.latency.as_millis().min(u128::from(u16::MAX)) as u16,
        key_len: passphrase.map(|_| live.config.srt.key_len),
    };
    let admitted = handshake::read_conclusion(&first, &offer).and_then(|agreed| {
        // The keys before admission: a caller with the wrong passphrase
        // neither takes a stream name nor tells a hook it came.
        let keys = keys(passphrase, &client, &agreed)?;
        let role = admit(&door, &live, &client, &agreed)?;
        Ok((agreed, keys, role))
    });
    let (agreed, keys, role) = match admitted {
        Ok(admitted) => admitted,
        Err(why) => {
            let refusal = handshake::rejection(&first, link.own, why);
            return link.answer(&client, first.socket_id, refusal);
        }
    };
    // KMRSP echoes the caller's key material: libsrt's listener answers
    // so when it could unwrap the keys.
    let km_response = keys.as_ref().and(agreed.key_material.clone());
    let answer = handshake::conclusion_answer(&first, &agreed, link.own, km_response);
    link.answer(&client, first.socket_id, answer.clone());
    let srt = &live.config.srt;
    let bounds = Bounds {
        receive_packets: 8192,
        receive_bytes: srt.max_buffer_bytes,
        send_bytes: srt.max_buffer_bytes,
        idle_us: srt.idle_timeout.as_micros() as u64,
    };
    let mut running = Running {
        connection: Connection::new(&agreed, link.own, answer, &bounds, keys, 0),
        start: Instant::now(),
        link,
        client,
        line,
        warnings: LogLimit::new(1, Duration::from_secs(10)),
        door: door.clone(),
        latency_ms: (agreed.latency_us / 1000) as u32,
        reported: (0, 0),
        held: 0,
        total_limit: live.config.limits.max_total_buffered_bytes,
    };
    running.run(role);
    info!(
        "conn#{id} {peer} srt closed ({:?}); {:?}",
        running.connection.closed(),
        running.connection.stats()
    );
}

/// Unwraps the caller's keys with `passphrase`, when both sides have one
/// (`read_conclusion` refused a caller with one and not the other). Key
/// material that does not parse or cannot be used is refused as libsrt's
/// listener refuses it with encryption enforced: a bad secret.
fn keys(passphrase: Option<&str>, client: &Client, agreed: &Agreed) -> Result<Option<Secret>, Rejection> {
    let (Some(passphrase), Some(km)) = (passphrase, &agreed.key_material) else {
        return Ok(None);
    };
    let keys = KeyMaterial::parse(km).and_then(|km| Keys::new(passphrase.as_bytes(), &km));
    let secret = |keys| Secret {
        keys,
        passphrase: passphrase.as_bytes().to_vec(),
    };
    keys.map(|keys| Some(secret(keys))).map_err(|e| {
        info!("conn#{} {} srt refused: {e}", client.id(), client.addr());
        Rejection::BadSecret
    })
}

/// Asks the admission path for what the stream id says; the role it may
/// take, or the rejection to answer.
fn admit(door: &Srt, live: &Live, client: &Client, agreed: &Agreed) -> Result<Role, Rejection> {
    let (id, peer) = (client.id(), client.addr());
    let request = StreamRequest::parse(&agreed.stream_id).map_err(|e| {
        info!("conn#{id} {peer} srt refused: {e}");
        Rejection::BadRequest
    })?;
    let key = StreamKey::new(&request.app, &request.name);
    let asker = Asker {
        id,
        addr: peer,
        flash_ver: "",
        tc_url: "",
        logged_in: false,
    };
    let refused = |doing: &str, why: String| {
        info!("conn#{id} {peer} srt {doing} refused app={}: {why}", Escaped(&key.app));
        match door.admission.draining() {
            true => Rejection::Down,
            false => Rejection::Forbidden,
        }
    };
    match request.mode {
        Mode::Publish => {
            let routed = (door.admission)
                .may_publish(live, &asker, &key, &request.query)
                .map_err(|why| refused("publish", why))?;
            let key = &routed.key;
            let info = PublisherInfo {
                addr: peer,
                encoder: format!("srt/{}", version(agreed.peer_version)),
                tc_url: String::new(),
            };
            let takeover = live.config.rtmp.publisher_takeover;
            let Some((publishing, replaced)) = door.registry.publish_or_take_over(key, id, info, takeover) else {
                info!(
                    "conn#{id} {peer} srt publish refused: app={} is published",
                    Escaped(&key.app)
                );
                return Err(Rejection::Conflict);
            };
            if let Some(old) = replaced {
                door.connections.kick(old);
            }
            info!("conn#{id} {peer} srt publish start app={}", Escaped(&key.app));
            debug!("conn#{id} publish name={}", Escaped(&key.name));
            door.on_publish.tell(&Started {
                live,
                key,
                id,
                addr: peer,
                extra: routed.relay.as_deref(),
                came: &Came::default(),
            });
            client.doing(ClientKind::SrtPublish, Some(key));
            client.asked_with(&request.query, false);
            Ok(Role::Publish(publishing, Box::default()))
        }
        Mode::Read => {
            let key = (door.admission)
                .may_play(live, &asker, &key, &request.query)
                .map_err(|why| refused("read", why))?;
            let reading = door.feeds.read(&live.config.players, &key).map_err(|e| {
                info!("conn#{id} {peer} srt read: cannot start the feed: {e}");
                Rejection::Resource
            })?;
            info!("conn#{id} {peer} srt read start app={}", Escaped(&key.app));
            client.doing(ClientKind::SrtPlay, Some(&key));
            client.asked_with(&request.query, false);
            Ok(Role::Read(reading))
        }
    }
}

/// 0x00MMmmpp as `M.m.p`.
fn version(v: u32) -> String {
    format!("{}.{}.{}", v >> 16 & 0xff, v >> 8 & 0xff, v & 0xff)
}

/// An admitted connection, running.
struct Running {
    connection: Connection,
    start: Instant,
    link: Link,
    client: Arc<Client>,
    line: Arc<Line>,
    warnings: LogLimit,
    door: Arc<Srt>,
    latency_ms: u32,
    /// When the figures were last told the client, and the bytes then.
    reported: (u64, u64),
    /// What this connection adds to `Srt::held`, and the bound on that.
    held: usize,
    total_limit: usize,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.door.held.fetch_sub(self.held, Ordering::Relaxed);
    }
}

impl Running {
    fn now(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    fn run(&mut self, mut role: Role) {
        let mut delivered = Vec::new();
        let mut next_tick: u64 = 0;
        let chunks = match &role {
            Role::Read(reading) => reading.chunks.clone(),
            Role::Publish(..) => never(),
        };
        loop {
            let now = self.now();
            let wait = Duration::from_micros(next_tick.saturating_sub(now));
            select! {
                recv(self.link.datagrams) -> datagram => match datagram {
                    Ok(datagram) => {
                        self.take(&datagram);
                        for _ in 0..BATCH {
                            let Ok(datagram) = self.link.datagrams.try_recv() else { break };
                            self.take(&datagram);
                        }
                    }
                    Err(_) => return,
                },
                recv(chunks) -> chunk => match (chunk, &role) {
                    (Ok(chunk), Role::Read(reading)) => {
                        reading.taken(&chunk);
                        let now = self.now();
                        for payload in chunk.bytes.chunks(TS_PER_PACKET * 188) {
                            self.connection.send(now, payload.to_vec());
                        }
                    }
                    // The feed ended: the server is stopping.
                    _ => self.connection.close(self.now()),
                },
                default(wait) => {}
            }
            let now = self.now();
            if now >= next_tick {
                self.connection.tick(now);
                next_tick = now + self.connection.tick_interval_us(now);
                self.report(now);
            }
            if self.line.ending.load(Ordering::Relaxed) > 0 {
                self.connection.close(now);
            }
            self.connection.deliver(now, &mut delivered);
            if let Role::Publish(publishing, demuxer) = &mut role {
                self.publish(publishing, demuxer, delivered.drain(..));
            }
            self.count_held();
            let outgoing: Vec<Packet> = self.connection.outgoing(now).collect();
            for packet in &outgoing {
                self.link.send(&self.client, packet);
            }
            if self.connection.closed().is_some() {
                if let Role::Publish(publishing, demuxer) = &mut role {
                    // What waits for its time to play is the publish's
                    // end, not to be lost with the connection.
                    self.connection.deliver(u64::MAX, &mut delivered);
                    self.publish(publishing, demuxer, delivered.drain(..));
                    let rest = demuxer.finish();
                    self.frames(publishing, rest);
                }
                return;
            }
        }
    }

    /// Tells the client (the API, `/stats`) what the connection
    /// measured, once a second.
    fn report(&mut self, now: u64) {
        let (at, bytes_then) = self.reported;
        if now < at + 1_000_000 {
            return;
        }
        let stats = self.connection.stats();
        let (received, sent) = (stats.received, stats.sent);
        let elapsed = (now - at).max(1);
        self.client.srt_measured(SrtStats {
            rtt_us: if received.packets > 0 {
                received.rtt_us
            } else {
                stats.peer_rtt_us
            },
            latency_ms: self.latency_ms,
            packets_received: received.packets,
            packets_lost: received.lost,
            packets_recovered: received.recovered,
            packets_dropped: received.dropped + sent.dropped,
            packets_sent: sent.packets,
            packets_retransmitted: sent.retransmitted,
            buffer_bytes: received.held_bytes + sent.held_bytes,
            recv_kbps: (received.bytes - bytes_then) * 8 * 1000 / elapsed,
            undecryptable: stats.undecryptable,
            key_refreshes: stats.key_refreshes,
        });
        self.reported = (now, received.bytes);
    }

    /// Brings `Srt::held` up to date with what this connection holds.
    fn count_held(&mut self) {
        let stats = self.connection.stats();
        let now = stats.received.held_bytes + stats.sent.held_bytes;
        if now >= self.held {
            self.door.held.fetch_add(now - self.held, Ordering::Relaxed);
        } else {
            self.door.held.fetch_sub(self.held - now, Ordering::Relaxed);
        }
        self.held = now;
    }

    fn take(&mut self, datagram: &[u8]) {
        self.client.received(datagram.len());
        match Packet::parse(datagram) {
            // Past the server-wide bound a data packet is not held: the
            // sender sends it again after our NAK, once there is room.
            Ok(Packet::Data(_)) if self.door.held.load(Ordering::Relaxed) > self.total_limit => {}
            Ok(packet) => {
                let now = self.now();
                self.connection.handle(now, packet);
            }
            Err(e) => {
                let (id, peer) = (self.client.id(), self.link.peer);
                self.door
                    .warnings
                    .warn(Some(&mut self.warnings), format_args!("conn#{id} {peer} srt: {e}"));
            }
        }
    }

    fn publish(&mut self, publishing: &Publishing, demuxer: &mut Demuxer, payloads: impl Iterator<Item = Vec<u8>>) {
        let mut any = false;
        for payload in payloads {
            let demuxed = demuxer.push(&payload);
            any |= !demuxed.is_empty();
            self.frames(publishing, demuxed);
        }
        if any {
            publishing.flush();
        }
    }

    fn frames(&mut self, publishing: &Publishing, demuxed: Vec<crate::media::ts_demux::Demuxed>) {
        let (id, peer) = (self.client.id(), self.link.peer);
        for item in demuxed {
            let result = item
                .map_err(|e| e.to_string())
                .and_then(|frame| publishing.push(frame).map_err(|e| e.to_string()));
            if let Err(why) = result {
                self.door
                    .warnings
                    .warn(Some(&mut self.warnings), format_args!("conn#{id} {peer} srt: {why}"));
            }
        }
    }
}
