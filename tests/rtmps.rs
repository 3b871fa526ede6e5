//! RTMPS: ffmpeg publishes and plays over TLS with a self-signed
//! certificate; `openssl s_client` sees the certificate, and a new one
//! written over the files is shown to new connections; garbage in place of
//! a TLS handshake closes only that connection; a push relay to an RTMPS
//! server.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::canary::Canary;
use common::*;
use rustic_rtmp::{Config, ServerHandle, TlsBind};
use rustic_rtmp::{RelaySettings, RtmpSettings};

/// A self-signed certificate for `localhost` whose subject is `CN=name`,
/// written to `cert.pem` and `key.pem` in `dir` (over any there).
fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    // Written beside, then renamed: a reader never sees half a file.
    let (new_cert, new_key) = (dir.join("new-cert.pem"), dir.join("new-key.pem"));
    let out = run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&new_key)
        .arg("-out")
        .arg(&new_cert));
    assert!(out.status.success(), "openssl: {}", stderr(&out));
    std::fs::rename(&new_key, &key).unwrap();
    std::fs::rename(&new_cert, &cert).unwrap();
    (cert, key)
}

fn tls_server(cert: &Path, key: &Path) -> ServerHandle {
    start_server_with(Config {
        rtmp: RtmpSettings {
            tls: Some(TlsBind {
                addr: "127.0.0.1:0".parse().unwrap(),
                cert: cert.to_owned(),
                key: key.to_owned(),
            }),
            ..Default::default()
        },
        ..Config::default()
    })
}

fn rtmps_url(server: &ServerHandle, path: &str) -> String {
    format!("rtmps://{}/{path}", server.tls_addr().unwrap())
}

/// The subject `openssl s_client` sees at `server`'s RTMPS port.
fn subject_seen(server: &ServerHandle) -> String {
    let out = run(Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &server.tls_addr().unwrap().to_string(),
            "-servername",
            "localhost",
        ])
        .stdin(Stdio::null()));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let subject = text.lines().find(|l| l.starts_with("subject=")).map(str::to_owned);
    subject.unwrap_or_else(|| panic!("no subject in {text}{}", stderr(&out)))
}

#[test]
fn ffmpeg_publishes_and_plays_over_rtmps() {
    let scratch = Scratch::new("rtmps-ffmpeg");
    let (cert, key) = self_signed(&scratch.path(""), "rustic-test");
    let server = tls_server(&cert, &key);
    let name = unique("secure");
    let out = scratch.path("played.flv");
    let mut player = play(&rtmps_url(&server, &format!("live/{name}")), &out);
    wait_for_players(&server, "live", &name, 1);
    let sample = Sample::AudioVideo;
    let published = publish(&sample.path(), &rtmps_url(&server, &format!("live/{name}")), &[]).wait_output();
    assert!(published.status.success(), "{}", stderr(&published));
    assert!(player.wait().success());
    let got = probe(&out);
    assert_eq!(got.video_size(), Some((320, 240)));
    assert_near(
        "video over RTMPS",
        got.video().len(),
        probe(&sample.path()).video().len(),
        95,
    );
}

#[test]
fn s_client_sees_the_certificate_and_a_new_one_on_disk_is_used() {
    let scratch = Scratch::new("rtmps-swap");
    let (cert, key) = self_signed(&scratch.path(""), "first-cert");
    let server = tls_server(&cert, &key);
    assert!(subject_seen(&server).contains("first-cert"));
    self_signed(&scratch.path(""), "second-cert");
    assert!(subject_seen(&server).contains("second-cert"), "the new certificate");
}

#[test]
fn garbage_instead_of_a_tls_handshake_closes_only_that_connection() {
    let scratch = Scratch::new("rtmps-garbage");
    let (cert, key) = self_signed(&scratch.path(""), "rustic-test");
    let server = tls_server(&cert, &key);
    let canary = Canary::start(&server);
    for garbage in [
        &b"\x03\x00\x00\x00 not tls at all"[..],
        &[0x16, 3, 1, 0xff, 0xff, 1, 0, 0],
        &[0u8; 64],
    ] {
        let mut socket = TcpStream::connect(server.tls_addr().unwrap()).unwrap();
        socket.set_read_timeout(Some(WAIT)).unwrap();
        socket.write_all(garbage).unwrap();
        let mut rest = Vec::new();
        // Closed (with a TLS alert at most), within the wait.
        let _ = socket.read_to_end(&mut rest);
        assert!(rest.len() < 64, "{} bytes back", rest.len());
    }
    // An RTMP handshake on the TLS port is garbage too.
    let mut plain = TcpStream::connect(server.tls_addr().unwrap()).unwrap();
    plain.set_read_timeout(Some(WAIT)).unwrap();
    plain.write_all(&[3; 1537]).unwrap();
    let _ = plain.read_to_end(&mut Vec::new());
    canary.finish();
}

#[test]
fn a_stream_is_pushed_to_an_rtmps_server() {
    let scratch = Scratch::new("rtmps-push");
    let (cert, key) = self_signed(&scratch.path(""), "rustic-test");
    let destination = tls_server(&cert, &key);
    let origin = start_server_with(Config {
        relay: RelaySettings {
            push: vec![format!(
                "rtmps://localhost:{}/live",
                destination.tls_addr().unwrap().port()
            )],
            tls_insecure: true,
            ..Default::default()
        },
        ..Config::default()
    });
    let name = unique("to-rtmps");
    let out = scratch.path("played.flv");
    let mut player = play(&url(&destination, &format!("live/{name}")), &out);
    wait_for_players(&destination, "live", &name, 1);
    let sample = Sample::AudioVideo;
    assert!(
        publish(&sample.path(), &url(&origin, &format!("live/{name}")), &[])
            .wait()
            .success()
    );
    assert!(player.wait().success());
    assert_near(
        "video pushed over RTMPS",
        probe(&out).video().len(),
        probe(&sample.path()).video().len(),
        95,
    );
}

#[test]
fn a_handshake_that_trickles_in_is_cut_at_the_handshake_timeout() {
    let scratch = Scratch::new("rtmps-slow");
    let (cert, key) = self_signed(&scratch.path(""), "rustic-test");
    let server = start_server_with(Config {
        rtmp: RtmpSettings {
            handshake_timeout: std::time::Duration::from_secs(1),
            tls: Some(TlsBind {
                addr: "127.0.0.1:0".parse().unwrap(),
                cert,
                key,
            }),
            ..Default::default()
        },
        ..Config::default()
    });
    let mut socket = TcpStream::connect(server.tls_addr().unwrap()).unwrap();
    let started = std::time::Instant::now();
    // A ClientHello's first bytes, one every 200 ms: each read gets
    // something, but the whole handshake has one deadline.
    let hello = [0x16, 3, 1, 0x02, 0x00, 1, 0, 1, 0xfc, 3, 3];
    let mut closed = false;
    for byte in hello.iter().cycle().take(40) {
        if socket.write_all(&[*byte]).is_err() {
            closed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200)); // a trickling peer
    }
    assert!(closed, "still open after {:?}", started.elapsed());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}
