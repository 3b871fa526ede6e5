//! The RTMPS listener's connections: the TLS handshake (bounded by the
//! handshake timeout), then the RTMP connection on the plaintext end of a
//! loopback pair, on a thread of its own, while this thread pumps bytes
//! between it and the TLS socket (see `tls`).

use std::net::TcpStream;
use std::sync::Arc;

use log::debug;

use crate::config::THREAD_STACK;
use crate::server::control::clients::Client;
use crate::server::rtmp::Rtmp;
use crate::server::rtmp::connection;
use crate::tls;

/// Serves one accepted RTMPS socket until it closes.
pub(crate) fn serve(socket: Arc<TcpStream>, client: Arc<Client>, door: Arc<Rtmp>) {
    let (id, peer) = (client.id(), client.addr());
    let Some(certificates) = &door.tls else { return };
    let timeout = door.current.now().config.rtmp.handshake_timeout;
    let conn = match tls::accept(&socket, certificates.current(), timeout) {
        Ok(conn) => conn,
        Err(e) => {
            door.warnings.warn(
                None,
                format_args!("conn#{id} {peer} TLS handshake failed: {e}; closing"),
            );
            return;
        }
    };
    let (near, far) = match tls::loopback_pair() {
        Ok(pair) => pair,
        Err(e) => {
            door.warnings.warn(
                None,
                format_args!("conn#{id} {peer} no loopback pair for TLS: {e}; closing"),
            );
            return;
        }
    };
    let rtmp = {
        let door = door.clone();
        std::thread::Builder::new()
            .name(format!("rtmps-{id}"))
            .stack_size(THREAD_STACK)
            .spawn(move || connection::serve(Arc::new(near), client, door))
    };
    match rtmp {
        Ok(rtmp) => {
            tls::pump(&socket, conn, &far);
            // The connection ends once its socket closes, which the pump
            // has just done: it is unregistered only after that.
            let _ = rtmp.join();
        }
        Err(e) => debug!("conn#{id} cannot start its RTMP thread: {e}"),
    }
}
