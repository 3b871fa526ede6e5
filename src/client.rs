//! A blocking RTMP client: publish frames to, or play frames from, one
//! stream of any RTMP server. Relays, load tools and tests are built on it.
//!
//! ```no_run
//! use rustic_rtmp::client::{Client, ClientOptions};
//! use rustic_rtmp::media::{Frame, FrameKind};
//! use rustic_rtmp::protocol::time::RtmpTime;
//!
//! let options = ClientOptions::default();
//! let mut publisher = Client::publish("rtmp://127.0.0.1/live/key", &options)?;
//! publisher.send(&Frame { kind: FrameKind::Video, timestamp: RtmpTime(0), payload: vec![0x17, 0, 0, 0, 0] })?;
//! let mut player = Client::play("rtmp://127.0.0.1/live/key", &options)?;
//! if let Some(frame) = player.recv()? {
//!     println!("{:?} at {}", frame.kind, frame.timestamp);
//! }
//! # Ok::<(), rustic_rtmp::client::ClientError>(())
//! ```

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::media::Frame;
use crate::protocol::adobe_auth;
use crate::protocol::chunk::{ChunkDecoder, ChunkEncoder, ChunkError, DecoderLimits};
use crate::protocol::command::status;
use crate::protocol::escape::Escaped;
use crate::protocol::handshake::{Handshake, HandshakeError, Progress, Scheme, random_filler};
use crate::protocol::message::Message;
use crate::protocol::time::RtmpTime;
use crate::session::{ClientConfig, ClientEvent, ClientSession, Outbound, Role, SessionError};

/// How the client connects.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Limit on connecting and on each wait for the server.
    pub timeout: Duration,
    /// Our outgoing chunk size, announced before `connect`.
    pub chunk_size: u32,
    /// The handshake scheme to offer.
    pub handshake: Scheme,
    /// For `rtmps://`: accept any certificate (a self-signed server on a
    /// LAN, tests); otherwise it must chain to one of Mozilla's roots.
    pub tls_insecure: bool,
    /// The `flashVer` to send with `connect`, instead of an encoder's (to
    /// publish) or a player's (to play).
    pub flash_ver: Option<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(10),
            chunk_size: 4096,
            handshake: Scheme::Digest,
            tls_insecure: false,
            flash_ver: None,
        }
    }
}

/// Why a client operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not `rtmp://host[:port]/app[/...]/stream`. It is held
    /// as `shown` gives it, without the stream name, query and login: a
    /// stream name is often a key (YouTube's, Twitch's), and this error
    /// reaches logs and the API.
    BadUrl(String),
    /// The TCP connection could not be made.
    Connect {
        /// The address asked for.
        addr: String,
        /// Why.
        source: io::Error,
    },
    /// Reading or writing the socket failed.
    Io(io::Error),
    /// The server did not answer within the timeout.
    TimedOut,
    /// The server closed the connection.
    Closed,
    /// The handshake failed.
    Handshake(HandshakeError),
    /// The server sent a broken chunk stream.
    Chunk(ChunkError),
    /// The server sent a message that did not decode.
    Session(SessionError),
    /// The server refused: its status code and description.
    Refused {
        /// The status code (`NetStream.Publish.BadName`, ...).
        code: String,
        /// The server's description.
        description: String,
    },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::BadUrl(url) => write!(f, "{url:?} is not an rtmp://host[:port]/app/stream url"),
            ClientError::Connect { addr, .. } => write!(f, "cannot connect to {addr}"),
            ClientError::Io(_) => write!(f, "connection failed"),
            ClientError::TimedOut => write!(f, "the server did not answer in time"),
            ClientError::Closed => write!(f, "the server closed the connection"),
            ClientError::Handshake(_) => write!(f, "handshake failed"),
            ClientError::Chunk(_) => write!(f, "the server sent a broken chunk stream"),
            ClientError::Session(_) => write!(f, "the server sent a broken message"),
            ClientError::Refused { code, description } => write!(f, "refused with {code}: {description}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Connect { source, .. } | ClientError::Io(source) => Some(source),
            ClientError::Handshake(e) => Some(e),
            ClientError::Chunk(e) => Some(e),
            ClientError::Session(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ClientError::TimedOut,
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => {
                ClientError::Closed
            }
            _ => ClientError::Io(e),
        }
    }
}

/// An `rtmp://` URL split as ffmpeg splits it: the last path segment is the
/// stream (with its query), everything before it the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtmpUrl {
    /// `rtmps://`: RTMP inside TLS.
    pub tls: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port, 1935 (443 for `rtmps://`) unless given.
    pub port: u16,
    /// The application, possibly with slashes.
    pub app: String,
    /// The stream name, with any `?query`.
    pub stream: String,
    /// `user:password@` before the host: answered to an `authmod=adobe`
    /// challenge, as ffmpeg does.
    pub credentials: Option<(String, String)>,
}

impl RtmpUrl {
    /// Parses `rtmp[s]://[user:password@]host[:port]/app[/more]/stream[?query]`.
    pub fn parse(url: &str) -> Result<RtmpUrl, ClientError> {
        let bad = || ClientError::BadUrl(shown(url));
        let (tls, rest) = match (url.strip_prefix("rtmp://"), url.strip_prefix("rtmps://")) {
            (Some(rest), _) => (false, rest),
            (None, Some(rest)) => (true, rest),
            (None, None) => return Err(bad()),
        };
        let (authority, path) = rest.split_once('/').ok_or_else(bad)?;
        let (credentials, authority) = match authority.rsplit_once('@') {
            Some((login, host)) => {
                let (user, password) = login.split_once(':').unwrap_or((login, ""));
                (Some((user.to_owned(), password.to_owned())), host)
            }
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(bad)?;
            (host, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let default_port = if tls { 443 } else { 1935 };
        let port = port.map_or(Ok(default_port), |p| p.parse().map_err(|_| bad()))?;
        // The query belongs to the stream, so split the path before it.
        let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
        let (app, stream) = path.rsplit_once('/').ok_or_else(bad)?;
        if host.is_empty() || app.is_empty() {
            return Err(bad());
        }
        let stream = match query {
            Some(q) => format!("{stream}?{q}"),
            None => stream.to_owned(),
        };
        Ok(RtmpUrl {
            tls,
            host: host.to_owned(),
            port,
            app: app.to_owned(),
            stream,
            credentials,
        })
    }

    fn tc_url(&self) -> String {
        let scheme = if self.tls { "rtmps" } else { "rtmp" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}/{}", self.host, self.port, self.app)
        } else {
            format!("{scheme}://{}:{}/{}", self.host, self.port, self.app)
        }
    }
}

/// Opens publishers and players.
#[derive(Debug)]
pub struct Client;

impl Client {
    /// Connects and publishes the URL's stream; returns once the server
    /// answered `NetStream.Publish.Start`.
    pub fn publish(url: &str, options: &ClientOptions) -> Result<Publisher, ClientError> {
        let connection = Connection::start(url, options, Role::Publish)?;
        Ok(Publisher { connection })
    }

    /// Connects and plays the URL's stream; returns once the server
    /// answered `NetStream.Play.Start`.
    pub fn play(url: &str, options: &ClientOptions) -> Result<Player, ClientError> {
        let connection = Connection::start(url, options, Role::Play)?;
        Ok(Player { connection })
    }
}

/// A live publish.
pub struct Publisher {
    connection: Connection,
}

impl Publisher {
    /// Sends one frame (audio, video or `onMetaData`).
    pub fn send(&mut self, frame: &Frame) -> Result<(), ClientError> {
        let outbound = self.connection.session.frame_message(frame);
        self.connection.send(&outbound)
    }

    /// Sends any message on our stream: aggregate messages, Set Chunk Size
    /// (which switches our encoder too), crafted payloads.
    pub fn send_message(&mut self, csid: u32, timestamp: RtmpTime, message: Message) -> Result<(), ClientError> {
        let stream_id = self.connection.session.stream_id();
        self.connection.send(&Outbound {
            csid,
            timestamp,
            stream_id,
            message,
        })
    }
}

/// A live playback.
pub struct Player {
    connection: Connection,
}

impl Player {
    /// The next frame; `Ok(None)` when the publisher left (StreamEOF).
    pub fn recv(&mut self) -> Result<Option<Frame>, ClientError> {
        loop {
            match self.connection.next_event()? {
                ClientEvent::Media(frame) => return Ok(Some(frame)),
                ClientEvent::StreamEnd => return Ok(None),
                ClientEvent::Failed { code, description } => return Err(ClientError::Refused { code, description }),
                _ => {}
            }
        }
    }
}

impl Player {
    /// How long `recv` waits for the server before it fails with a
    /// timeout (`ClientError::TimedOut`); the player can
    /// go on after one.
    pub fn set_read_timeout(&self, timeout: Duration) -> Result<(), ClientError> {
        self.connection.socket.set_read_timeout(Some(timeout))?;
        Ok(())
    }

    /// Switches the socket to non-blocking reads, for `poll`: a load tool
    /// then serves many players from one thread.
    pub fn set_nonblocking(&self, nonblocking: bool) -> Result<(), ClientError> {
        self.connection.socket.set_nonblocking(nonblocking)?;
        Ok(())
    }

    /// Reads whatever has arrived without waiting (after `set_nonblocking`)
    /// and appends its frames to `frames`. Returns the bytes read; the end
    /// of the stream and a closed connection are errors. A read shorter
    /// than asked for emptied the socket, so it is the last: no further
    /// call just to hear `WouldBlock`.
    pub fn poll(&mut self, frames: &mut Vec<Frame>) -> Result<usize, ClientError> {
        self.connection.pump(|frame| frames.push(frame))
    }
}

impl Publisher {
    /// Reads what the server sent since the last call without waiting,
    /// answering what asks for an answer (pings): a long publish calls it
    /// now and then so the server's messages never fill the socket. A
    /// connection the server closed, or a refusal, is an error.
    pub fn service(&mut self) -> Result<(), ClientError> {
        let socket = &self.connection.socket;
        socket.set_nonblocking(true)?;
        let pumped = self.connection.pump(drop);
        self.connection.socket.set_nonblocking(false)?;
        pumped.map(drop)
    }
}

/// One socket with its codec state and session.
struct Connection {
    socket: TcpStream,
    decoder: ChunkDecoder,
    encoder: ChunkEncoder,
    session: ClientSession,
    events: VecDeque<ClientEvent>,
    out: Vec<u8>,
}

impl Connection {
    /// Opens the connection and waits for Publish.Start or Play.Start,
    /// logging in on the way when the server asks for `authmod=adobe` and
    /// the URL has credentials (each step is a new connection).
    fn start(url: &str, options: &ClientOptions, role: Role) -> Result<Connection, ClientError> {
        let url = RtmpUrl::parse(url)?;
        let mut auth_query = String::new();
        loop {
            let mut connection = Connection::open(&url, &auth_query, options, role)?;
            let refusal = match connection.wait_until_started() {
                Ok(()) => return Ok(connection),
                Err(ClientError::Refused { code, description }) if code == status::CONNECT_REJECTED => {
                    ClientError::Refused { code, description }
                }
                Err(e) => return Err(e),
            };
            let (Some((user, password)), ClientError::Refused { description, .. }) = (&url.credentials, &refusal)
            else {
                return Err(refusal);
            };
            let mut challenge = [0u8; 4];
            getrandom::fill(&mut challenge).map_err(|e| ClientError::Io(io::Error::other(e)))?;
            match adobe_auth::next_query(description, user, password, &adobe_auth::hex(&challenge)) {
                // Each step asks for more than the last: at most three.
                Some(next) if next.len() > auth_query.len() => auth_query = next,
                _ => return Err(refusal),
            }
        }
    }

    /// Connects, with `auth_query` after the app when not empty.
    fn open(url: &RtmpUrl, auth_query: &str, options: &ClientOptions, role: Role) -> Result<Connection, ClientError> {
        let addr = format!("{}:{}", url.host, url.port);
        let connect_error = |source| ClientError::Connect {
            addr: addr.clone(),
            source,
        };
        let resolved = (url.host.as_str(), url.port)
            .to_socket_addrs()
            .map_err(connect_error)?
            .next()
            .ok_or_else(|| connect_error(io::ErrorKind::NotFound.into()))?;
        // Over TLS, the socket is the plaintext end of a pump's pair.
        let socket = match url.tls {
            true => crate::tls::connect(resolved, &url.host, options.tls_insecure, options.timeout),
            false => TcpStream::connect_timeout(&resolved, options.timeout),
        }
        .map_err(connect_error)?;
        socket.set_read_timeout(Some(options.timeout))?;
        socket.set_write_timeout(Some(options.timeout))?;
        socket.set_nodelay(true)?;

        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut handshake = Handshake::client(0, &random_filler(now.as_nanos() as u64), options.handshake);
        (&socket).write_all(&handshake.take_output())?;
        let mut buf = vec![0u8; 16 * 1024];
        let leftover = loop {
            let n = (&socket).read(&mut buf)?;
            if n == 0 {
                return Err(ClientError::Closed);
            }
            if let Progress::Done { leftover } = handshake.push(&buf[..n]).map_err(ClientError::Handshake)? {
                break leftover;
            }
        };
        (&socket).write_all(&handshake.take_output())?;

        let config = ClientConfig {
            tc_url: url.tc_url(),
            app: match auth_query {
                "" => url.app.clone(),
                query => format!("{}?{query}", url.app),
            },
            stream: url.stream.clone(),
            chunk_size: options.chunk_size,
            flash_ver: options.flash_ver.clone(),
        };
        let mut session = ClientSession::new(config, role);
        let mut connection = Connection {
            socket,
            decoder: ChunkDecoder::new(DecoderLimits::default()),
            encoder: ChunkEncoder::new(),
            events: session.start().into(),
            session,
            out: Vec::new(),
        };
        connection.decoder.push(&leftover);
        Ok(connection)
    }

    fn send(&mut self, outbound: &Outbound) -> Result<(), ClientError> {
        self.out.clear();
        self.encoder.encode(
            outbound.csid,
            outbound.timestamp,
            outbound.stream_id,
            &outbound.message,
            &mut self.out,
        );
        (&self.socket).write_all(&self.out)?;
        Ok(())
    }

    /// Reads once from the socket straight into the decoder (no copy, no
    /// zeroed buffer per call) and counts the bytes for acknowledgements.
    /// Returns the bytes read (0: the peer closed) and the room they were
    /// read into.
    fn read_some(&mut self) -> io::Result<(usize, usize)> {
        const READ_SIZE: usize = 64 * 1024;
        let room = self.decoder.unfilled(READ_SIZE);
        let asked = room.len();
        let n = (&self.socket).read(room)?;
        self.decoder.filled(n);
        self.events.extend(self.session.bytes_received(n));
        Ok((n, asked))
    }

    /// Reads whatever a non-blocking socket has, handles its messages
    /// and gives each frame to `media`; returns the bytes read.
    fn pump(&mut self, mut media: impl FnMut(Frame)) -> Result<usize, ClientError> {
        let mut total = 0;
        loop {
            let (n, asked) = match self.read_some() {
                Ok((0, _)) => return Err(ClientError::Closed),
                Ok(read) => read,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(total),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            total += n;
            while let Some(raw) = self.decoder.next_message().map_err(ClientError::Chunk)? {
                self.events
                    .extend(self.session.handle(raw).map_err(ClientError::Session)?);
            }
            while let Some(event) = self.events.pop_front() {
                match event {
                    ClientEvent::Send(outbound) => self.send(&outbound)?,
                    ClientEvent::Media(frame) => media(frame),
                    ClientEvent::Failed { code, description } => {
                        return Err(ClientError::Refused { code, description });
                    }
                    _ => {}
                }
            }
            if n < asked {
                return Ok(total);
            }
        }
    }

    /// The next event that is not a message to send (those are sent here).
    fn next_event(&mut self) -> Result<ClientEvent, ClientError> {
        loop {
            while let Some(event) = self.events.pop_front() {
                match event {
                    ClientEvent::Send(outbound) => self.send(&outbound)?,
                    other => return Ok(other),
                }
            }
            match self.decoder.next_message().map_err(ClientError::Chunk)? {
                Some(raw) => self
                    .events
                    .extend(self.session.handle(raw).map_err(ClientError::Session)?),
                None => {
                    if self.read_some()?.0 == 0 {
                        return Err(ClientError::Closed);
                    }
                }
            }
        }
    }

    fn wait_until_started(&mut self) -> Result<(), ClientError> {
        loop {
            match self.next_event()? {
                ClientEvent::Publishing | ClientEvent::Playing => return Ok(()),
                ClientEvent::Failed { code, description } => return Err(ClientError::Refused { code, description }),
                _ => {}
            }
        }
    }
}

/// A URL as logs, errors and the API may show it: scheme, host and app,
/// without the stream name, query or login.
pub(crate) fn shown(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("rtmp", url));
    let rest = rest.split('?').next().unwrap_or("");
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let base = rest.rsplit_once('/').map_or(rest, |(base, _)| base);
    Escaped(&format!("{scheme}://{base}")).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_as_ffmpeg_splits_them() {
        let url = RtmpUrl::parse("rtmp://example.com/live/key").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.app.as_str(), url.stream.as_str()),
            ("example.com", 1935, "live", "key")
        );
        let url = RtmpUrl::parse("rtmp://alice:won:der@example.com/live/key").unwrap();
        assert_eq!(url.credentials, Some(("alice".into(), "won:der".into())));
        assert_eq!((url.host.as_str(), url.app.as_str()), ("example.com", "live"));
        let url = RtmpUrl::parse("rtmp://10.0.0.1:1936/app/inst/name?key=a/b").unwrap();
        assert_eq!(url.credentials, None);
        assert_eq!(
            (url.port, url.app.as_str(), url.stream.as_str()),
            (1936, "app/inst", "name?key=a/b")
        );
        let url = RtmpUrl::parse("rtmp://[::1]:1937/live/x").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 1937));
        assert_eq!(url.tc_url(), "rtmp://[::1]:1937/live");
        let url = RtmpUrl::parse("rtmps://live-api-s.facebook.com/rtmp/KEY").unwrap();
        assert!(url.tls);
        assert_eq!(
            (url.port, url.tc_url().as_str()),
            (443, "rtmps://live-api-s.facebook.com:443/rtmp")
        );
        for bad in [
            "http://h/a/b",
            "rtmp://h",
            "rtmp://h/onlyapp",
            "rtmp://h:x/a/b",
            "rtmp:///a/b",
        ] {
            assert!(RtmpUrl::parse(bad).is_err(), "{bad}");
        }
    }
    #[test]
    fn a_url_is_shown_without_its_key_or_login_even_when_it_does_not_parse() {
        assert_eq!(
            shown("rtmp://a.rtmp.youtube.com/live2/SECRET"),
            "rtmp://a.rtmp.youtube.com/live2"
        );
        assert_eq!(shown("rtmp://u:p@host/app/k?key=s"), "rtmp://host/app");
        let error = RtmpUrl::parse("htp://a.rtmp.youtube.com/live2/SECRET").unwrap_err();
        assert!(!error.to_string().contains("SECRET"), "{error}");
        assert!(!format!("{error:?}").contains("SECRET"), "{error:?}");
    }
}
