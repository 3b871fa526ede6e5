//! The SRT socket thread: reads every datagram of the UDP port, answers
//! INDUCTIONs with a SYN cookie (no state kept, so a flood of them from
//! forged addresses costs one answer each), opens a connection for a
//! CONCLUSION that returns a fresh cookie, and routes everything else to
//! its connection's thread over a bounded queue.
//!
//! A datagram is routed by the socket id it is sent to (ours, which the
//! CONCLUSION answer gave) and must come from the address that
//! connected; a handshake sent again to socket 0 goes by the caller's
//! address and socket id. What matches nothing is dropped and counted.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::bounded;
use log::{debug, error};
use parking_lot::Mutex;

use super::Srt;
use super::routes::{Link, Route, Routed, Routes};
use super::session::{self, Line};
use crate::config::THREAD_STACK;
use crate::protocol::srt::{Control, ControlPacket, Handshake, HandshakeType, Packet, SocketId};
use crate::server::control::auth::os_secret;
use crate::server::control::connections::Door;
use crate::server::net::log_limit::LogLimit;
use crate::session::srt::handshake::{self, Offer, Rejection};

/// Datagrams queued for one connection's thread: 512 of at most 1,500
/// bytes, 750 KB; past it they are dropped, as a full socket buffer would.
const QUEUE: usize = 512;
/// How often the thread looks up from the socket to see the server stop.
const POLL: Duration = Duration::from_millis(100);
/// The kernel's receive buffer asked for: a burst of a high-bitrate
/// publisher while the thread routes.
const RECEIVE_BUFFER: usize = 4 << 20;

struct Router {
    socket: Arc<UdpSocket>,
    door: Arc<Srt>,
    routes: Arc<Mutex<Routes>>,
    secret: [u8; 32],
    started: Instant,
    /// Numbers our socket ids.
    opened: u64,
    strays: LogLimit,
}

pub(super) fn start(socket: UdpSocket, door: Arc<Srt>) -> io::Result<JoinHandle<()>> {
    socket.set_read_timeout(Some(POLL))?;
    if let Err(e) = socket2::SockRef::from(&socket).set_recv_buffer_size(RECEIVE_BUFFER) {
        debug!("srt: cannot grow the receive buffer: {e}");
    }
    let mut router = Router {
        socket: Arc::new(socket),
        door,
        routes: Arc::default(),
        secret: os_secret(),
        started: Instant::now(),
        opened: 0,
        strays: LogLimit::new(1, Duration::from_secs(10)),
    };
    std::thread::Builder::new()
        .name("srt-socket".into())
        .stack_size(THREAD_STACK)
        .spawn(move || router.run())
}

impl Router {
    fn run(&mut self) {
        let mut buf = vec![0u8; 2048];
        while !self.door.stopping.load(Ordering::SeqCst) {
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => self.route(&buf[..n], from),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                // An ICMP error for an earlier send, on some systems.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {}
                Err(e) => {
                    error!("srt: reading the socket failed: {e}");
                    std::thread::sleep(POLL);
                }
            }
        }
    }

    fn minute(&self) -> u64 {
        self.started.elapsed().as_secs() / 60
    }

    fn route(&mut self, datagram: &[u8], from: SocketAddr) {
        let Some(dest) = datagram.get(12..16) else {
            return self.stray(from, "shorter than a header");
        };
        let dest = u32::from_be_bytes(dest.try_into().expect("four bytes"));
        if dest != 0 {
            let routes = self.routes.lock();
            return match routes.by_own.get(&dest) {
                Some(route) if route.peer == from => {
                    // Full: the thread is behind; the peer sends it again.
                    let _ = route.queue.try_send(datagram.to_vec());
                }
                _ => {
                    drop(routes);
                    self.stray(from, "for no connection of its address")
                }
            };
        }
        let handshake = match Packet::parse(datagram) {
            Ok(Packet::Control(ControlPacket {
                body: Control::Handshake(hs),
                ..
            })) => hs,
            _ => return self.stray(from, "not a handshake, to socket 0"),
        };
        match handshake.kind {
            HandshakeType::Induction => {
                let cookie = handshake::cookie(&self.secret, from, self.minute());
                let answer = handshake::induction_answer(&handshake, &self.offer(), cookie);
                self.send(from, handshake.socket_id, answer);
            }
            HandshakeType::Conclusion => self.conclusion(handshake, datagram, from),
            _ => self.stray(from, "a handshake of a kind a listener does not take"),
        }
    }

    fn offer(&self) -> Offer {
        let config = &self.door.current.now().config;
        Offer {
            latency_ms: config.srt.latency.as_millis().min(u128::from(u16::MAX)) as u16,
            // Which application a caller wants is not known before its
            // CONCLUSION: the key length is offered if any may need it.
            key_len: config.srt_encrypts().then_some(config.srt.key_len),
        }
    }

    fn conclusion(&mut self, handshake: Handshake, datagram: &[u8], from: SocketAddr) {
        if !handshake::cookie_is_fresh(&self.secret, from, self.minute(), handshake.syn_cookie) {
            return self.stray(from, "a conclusion without a fresh cookie");
        }
        let caller = (from, handshake.socket_id.0);
        let mut routes = self.routes.lock();
        if let Some(route) = routes.by_caller.get(&caller).and_then(|own| routes.by_own.get(own)) {
            // Sent again: its connection answers.
            let _ = route.queue.try_send(datagram.to_vec());
            return;
        }
        let own = loop {
            self.opened += 1;
            let id = handshake::cookie(&self.secret, from, self.opened) & 0x3fff_ffff;
            if id != 0 && !routes.by_own.contains_key(&id) {
                break id;
            }
        };
        let (queue, datagrams) = bounded(QUEUE);
        routes.by_own.insert(own, Route { peer: from, queue });
        routes.by_caller.insert(caller, own);
        drop(routes);
        let routed = Routed {
            routes: self.routes.clone(),
            own,
            caller,
        };
        let (socket, door) = (self.socket.clone(), self.door.clone());
        let limits = self.door.current.now().config.limits;
        let line = Arc::new(Line::default());
        let first = handshake.clone();
        let served = self
            .door
            .connections
            .serve(&limits, (line, from), ("srt", Door::Srt), move |line, client| {
                let link = Link {
                    socket,
                    peer: from,
                    own: SocketId(own),
                    datagrams,
                    _routed: routed,
                };
                session::serve(link, line, client, door, first)
            });
        if !served {
            let refusal = handshake::rejection(&handshake, SocketId(own), Rejection::Resource);
            self.send(from, handshake.socket_id, refusal);
        }
    }

    fn send(&self, to: SocketAddr, dest: SocketId, handshake: Handshake) {
        let packet = Packet::Control(ControlPacket {
            timestamp: self.started.elapsed().as_micros() as u32,
            dest,
            body: Control::Handshake(handshake),
        });
        let mut out = Vec::with_capacity(128);
        packet.encode(&mut out);
        if let Err(e) = self.socket.send_to(&out, to) {
            debug!("srt: cannot answer {to}: {e}");
        }
    }

    fn stray(&mut self, from: SocketAddr, what: &str) {
        self.door.warnings.warn(
            Some(&mut self.strays),
            format_args!("srt: dropped a datagram from {from}: {what}"),
        );
    }
}
