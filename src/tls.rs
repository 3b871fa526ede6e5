//! RTMPS: RTMP inside TLS (rustls with the ring provider), as a server on
//! its own port and as a client for `rtmps://` pushes and pulls.
//!
//! A connection's socket is written by two threads: its own, and the one
//! publishing the stream it plays, which writes straight to idle players
//! (see `server/stream/outlet.rs`). One TLS state cannot serve both without a lock
//! held across `send`, which would make the publisher wait for a slow
//! player. So TLS ends at a pump thread per connection: the pump owns the
//! TLS socket and the rustls connection, and passes plaintext through a
//! loopback TCP pair whose other end the RTMP machinery uses exactly as it
//! uses a peer's socket: write-through, queues, timeouts and all. The pump
//! moves bytes both ways with non-blocking I/O and `poll`, holding at most
//! `BUFFER` bytes each way, so a peer that stops reading fills the pair
//! and the RTMP side sees a slow player, as it would without TLS.
//! `BUFFER` is 64 KiB, rustls's own buffer limit alike. The plaintext end
//! is registered under the peer's real address.
//!
//! The RTMPS listener's thread for a socket does the TLS handshake, starts
//! the RTMP connection's thread on the pair and becomes the pump; the
//! client side starts a pump for `rtmps://` and hands the client the
//! plaintext end. Pairs come from one loopback listener, made one at a
//! time so that each accept takes its own connect. The price: one more
//! thread and two more descriptors per RTMPS connection, and a copy each
//! way (see the crate's `manual` for what that costs per byte).

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use log::{debug, info, warn};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use parking_lot::Mutex;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, Connection, DigitallySignedStruct, ServerConfig, ServerConnection};

/// Bytes the pump holds each way; rustls's own buffers are bounded alike.
const BUFFER: usize = 64 * 1024;

/// The ring provider, for every config made here.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why a certificate and key could not be loaded.
#[derive(Debug)]
pub struct TlsError(String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

/// The server's certificate chain and key, from PEM files, read again when
/// either file changes.
pub(crate) struct Certificates {
    cert: PathBuf,
    key: PathBuf,
    loaded: Mutex<(Option<SystemTime>, Option<SystemTime>, Arc<ServerConfig>)>,
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| TlsError(format!("{}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(TlsError(format!("{}: no certificate in it", cert.display())));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError(format!("{}: {e}", key.display())))?;
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| TlsError(format!("{} and {}: {e}", cert.display(), key.display())))?;
    Ok(Arc::new(config))
}

impl Certificates {
    /// Loads the chain and key; an error names the file and what is wrong.
    pub(crate) fn load(cert: &Path, key: &Path) -> Result<Certificates, TlsError> {
        let config = server_config(cert, key)?;
        Ok(Certificates {
            cert: cert.to_owned(),
            key: key.to_owned(),
            loaded: Mutex::new((modified(cert), modified(key), config)),
        })
    }

    /// The config for a new connection: the files are read again if
    /// either changed since (a renewed certificate); if they do not load,
    /// the last good ones stay, with a warning.
    pub(crate) fn current(&self) -> Arc<ServerConfig> {
        let stamps = (modified(&self.cert), modified(&self.key));
        let mut loaded = self.loaded.lock();
        if (loaded.0, loaded.1) != stamps {
            match server_config(&self.cert, &self.key) {
                Ok(config) => {
                    info!("TLS certificate {} reloaded", self.cert.display());
                    loaded.2 = config;
                }
                Err(e) => warn!("TLS certificate not reloaded, the last one stays: {e}"),
            }
            (loaded.0, loaded.1) = stamps;
        }
        loaded.2.clone()
    }
}

/// Completes the server side of a handshake on `socket` within `timeout`;
/// the caller then runs `pump` with the connection.
pub(crate) fn accept(socket: &TcpStream, config: Arc<ServerConfig>, timeout: Duration) -> io::Result<Connection> {
    let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
    handshake(socket, &mut conn, timeout)?;
    Ok(Connection::Server(conn))
}

fn handshake<C: std::ops::DerefMut<Target = rustls::ConnectionCommon<D>>, D>(
    socket: &TcpStream,
    conn: &mut C,
    timeout: Duration,
) -> io::Result<()> {
    // A deadline for the whole handshake, not per read: a peer sending a
    // byte now and then must not hold the thread.
    let deadline = std::time::Instant::now() + timeout;
    let mut stream = socket;
    while conn.is_handshaking() {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("TLS handshake not done within {timeout:?}"),
            ));
        }
        socket.set_read_timeout(Some(left))?;
        socket.set_write_timeout(Some(left))?;
        // One read at a time (`complete_io` would read on until the
        // handshake is done, past the deadline).
        while conn.wants_write() {
            conn.write_tls(&mut stream)?;
        }
        if conn.is_handshaking() && conn.wants_read() {
            if conn.read_tls(&mut stream)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            conn.process_new_packets().map_err(|e| {
                // The alert that says why, if the socket still takes it.
                let _ = conn.write_tls(&mut stream);
                io::Error::new(io::ErrorKind::InvalidData, e)
            })?;
        }
    }
    while conn.wants_write() {
        conn.write_tls(&mut stream)?;
    }
    socket.set_read_timeout(None)?;
    socket.set_write_timeout(None)?;
    Ok(())
}

/// Connects to `addr` with TLS for `host` (certificates checked against
/// Mozilla's roots unless `insecure`) and returns the plaintext end of a
/// loopback pair; a pump thread carries the bytes until either side
/// closes.
pub(crate) fn connect(addr: SocketAddr, host: &str, insecure: bool, timeout: Duration) -> io::Result<TcpStream> {
    let config = client_config(insecure);
    let name = ServerName::try_from(host.to_owned()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
    let socket = TcpStream::connect_timeout(&addr, timeout)?;
    handshake(&socket, &mut conn, timeout)?;
    let (near, far) = loopback_pair()?;
    std::thread::Builder::new()
        .name("rtmps-client".into())
        .stack_size(crate::config::THREAD_STACK)
        .spawn(move || pump(&socket, Connection::Client(conn), &far))?;
    Ok(near)
}

fn client_config(insecure: bool) -> Arc<ClientConfig> {
    static VERIFIED: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    static INSECURE: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let make = |insecure: bool| {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions");
        let config = match insecure {
            true => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(
                    provider().signature_verification_algorithms,
                )))
                .with_no_client_auth(),
            false => {
                let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                builder.with_root_certificates(roots).with_no_client_auth()
            }
        };
        Arc::new(config)
    };
    match insecure {
        true => INSECURE.get_or_init(|| make(true)).clone(),
        false => VERIFIED.get_or_init(|| make(false)).clone(),
    }
}

/// Accepts any certificate, without asking who vouches for it: for tests
/// and self-signed LAN servers only (`--push-insecure`). The handshake's
/// signatures are still checked against the certificate's key, with the
/// provider's algorithms, so the peer must hold the key it shows.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// Two connected loopback sockets: (near, far). One listener serves every
/// pair; pairs are made one at a time so that each accept takes its own
/// connect, and anything else that connects to it is turned away.
pub(crate) fn loopback_pair() -> io::Result<(TcpStream, TcpStream)> {
    static LISTENER: OnceLock<Mutex<Option<TcpListener>>> = OnceLock::new();
    let mut listener = LISTENER.get_or_init(|| Mutex::new(None)).lock();
    if listener.is_none() {
        *listener = Some(TcpListener::bind("127.0.0.1:0")?);
    }
    let listener = listener.as_ref().expect("bound above");
    let near = TcpStream::connect(listener.local_addr()?)?;
    let want = near.local_addr()?;
    loop {
        let (far, from) = listener.accept()?;
        if from == want {
            near.set_nodelay(true)?;
            far.set_nodelay(true)?;
            return Ok((near, far));
        }
        debug!("a stray connection to the TLS loopback listener from {from}; closed");
    }
}

/// Carries bytes between the TLS `socket` (through `conn`) and the
/// plaintext `plain` until either side closes or the TLS fails, then
/// closes both.
pub(crate) fn pump(socket: &TcpStream, mut conn: Connection, plain: &TcpStream) {
    let outcome = pump_until_closed(socket, &mut conn, plain);
    if let Err(e) = outcome {
        debug!("TLS connection ended: {e}");
    }
    let _ = plain.shutdown(Shutdown::Both);
    let _ = socket.shutdown(Shutdown::Both);
}

fn pump_until_closed(mut socket: &TcpStream, conn: &mut Connection, mut plain: &TcpStream) -> io::Result<()> {
    socket.set_nonblocking(true)?;
    plain.set_nonblocking(true)?;
    conn.set_buffer_limit(Some(BUFFER));
    // Decrypted bytes not yet taken by the plaintext side: first whatever
    // came with the end of the handshake.
    let mut to_plain: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match conn.reader().read(&mut buf) {
            Ok(n) if n > 0 => to_plain.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    let (mut tls_open, mut plain_open) = (true, true);
    loop {
        // Write what each side owes.
        while conn.wants_write() {
            match conn.write_tls(&mut socket) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        while !to_plain.is_empty() {
            match plain.write(&to_plain) {
                Ok(n) => drop(to_plain.drain(..n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let tls_done = !tls_open && to_plain.is_empty();
        let plain_done = !plain_open && !conn.wants_write();
        if tls_done || plain_done {
            return Ok(());
        }
        let mut tls_events = PollFlags::empty();
        if tls_open && to_plain.len() < BUFFER {
            tls_events |= PollFlags::POLLIN;
        }
        if conn.wants_write() {
            tls_events |= PollFlags::POLLOUT;
        }
        let mut plain_events = PollFlags::empty();
        // rustls takes plaintext up to its buffer limit.
        if plain_open && !conn.wants_write() {
            plain_events |= PollFlags::POLLIN;
        }
        if !to_plain.is_empty() {
            plain_events |= PollFlags::POLLOUT;
        }
        let mut fds = [
            PollFd::new(socket.as_fd(), tls_events),
            PollFd::new(plain.as_fd(), plain_events),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let ready = |fd: &PollFd<'_>| fd.revents().unwrap_or(PollFlags::empty());
        let (tls_ready, plain_ready) = (ready(&fds[0]), ready(&fds[1]));
        let gone = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;
        if tls_ready.intersects(gone) && tls_open {
            match conn.read_tls(&mut socket) {
                Ok(0) => tls_open = false,
                Ok(_) => {
                    let state = conn.process_new_packets().map_err(io::Error::other)?;
                    if state.peer_has_closed() {
                        tls_open = false;
                    }
                    loop {
                        match conn.reader().read(&mut buf) {
                            Ok(0) => {
                                tls_open = false;
                                break;
                            }
                            Ok(n) => to_plain.extend_from_slice(&buf[..n]),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                            Err(e) => return Err(e),
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        if plain_ready.intersects(gone) && plain_open {
            match plain.read(&mut buf) {
                Ok(0) => {
                    plain_open = false;
                    conn.send_close_notify();
                }
                Ok(n) => conn.writer().write_all(&buf[..n])?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
    }
}
