//! An HTTP-FLV player for the load tool: one GET, then reads that take the
//! chunked framing and the FLV tags apart as bytes arrive.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::http::{Url, read_head};
use rustic_rtmp::media::{Frame, flv};

/// Bytes read at a time.
const READ_SIZE: usize = 64 * 1024;

pub(crate) struct HttpFlvPlayer {
    socket: TcpStream,
    /// Bytes read and not yet taken apart.
    raw: Vec<u8>,
    /// Bytes left in the HTTP chunk being read.
    chunk_left: usize,
    /// FLV bytes not yet a whole tag.
    flv: Vec<u8>,
    /// The 13-byte FLV header is behind us.
    past_header: bool,
    /// Frames read by `recv` and not yet returned.
    ready: VecDeque<Frame>,
}

impl HttpFlvPlayer {
    /// GETs `url` (`http://host:port/app/name.flv`) and reads the response
    /// head, which a server sends once the stream is live.
    pub(crate) fn open(url: &str, timeout: Duration) -> Result<HttpFlvPlayer, String> {
        let Url { addr, host, path } = Url::parse(url)?;
        let mut socket = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
        socket.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: rtmp-load\r\n\r\n");
        socket.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
        let mut head = Vec::new();
        let end = read_head(&mut socket, &mut head).map_err(|e| format!("no answer: {e}"))?;
        let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
        if !text.starts_with("http/1.1 200") || !text.contains("transfer-encoding: chunked") {
            let line = text.lines().next().unwrap_or_default().to_owned();
            return Err(format!("not a chunked 200 response: {line}"));
        }
        Ok(HttpFlvPlayer {
            socket,
            raw: head.split_off(end),
            chunk_left: 0,
            flv: Vec::new(),
            past_header: false,
            ready: VecDeque::new(),
        })
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        self.socket.set_nonblocking(nonblocking)
    }

    /// Reads whatever has arrived without waiting and appends its frames
    /// to `frames`; returns the bytes read. The end of the body is an error.
    pub(crate) fn poll(&mut self, frames: &mut Vec<Frame>) -> io::Result<usize> {
        let mut total = 0;
        loop {
            let filled = self.raw.len();
            self.raw.resize(filled + READ_SIZE, 0);
            let read = self.socket.read(&mut self.raw[filled..]);
            self.raw.truncate(filled + *read.as_ref().unwrap_or(&0));
            match read {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => {
                    total += n;
                    self.take_apart(frames)?;
                    if n < READ_SIZE {
                        return Ok(total);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// The next frame, waiting for it (on a blocking socket).
    pub(crate) fn recv(&mut self) -> io::Result<Frame> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                return Ok(frame);
            }
            let mut frames = Vec::new();
            self.poll(&mut frames)?;
            self.ready.extend(frames);
        }
    }

    /// Moves chunk data from `raw` to `flv`, and whole tags from `flv` to
    /// `frames`.
    fn take_apart(&mut self, frames: &mut Vec<Frame>) -> io::Result<()> {
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        let mut at = 0;
        loop {
            if self.chunk_left > 0 {
                // Chunk data, then its CRLF, counted in chunk_left.
                let take = self.chunk_left.min(self.raw.len() - at);
                let data_left = self.chunk_left.saturating_sub(2);
                self.flv.extend_from_slice(&self.raw[at..at + take.min(data_left)]);
                self.chunk_left -= take;
                at += take;
                if self.chunk_left > 0 {
                    break;
                }
                continue;
            }
            let Some(line) = self.raw[at..].windows(2).position(|w| w == b"\r\n") else {
                break;
            };
            let size = std::str::from_utf8(&self.raw[at..at + line])
                .ok()
                .and_then(|s| usize::from_str_radix(s, 16).ok())
                .ok_or_else(|| bad("a bad chunk size"))?;
            if size == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            at += line + 2;
            self.chunk_left = size + 2;
        }
        self.raw.drain(..at);
        if !self.past_header {
            if self.flv.len() < 13 {
                return Ok(());
            }
            self.flv.drain(..13);
            self.past_header = true;
        }
        let mut at = 0;
        while let Some((frame, len)) = flv::read_tag(&self.flv[at..]) {
            frames.push(frame);
            at += len;
        }
        self.flv.drain(..at);
        Ok(())
    }
}
