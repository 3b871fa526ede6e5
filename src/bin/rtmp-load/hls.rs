//! HLS viewers for the load tool: each on a thread of its own with one
//! keep-alive connection, fetching what a player fetches. With LL-HLS
//! (the playlist has `#EXT-X-PART-INF`) it asks for the next part's
//! playlist with `_HLS_msn`/`_HLS_part`, held by the server until the part
//! exists, and fetches each new part, as hls.js does; with plain HLS it
//! reloads the playlist every half target duration and fetches each new
//! segment. Viewers start at the live edge.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::http::{Url, read_head};

/// What the viewers received, all of them together.
#[derive(Default)]
pub(crate) struct Counts {
    /// Body bytes: segments, parts and playlists.
    pub(crate) bytes: AtomicU64,
    pub(crate) requests: AtomicU64,
    /// Viewers that gave up on an error.
    pub(crate) failed: AtomicU64,
}

/// Where the stream's media playlist is: its address and its path's
/// directory (`/APP/NAME/`), from the `index.m3u8` URL.
#[derive(Clone)]
pub(crate) struct Stream {
    addr: SocketAddr,
    host: String,
    dir: String,
}

impl Stream {
    pub(crate) fn parse(url: &str) -> Result<Stream, String> {
        let Url { addr, host, path } = Url::parse(url)?;
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        Ok(Stream {
            addr,
            host,
            dir: format!("{dir}/"),
        })
    }
}

/// A viewer's connection.
struct Connection {
    socket: TcpStream,
    host: String,
    /// Bytes read past the last response.
    buffered: Vec<u8>,
}

impl Connection {
    fn open(stream: &Stream) -> io::Result<Connection> {
        let socket = TcpStream::connect_timeout(&stream.addr, Duration::from_secs(5))?;
        socket.set_read_timeout(Some(Duration::from_secs(10)))?;
        socket.set_nodelay(true)?;
        Ok(Connection {
            socket,
            host: stream.host.clone(),
            buffered: Vec::new(),
        })
    }

    /// GETs `path`; the status and the body (read by its Content-Length).
    fn get(&mut self, path: &str) -> io::Result<(u16, Vec<u8>)> {
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: rtmp-load\r\n\r\n",
            self.host
        );
        self.socket.write_all(request.as_bytes())?;
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
        let end = read_head(&mut self.socket, &mut self.buffered)?;
        let mut buf = [0u8; 64 * 1024];
        let head = String::from_utf8_lossy(&self.buffered[..end]).to_ascii_lowercase();
        let status = (head.get(9..12).and_then(|s| s.parse().ok())).ok_or_else(|| bad("no status"))?;
        let length: usize = (head.lines())
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| bad("no Content-Length"))?;
        self.buffered.drain(..end);
        while self.buffered.len() < length {
            let n = self.socket.read(&mut buf)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buffered.extend_from_slice(&buf[..n]);
        }
        let rest = self.buffered.split_off(length);
        Ok((status, std::mem::replace(&mut self.buffered, rest)))
    }
}

/// What a viewer reads from a media playlist.
#[derive(Default)]
struct Playlist {
    target: f64,
    low_latency: bool,
    /// (msn, uri) of complete segments.
    segments: Vec<(u64, String)>,
    /// (msn, index, uri) of listed parts.
    parts: Vec<(u64, usize, String)>,
    /// The next part: (msn, index).
    hint: Option<(u64, usize)>,
}

/// `part{msn}.{index}.m4s` → (msn, index).
fn part_numbers(uri: &str) -> Option<(u64, usize)> {
    let name = uri.split('?').next()?;
    let (msn, index) = name.strip_prefix("part")?.strip_suffix(".m4s")?.split_once('.')?;
    Some((msn.parse().ok()?, index.parse().ok()?))
}

fn parse(text: &str) -> Playlist {
    let mut p = Playlist::default();
    let mut sequence = 0;
    let uri_of = |line: &str| {
        line.split("URI=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .map(str::to_owned)
    };
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            p.target = v.parse().unwrap_or(1.0);
        } else if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            sequence = v.parse().unwrap_or(0);
        } else if line.starts_with("#EXT-X-PART-INF") {
            p.low_latency = true;
        } else if line.starts_with("#EXT-X-PART:") {
            if let Some(uri) = uri_of(line)
                && let Some((msn, index)) = part_numbers(&uri)
            {
                p.parts.push((msn, index, uri));
            }
        } else if line.starts_with("#EXT-X-PRELOAD-HINT") {
            p.hint = uri_of(line).as_deref().and_then(part_numbers);
        } else if !line.starts_with('#') && !line.is_empty() {
            p.segments.push((sequence + p.segments.len() as u64, line.to_owned()));
        }
    }
    p
}

/// One viewer, until `stop`: fetches the init segment, then parts or
/// segments as they come.
pub(crate) fn view(stream: &Stream, counts: &Counts, stop: &AtomicBool) {
    if let Err(e) = watch(stream, counts, stop) {
        // The first few errors say why; the count says how many.
        let failed = counts.failed.fetch_add(1, Ordering::Relaxed);
        if !stop.load(Ordering::Relaxed) && failed < 3 {
            eprintln!("hls viewer: {e}");
        }
    }
}

fn watch(stream: &Stream, counts: &Counts, stop: &AtomicBool) -> Result<(), String> {
    let mut connection = Connection::open(stream).map_err(|e| e.to_string())?;
    let mut fetch = |path: &str| -> Result<Vec<u8>, String> {
        let (status, body) = connection
            .get(&format!("{}{path}", stream.dir))
            .map_err(|e| format!("{path}: {e}"))?;
        counts.requests.fetch_add(1, Ordering::Relaxed);
        counts.bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
        match status {
            200 => Ok(body),
            other => Err(format!("{path}: {other}")),
        }
    };
    let text = |body: Vec<u8>| String::from_utf8_lossy(&body).into_owned();
    let first = text(fetch("stream.m3u8")?);
    let map = (first.lines()).find_map(|l| {
        l.strip_prefix("#EXT-X-MAP:URI=\"")
            .map(|r| r.trim_end_matches('"').to_owned())
    });
    if let Some(init) = map {
        fetch(&init)?;
    }
    let mut playlist = parse(&first);
    // From the live edge: the newest segment, or the newest part.
    let mut done_segment = playlist.segments.last().map_or(0, |s| s.0);
    let mut done_part = playlist.parts.last().map(|(msn, index, _)| (*msn, *index));
    while !stop.load(Ordering::Relaxed) {
        if playlist.low_latency {
            for (msn, index, uri) in &playlist.parts {
                if done_part.is_none_or(|done| (*msn, *index) > done) {
                    fetch(uri)?;
                    done_part = Some((*msn, *index));
                }
            }
            let Some((msn, index)) = playlist.hint else {
                return Err("an LL-HLS playlist without a preload hint".into());
            };
            playlist = parse(&text(fetch(&format!("stream.m3u8?_HLS_msn={msn}&_HLS_part={index}"))?));
        } else {
            for (msn, uri) in &playlist.segments {
                if *msn > done_segment {
                    fetch(uri)?;
                    done_segment = *msn;
                }
            }
            std::thread::sleep(Duration::from_secs_f64(playlist.target.max(1.0) / 2.0));
            playlist = parse(&text(fetch("stream.m3u8")?));
        }
    }
    Ok(())
}
