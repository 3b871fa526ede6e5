//! Where the socket thread sends each datagram (`Routes`), and what a
//! connection's thread holds of it: its `Link` to the peer, whose drop
//! takes its routes away.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::protocol::srt::{Control, ControlPacket, Handshake, Packet, SocketId};
use crate::server::control::clients::Client;

/// Where datagrams go.
#[derive(Default)]
pub(super) struct Routes {
    /// By our socket id: the peer's address and its thread's queue.
    pub(super) by_own: HashMap<u32, Route>,
    /// Handshakes still sent to socket 0, by caller address and socket id.
    pub(super) by_caller: HashMap<(SocketAddr, u32), u32>,
}

pub(super) struct Route {
    pub(super) peer: SocketAddr,
    pub(super) queue: Sender<Vec<u8>>,
}

/// Takes a connection's routes away when its thread ends.
pub(super) struct Routed {
    pub(super) routes: Arc<Mutex<Routes>>,
    pub(super) own: u32,
    pub(super) caller: (SocketAddr, u32),
}

impl Drop for Routed {
    fn drop(&mut self) {
        let mut routes = self.routes.lock();
        routes.by_own.remove(&self.own);
        routes.by_caller.remove(&self.caller);
    }
}

/// The connection's way to its peer: the shared socket, the queue the
/// socket thread fills, and its routes, taken away when it ends.
pub(super) struct Link {
    pub(super) socket: Arc<UdpSocket>,
    pub(super) peer: SocketAddr,
    pub(super) own: SocketId,
    pub(super) datagrams: Receiver<Vec<u8>>,
    pub(super) _routed: Routed,
}

impl Link {
    pub(super) fn send(&self, client: &Client, packet: &Packet) {
        let mut out = Vec::with_capacity(1500);
        packet.encode(&mut out);
        if self.socket.send_to(&out, self.peer).is_ok() {
            client.sent(out.len());
        }
    }

    pub(super) fn answer(&self, client: &Client, dest: SocketId, handshake: Handshake) {
        let packet = Packet::Control(ControlPacket {
            timestamp: 0,
            dest,
            body: Control::Handshake(handshake),
        });
        self.send(client, &packet);
    }
}
