//! `Connections`: every open connection, as the API lists and kicks them,
//! counted against the limits of the door it came through. Each serves on
//! a thread of its own (`serve`), and leaves the set however the thread
//! ends, panic included.
//!
//! A connection's socket is kept here too, shared with its threads, so
//! that a kick, a reload that refuses it, or shutdown can unblock it.

use std::collections::HashMap;
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use log::{error, info};
use parking_lot::{Condvar, Mutex};

use crate::config::{Limits, THREAD_STACK};
use crate::server::control::admission::{Doing, may_go_on};
use crate::server::control::clients::{Client, ClientStats};
use crate::server::control::live::Live;
use crate::server::net::log_limit::PeerWarnings;
use crate::server::stream::events::{Event, Events};
use crate::server::stream::kind::ConnId;
use crate::server::stream::registry::Registry;

/// Which listener a connection came through, for its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Door {
    /// RTMP and RTMPS.
    Rtmp = 0,
    /// HTTP and the API's own address.
    Http = 1,
    /// SRT, over UDP.
    Srt = 2,
}

/// What the doors there are, for arrays by door.
const DOORS: usize = 3;

/// How a connection is hung up from outside its thread (a kick, a reload
/// that refuses it, shutdown): a TCP socket is shut down; an SRT session,
/// which shares its UDP socket, is told to end.
pub(crate) trait HangUp: Send + Sync {
    /// Stops taking more from the peer: what is queued for it still goes.
    fn stop_reading(&self);
    /// Ends the connection both ways.
    fn hang_up(&self);
}

impl HangUp for TcpStream {
    fn stop_reading(&self) {
        let _ = self.shutdown(Shutdown::Read);
    }

    fn hang_up(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

/// The open connections, which this wing owns.
pub(crate) struct Connections {
    /// Numbers each connection.
    registry: Arc<Registry>,
    events: Events,
    warnings: Arc<PeerWarnings>,
    open: Mutex<Open>,
    all_closed: Condvar,
}

/// The open connections: the socket of each and how many each address
/// has, with what the metrics count of those gone.
#[derive(Default)]
struct Open {
    sockets: HashMap<ConnId, OpenSocket>,
    /// Open connections by door, and by address and door.
    through: [usize; DOORS],
    per_ip: HashMap<(IpAddr, Door), usize>,
    /// Connections accepted so far.
    accepted: u64,
    /// Connections refused at accept, by door: past the server-wide limit,
    /// past the per-address one.
    refused: [[u64; 2]; DOORS],
    /// Bytes read from and written to connections already closed.
    closed_recv_bytes: u64,
    closed_send_bytes: u64,
}

struct OpenSocket {
    socket: Arc<dyn HangUp>,
    ip: IpAddr,
    door: Door,
    client: Arc<Client>,
}

/// What the metrics show of the connections since the start.
pub(crate) struct Figures {
    pub(crate) open: usize,
    pub(crate) accepted: u64,
    /// Refused at accept: `[door][server-wide, per address]`.
    pub(crate) refused: [[u64; 2]; DOORS],
    pub(crate) recv_bytes: u64,
    pub(crate) send_bytes: u64,
}

/// Takes a connection off the open set when dropped.
struct Registered<'a> {
    connections: &'a Connections,
    id: ConnId,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.connections.unregister(self.id);
    }
}

impl Connections {
    pub(crate) fn new(registry: Arc<Registry>, events: Events, warnings: Arc<PeerWarnings>) -> Connections {
        Connections {
            registry,
            events,
            warnings,
            open: Mutex::new(Open::default()),
            all_closed: Condvar::new(),
        }
    }

    /// Serves `socket` from `peer`, come through `door`, with `serve` on a
    /// thread named `{kind}-{id}`, unless `limits` for the door
    /// refuse it (a warning says why, and dropping the socket closes it).
    /// Whether it is served.
    pub(crate) fn serve<S: HangUp + 'static>(
        self: &Arc<Self>,
        limits: &Limits,
        (socket, peer): (Arc<S>, SocketAddr),
        (kind, door): (&'static str, Door),
        serve: impl FnOnce(Arc<S>, Arc<Client>) + Send + 'static,
    ) -> bool {
        let line: Arc<dyn HangUp> = socket.clone();
        let client = match self.register(limits, line, peer, door) {
            Ok(client) => client,
            Err(why) => {
                self.warnings.warn(None, format_args!("{peer} refused: {why}"));
                return false;
            }
        };
        let id = client.id();
        let connections = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("{kind}-{id}"))
            .stack_size(THREAD_STACK)
            .spawn(move || {
                // Unregistered however the thread ends, panic included.
                let _registered = Registered {
                    connections: &connections,
                    id,
                };
                let served = panic::catch_unwind(AssertUnwindSafe(|| serve(socket, client)));
                if served.is_err() {
                    // A bug, not the peer's fault: the guards of the
                    // connection (publish, play) were dropped while unwinding.
                    error!("conn#{id} {peer} thread panicked; connection closed");
                }
            });
        if let Err(e) = spawned {
            error!("conn#{id} {peer} cannot start a thread: {e}");
            self.unregister(id);
            return false;
        }
        true
    }

    /// Adds an accepted socket to the open set, unless the server or its
    /// peer's address has as many connections as allowed; `Err` says why.
    /// RTMP's and HTTP's connections are counted apart, each against its
    /// own limits, so that viewers over one cannot crowd out the other.
    fn register(
        &self,
        limits: &Limits,
        socket: Arc<dyn HangUp>,
        peer: SocketAddr,
        door: Door,
    ) -> Result<Arc<Client>, String> {
        let ip = peer.ip();
        let mut open = self.open.lock();
        let (max, max_per_ip, flags) = match door {
            // An SRT connection publishes or plays as an RTMP one does.
            Door::Rtmp | Door::Srt => (
                limits.max_connections,
                limits.max_connections_per_ip,
                ["max-connections", "max-connections-per-ip"],
            ),
            Door::Http => (
                limits.http_max_connections,
                limits.http_max_connections_per_ip,
                ["http-max-connections", "http-max-connections-per-ip"],
            ),
        };
        let through_door = open.through[door as usize];
        if through_door >= max {
            open.refused[door as usize][0] += 1;
            return Err(format!("{through_door} connections open, the limit ({})", flags[0]));
        }
        let per_ip = open.per_ip.entry((ip, door)).or_default();
        if max_per_ip > 0 && *per_ip >= max_per_ip {
            let refused = format!("{per_ip} connections open from {ip}, the limit ({})", flags[1]);
            open.refused[door as usize][1] += 1;
            return Err(refused);
        }
        *per_ip += 1;
        open.through[door as usize] += 1;
        let id = self.registry.new_conn_id();
        let client = Client::new(id, peer);
        let entry = OpenSocket {
            socket,
            ip,
            door,
            client: client.clone(),
        };
        open.sockets.insert(id, entry);
        open.accepted += 1;
        self.events.emit(Event::Opened { id, addr: peer });
        Ok(client)
    }

    fn unregister(&self, id: ConnId) {
        let mut open = self.open.lock();
        let Some(closed) = open.sockets.remove(&id) else {
            return;
        };
        self.events.emit(Event::Closed { id });
        let stats = closed.client.stats();
        open.closed_recv_bytes += stats.recv_bytes;
        open.closed_send_bytes += stats.send_bytes;
        open.through[closed.door as usize] -= 1;
        let from = (closed.ip, closed.door);
        if let Some(count) = open.per_ip.get_mut(&from) {
            *count -= 1;
            if *count == 0 {
                open.per_ip.remove(&from);
            }
        }
        if open.sockets.is_empty() {
            self.all_closed.notify_all();
        }
    }

    /// Open connections right now.
    pub(crate) fn count(&self) -> usize {
        self.open.lock().sockets.len()
    }

    /// A snapshot of every open connection.
    pub(crate) fn stats(&self) -> Vec<ClientStats> {
        self.open.lock().sockets.values().map(|o| o.client.stats()).collect()
    }

    /// Closes connection `id`; false when there is none.
    pub(crate) fn kick(&self, id: ConnId) -> bool {
        let open = self.open.lock();
        let Some(found) = open.sockets.get(&id) else {
            return false;
        };
        info!("conn#{id} {} kicked through the API", found.client.addr());
        found.socket.hang_up();
        true
    }

    /// Closes the publishers and players that `live`'s access rules
    /// refuse; returns how many.
    pub(crate) fn drop_refused(&self, live: &Live) -> usize {
        let open = self.open.lock();
        let mut dropped = 0;
        for o in open.sockets.values() {
            let Some(standing) = o.client.standing() else {
                continue;
            };
            let (ip, key) = (o.client.addr().ip(), &standing.stream);
            let doing = match standing.kind.publishes() {
                true => Doing::Publishing {
                    logged_in: standing.logged_in,
                },
                false => Doing::Playing,
            };
            if let Err(why) = may_go_on(live, ip, key, &standing.query, doing) {
                info!(
                    "conn#{} {} refused by the new settings ({why}); closing",
                    o.client.id(),
                    o.client.addr()
                );
                o.socket.hang_up();
                dropped += 1;
            }
        }
        dropped
    }

    /// Connections open, accepted and refused, and bytes read and written
    /// over every connection since the start.
    pub(crate) fn figures(&self) -> Figures {
        let open = self.open.lock();
        let (mut recv, mut send) = (open.closed_recv_bytes, open.closed_send_bytes);
        for o in open.sockets.values() {
            let stats = o.client.stats();
            recv += stats.recv_bytes;
            send += stats.send_bytes;
        }
        Figures {
            open: open.sockets.len(),
            accepted: open.accepted,
            refused: open.refused,
            recv_bytes: recv,
            send_bytes: send,
        }
    }

    /// Closes every connection for shutdown: the read side first, so that
    /// each reader ends and its writer flushes what is queued, until
    /// `clean`; then both sides of what is left (a writer stuck on a peer
    /// that does not read), until `deadline`. Returns how many are still
    /// closing then.
    pub(crate) fn close_all(&self, clean: Instant, deadline: Instant) -> usize {
        let mut open = self.open.lock();
        for (both, until) in [(false, clean), (true, deadline)] {
            for open in open.sockets.values() {
                match both {
                    false => open.socket.stop_reading(),
                    true => open.socket.hang_up(),
                }
            }
            while !open.sockets.is_empty() && !self.all_closed.wait_until(&mut open, until).timed_out() {}
        }
        open.sockets.len()
    }
}
