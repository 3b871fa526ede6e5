//! A raw HTTP client: requests written by hand, responses read as bytes,
//! chunked bodies and FLV files taken apart here, so a test sees exactly
//! what the server sent.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use rustic_rtmp::{Config, HttpBind, ServerHandle};

use super::{WAIT, start_server_with};

/// A server with HTTP on a free loopback port, and `config`'s other
/// settings.
pub fn server(mut config: Config) -> ServerHandle {
    config.rtmp.bind = "127.0.0.1:0".parse().unwrap();
    config.http.bind = Some(HttpBind {
        addr: "127.0.0.1:0".parse().unwrap(),
        required: true,
    });
    start_server_with(config)
}

/// `http://HOST:PORT/{path}`.
pub fn url(server: &ServerHandle, path: &str) -> String {
    format!("http://{}/{path}", server.http_addr().expect("HTTP is on"))
}

/// A response read to the end of the connection.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    /// The body, with chunked framing removed.
    pub body: Vec<u8>,
}

impl Response {
    /// The value of header `name`, if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Connects and sends `request` as given.
pub fn send(addr: SocketAddr, request: &[u8]) -> TcpStream {
    let mut socket = TcpStream::connect(addr).expect("HTTP connect");
    socket.set_read_timeout(Some(WAIT)).unwrap();
    socket.write_all(request).expect("request written");
    socket
}

/// Sends `METHOD target` (HTTP/1.1, `Connection: close`, and `extra`
/// header lines, each ending in CRLF) and reads the whole response.
pub fn call(addr: SocketAddr, method: &str, target: &str, extra: &str) -> Response {
    let request = format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{extra}\r\n");
    read_to_close(send(addr, request.as_bytes()))
}

/// `GET target` in HTTP/1.`minor`.
pub fn get_request(target: &str, minor: u8) -> Vec<u8> {
    format!("GET {target} HTTP/1.{minor}\r\nHost: localhost\r\nUser-Agent: rustic-test\r\n\r\n").into_bytes()
}

/// Reads until the server closes the connection (within `WAIT`), and
/// parses what came.
pub fn read_to_close(mut socket: TcpStream) -> Response {
    let started = Instant::now();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        assert!(started.elapsed() < WAIT, "the server did not close within {WAIT:?}");
        match socket.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("reading the response: {e}"),
        }
    }
    parse_response(&bytes)
}

/// Parses one whole response.
pub fn parse_response(bytes: &[u8]) -> Response {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(bytes)))
        + 4;
    let head = String::from_utf8(bytes[..end].to_vec()).expect("an ASCII head");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    let mut response = Response {
        status,
        head,
        body: Vec::new(),
    };
    let rest = &bytes[end..];
    response.body = match response.header("Transfer-Encoding") {
        Some("chunked") => dechunk(rest),
        _ => rest.to_vec(),
    };
    response
}

/// A chunked body's content; panics on bad framing or a missing last
/// chunk.
pub fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = bytes.windows(2).position(|w| w == b"\r\n").expect("a chunk size line");
        let size = usize::from_str_radix(std::str::from_utf8(&bytes[..line_end]).unwrap(), 16).expect("hex size");
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            assert_eq!(bytes, b"\r\n", "the last chunk ends the body");
            return out;
        }
        out.extend_from_slice(&bytes[..size]);
        assert_eq!(&bytes[size..size + 2], b"\r\n", "a chunk ends with CRLF");
        bytes = &bytes[size + 2..];
    }
}

/// One FLV tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub kind: u8,
    pub timestamp: u32,
    pub body: Vec<u8>,
}

/// An FLV file's header flags and tags; panics on a bad header or a
/// PreviousTagSize that does not match.
pub fn flv_tags(bytes: &[u8]) -> (u8, Vec<Tag>) {
    assert!(bytes.len() >= 13, "an FLV header");
    assert_eq!(&bytes[..4], b"FLV\x01");
    assert_eq!(&bytes[5..13], &[0, 0, 0, 9, 0, 0, 0, 0]);
    let flags = bytes[4];
    let mut tags = Vec::new();
    let mut at = 13;
    while at < bytes.len() {
        let h = &bytes[at..at + 11];
        let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        let timestamp = u32::from_be_bytes([h[7], h[4], h[5], h[6]]);
        let body = bytes[at + 11..at + 11 + len].to_vec();
        let previous = &bytes[at + 11 + len..at + 15 + len];
        assert_eq!(u32::from_be_bytes(previous.try_into().unwrap()) as usize, 11 + len);
        tags.push(Tag {
            kind: h[0],
            timestamp,
            body,
        });
        at += 15 + len;
    }
    (flags, tags)
}

/// Reads the response head and at least `want` bytes of body, within
/// `WAIT`; returns the head and what came so far.
pub fn read_head_and(socket: &mut TcpStream, want: usize) -> (String, Vec<u8>) {
    let deadline = Instant::now() + WAIT;
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n")
            && bytes.len() >= end + 4 + want
        {
            let head = String::from_utf8(bytes[..end + 4].to_vec()).unwrap();
            return (head, bytes[end + 4..].to_vec());
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no head and {want} bytes within {WAIT:?}");
        socket
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match socket.read(&mut buf) {
            Ok(0) => panic!("closed after {:?}", String::from_utf8_lossy(&bytes)),
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) => panic!("reading: {e}"),
        }
    }
}
