//! `Client`: what the API shows of one open connection: who it is, what
//! it does, and the bytes it moved. Its connection thread fills it in; the
//! API reads it.
//!
//! Bytes out are counted where they are written: a player's outlet counts
//! its media and control, and whatever the connection thread writes
//! itself (the RTMP handshake, every HTTP answer: HLS files, the API, the
//! dashboard, refusals) goes through `Client::counting`.

use std::io::{self, IoSlice, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::media::StreamKey;
use crate::server::stream::kind::{ClientKind, ConnId};
use crate::server::stream::outlet::Outlet;

/// What a connection does now.
struct Role {
    kind: ClientKind,
    stream: Option<StreamKey>,
    flash_ver: String,
    tc_url: String,
    /// The connection's outlet, which counts the bytes written to it.
    outlet: Option<Arc<Outlet>>,
    /// The query of its publish or play (cut to `MAX_QUERY` characters)
    /// and whether it logged in: what the access rules are asked again on
    /// a reload that drops connections they refuse.
    query: String,
    logged_in: bool,
    /// What its SRT connection measured, the last time it said.
    srt: Option<SrtStats>,
}

/// The longest publish or play query kept per connection.
const MAX_QUERY: usize = 1024;

/// What a publisher or player is asked again when the rules change.
pub(crate) struct Standing {
    pub(crate) kind: ClientKind,
    pub(crate) stream: StreamKey,
    pub(crate) query: String,
    pub(crate) logged_in: bool,
}

/// One open connection, as the API shows it.
pub(crate) struct Client {
    id: ConnId,
    addr: SocketAddr,
    since: Instant,
    /// Bytes read from the peer.
    recv_bytes: AtomicU64,
    /// Bytes written to the peer by the connection thread itself, and by
    /// the outlets it had before its current one.
    send_bytes: AtomicU64,
    role: Mutex<Role>,
}

/// A writer that counts what `inner` takes as sent to a `Client`.
pub(crate) struct Counting<'a, W> {
    inner: W,
    client: &'a Client,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.client.send_bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let n = self.inner.write_vectored(bufs)?;
        self.client.send_bytes.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A snapshot of a `Client`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientStats {
    /// The connection's number.
    pub id: u64,
    /// The peer's address.
    pub addr: SocketAddr,
    /// What it does.
    pub kind: ClientKind,
    /// The stream it publishes or plays.
    pub stream: Option<StreamKey>,
    /// The `flashVer` of its `connect` (cut to 128 characters), if RTMP.
    pub flash_ver: String,
    /// The `tcUrl` of its `connect` (cut to 256 characters), if RTMP.
    pub tc_url: String,
    /// How long it has been open.
    pub alive: Duration,
    /// Bytes read from it.
    pub recv_bytes: u64,
    /// Bytes written to it: media and control for a player, every answer
    /// for HTTP (HLS files among them), the handshake for RTMP.
    pub send_bytes: u64,
    /// SRT's own figures, for an SRT connection.
    pub srt: Option<SrtStats>,
}

/// What an SRT connection measured (the API's `srt` object, `/stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SrtStats {
    /// Round-trip time, microseconds.
    pub rtt_us: u32,
    /// The latency both sides keep, milliseconds.
    pub latency_ms: u32,
    /// Data packets received, first copies.
    pub packets_received: u64,
    /// Packets found missing (and asked again).
    pub packets_lost: u64,
    /// Missing packets that came again in time.
    pub packets_recovered: u64,
    /// Packets given up: too late to play, or past the buffer's bounds.
    pub packets_dropped: u64,
    /// Data packets sent, first copies.
    pub packets_sent: u64,
    /// Packets sent again after the reader asked.
    pub packets_retransmitted: u64,
    /// Bytes held to play in order, or kept for retransmission.
    pub buffer_bytes: usize,
    /// Bytes received per second over the last second, in kilobits.
    pub recv_kbps: u64,
    /// Encrypted data packets no key we hold decrypts (dropped; a
    /// passphrase mix-up or a key refresh that failed).
    pub undecryptable: u64,
    /// Refreshed key material (KMREQ control packets) the caller sent
    /// that we installed.
    pub key_refreshes: u64,
}

impl Client {
    pub(crate) fn new(id: ConnId, addr: SocketAddr) -> Arc<Client> {
        Arc::new(Client {
            id,
            addr,
            since: Instant::now(),
            recv_bytes: AtomicU64::new(0),
            send_bytes: AtomicU64::new(0),
            role: Mutex::new(Role {
                kind: ClientKind::Idle,
                stream: None,
                flash_ver: String::new(),
                tc_url: String::new(),
                outlet: None,
                query: String::new(),
                logged_in: false,
                srt: None,
            }),
        })
    }

    /// Counts bytes read from the peer.
    pub(crate) fn received(&self, n: usize) {
        self.recv_bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts bytes written to the peer by the connection thread itself
    /// (SRT's datagrams).
    pub(crate) fn sent(&self, n: usize) {
        self.send_bytes.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Notes what its SRT connection measured.
    pub(crate) fn srt_measured(&self, stats: SrtStats) {
        self.role.lock().srt = Some(stats);
    }

    /// Notes an RTMP `connect`.
    pub(crate) fn connected(&self, flash_ver: &str, tc_url: &str) {
        let mut role = self.role.lock();
        role.flash_ver = flash_ver.chars().take(128).collect();
        role.tc_url = tc_url.chars().take(256).collect();
    }

    /// `socket`, counting what it takes as sent to this client: for
    /// what the connection thread writes itself, not through an outlet.
    pub(crate) fn counting<W: Write>(&self, socket: W) -> Counting<'_, W> {
        Counting {
            inner: socket,
            client: self,
        }
    }

    /// Notes the outlet that counts the bytes written to it; what an
    /// earlier one counted (an HTTP connection that played a stream to
    /// its end and asks again) stays counted.
    pub(crate) fn attach(&self, outlet: &Arc<Outlet>) {
        if let Some(earlier) = self.role.lock().outlet.replace(outlet.clone()) {
            self.send_bytes.fetch_add(earlier.sent_bytes(), Ordering::Relaxed);
        }
    }

    /// Notes that it publishes or plays `stream`, or, with `Idle`, that it
    /// stopped.
    pub(crate) fn doing(&self, kind: ClientKind, stream: Option<&StreamKey>) {
        let mut role = self.role.lock();
        role.kind = kind;
        role.stream = stream.cloned();
    }

    /// Notes the query its publish or play came with, and whether it
    /// logged in.
    pub(crate) fn asked_with(&self, query: &str, logged_in: bool) {
        let mut role = self.role.lock();
        role.query = query.chars().take(MAX_QUERY).collect();
        role.logged_in = logged_in;
    }

    /// What it publishes or plays, and how it asked; `None` when idle.
    pub(crate) fn standing(&self) -> Option<Standing> {
        let role = self.role.lock();
        Some(Standing {
            kind: role.kind,
            stream: role.stream.clone()?,
            query: role.query.clone(),
            logged_in: role.logged_in,
        })
    }

    /// The connection's number.
    pub(crate) fn id(&self) -> ConnId {
        self.id
    }

    /// The peer's address.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The publishing kind its flashVer suggests, as SRS tells them apart.
    pub(crate) fn publish_kind(&self) -> ClientKind {
        match self.role.lock().flash_ver.starts_with("FMLE") {
            true => ClientKind::FmlePublish,
            false => ClientKind::FlashPublish,
        }
    }

    pub(crate) fn stats(&self) -> ClientStats {
        let role = self.role.lock();
        ClientStats {
            id: self.id,
            addr: self.addr,
            kind: role.kind,
            stream: role.stream.clone(),
            flash_ver: role.flash_ver.clone(),
            tc_url: role.tc_url.clone(),
            alive: self.since.elapsed(),
            recv_bytes: self.recv_bytes.load(Ordering::Relaxed),
            send_bytes: self.send_bytes.load(Ordering::Relaxed) + role.outlet.as_ref().map_or(0, |o| o.sent_bytes()),
            srt: role.srt,
        }
    }
}
