//! What the HTTP players of the load tool share: where a URL points, and
//! reading a response head.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};

/// An `http://HOST:PORT/PATH` URL: the address, the host as written (for
/// `Host:`), and the path.
pub(crate) struct Url {
    pub(crate) addr: SocketAddr,
    pub(crate) host: String,
    pub(crate) path: String,
}

impl Url {
    pub(crate) fn parse(url: &str) -> Result<Url, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url} is not http://"))?;
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let addr = (host.to_socket_addrs().map_err(|e| format!("{host}: {e}"))?)
            .next()
            .ok_or_else(|| format!("{host}: no address"))?;
        Ok(Url {
            addr,
            host: host.to_owned(),
            path: path.to_owned(),
        })
    }
}

/// Reads into `buf` (which may hold bytes already) until it holds a
/// whole response head; the head's length.
pub(crate) fn read_head(socket: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(end + 4);
        }
        match socket.read(&mut chunk)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
