//! SRT with `--srt-passphrase`: real libsrt callers (ffmpeg and
//! srt-live-transmit, libsrt 1.5) over loopback publish and read
//! encrypted streams, and a wrong passphrase is turned away before the
//! stream goes live.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;
use rustic_rtmp::{Config, HttpBind, HttpSettings, ServerHandle, SrtSettings};

const PASSPHRASE: &str = "a test passphrase";

fn server() -> ServerHandle {
    server_with(Config {
        srt: SrtSettings {
            passphrase: Some(PASSPHRASE.into()),
            ..Default::default()
        },
        ..Config::default()
    })
}

/// `config` with SRT and HTTP (for the API) on loopback.
fn server_with(config: Config) -> ServerHandle {
    let loopback = HttpBind {
        addr: "127.0.0.1:0".parse().unwrap(),
        required: true,
    };
    start_server_with(Config {
        srt: SrtSettings {
            bind: Some(loopback),
            ..config.srt.clone()
        },
        http: HttpSettings {
            bind: Some(loopback),
            ..config.http.clone()
        },
        ..config
    })
}

fn srt_url(server: &ServerHandle, stream_id: &str, query: &str) -> String {
    let port = server.srt_addr().expect("the SRT door listens").port();
    format!("srt://127.0.0.1:{port}?streamid={stream_id}&{query}")
}

/// The audio and video sample as MPEG-TS, what SRT callers carry.
fn ts_sample(scratch: &Scratch) -> PathBuf {
    let ts = scratch.path("sample.ts");
    let out = run(ffmpeg()
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(Sample::AudioVideo.path())
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(&ts));
    assert!(out.status.success(), "ffmpeg made no TS sample: {}", stderr(&out));
    ts
}

/// ffmpeg publishing `ts` in real time to `srt`; stderr piped. It
/// lingers on close, or libsrt drops its last unacknowledged packets (as
/// in tests/srt.rs).
fn publish_srt(ts: &Path, srt: &str) -> Proc {
    spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re", "-i"])
            .arg(ts)
            .args(["-c", "copy", "-f", "mpegts"])
            .arg(format!("{srt}&linger=10"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
}

/// An encrypted SRT publish with `pbkeylen` (and `more` of the query)
/// reaches an RTMP player whole; the figures of the API's `srt` object as
/// the publish ends.
fn publish_encrypted(pbkeylen: u8, more: &str) -> serde_json::Value {
    let server = server();
    let scratch = Scratch::new("srtenc");
    let name = unique("srtenc");
    let ts = ts_sample(&scratch);
    let out = scratch.path("played.flv");
    let mut player = play(&url(&server, &format!("live/{name}")), &out);
    wait_for_players(&server, "live", &name, 1);
    let query = format!("passphrase={PASSPHRASE}&pbkeylen={pbkeylen}{more}");
    let mut publisher = publish_srt(&ts, &srt_url(&server, &format!("publish:live/{name}"), &query));
    // The figures are told the API once a second: the last seen before
    // the publisher leaves.
    let mut srt = serde_json::Value::Null;
    wait_until("the publish ends", || {
        if let Some(now) = srt_publisher(&server) {
            srt = now;
        }
        !publisher.is_running()
    });
    let published = publisher.wait_output();
    assert!(published.status.success(), "ffmpeg published: {}", stderr(&published));
    player.wait();
    let (sent, got) = (probe(&ts), probe(&out));
    assert_eq!(got.codecs(), vec!["aac", "h264"]);
    assert_eq!(got.video_size(), Some((320, 240)));
    // Decrypted wrong, the TS would not demux at all; a packet dropped as
    // undecryptable would show as missing frames.
    eprintln!(
        "pbkeylen {pbkeylen}: {} of {} video, {} of {} audio packets",
        got.video().len(),
        sent.video().len(),
        got.audio().len(),
        sent.audio().len()
    );
    assert_near("video packets", got.video().len(), sent.video().len(), 95);
    assert_near("audio packets", got.audio().len(), sent.audio().len(), 95);
    got.assert_monotonic();
    srt
}

/// The API's `srt` object of the SRT publisher, while there is one.
fn srt_publisher(server: &ServerHandle) -> Option<serde_json::Value> {
    let response = common::http::call(server.http_addr().expect("HTTP listens"), "GET", "/api/v1/clients", "");
    let clients: serde_json::Value = serde_json::from_slice(&response.body).ok()?;
    (clients["clients"].as_array()?.iter())
        .find(|c| c["type"] == "srt-publish")
        .map(|c| c["srt"].clone())
        .filter(|srt| !srt.is_null())
}

#[test]
fn ffmpeg_publishes_with_aes_128_and_an_rtmp_player_gets_it() {
    let srt = publish_encrypted(16, "");
    assert_eq!(srt["key_refreshes"], 0, "{srt}");
}

#[test]
fn ffmpeg_publishes_with_aes_256_and_an_rtmp_player_gets_it() {
    publish_encrypted(32, "");
}

/// libsrt's sender switching keys every 30 packets (the sample is some
/// 170) and announcing each 10 packets before: KMREQ control packets, each
/// new key odd and even in turn. Without the refresh installed, every
/// packet after the first switch would be undecryptable and the player
/// would get a second of the stream.
#[test]
fn ffmpeg_refreshing_its_keys_every_30_packets_loses_nothing() {
    let srt = publish_encrypted(16, "&kmrefreshrate=30&kmpreannounce=10");
    eprintln!("{srt}");
    assert_eq!(srt["undecryptable"], 0, "{srt}");
    assert!(srt["key_refreshes"].as_u64().unwrap() >= 3, "{srt}");
}

#[test]
fn a_wrong_passphrase_is_refused_and_the_stream_never_goes_live() {
    let server = server();
    let scratch = Scratch::new("srtbad");
    let name = unique("srtbad");
    let ts = ts_sample(&scratch);
    let stream_id = format!("publish:live/{name}");
    let wrong = srt_url(&server, &stream_id, "passphrase=not the passphrase&pbkeylen=16");
    let mut refused = publish_srt(&ts, &wrong);
    // Watched while ffmpeg tries, not only after it gave up.
    let mut went_live = false;
    wait_until("ffmpeg gives up", || {
        went_live |= stream_stats(&server, "live", &name).is_some();
        !refused.is_running()
    });
    let refused = refused.wait_output();
    assert!(!refused.status.success(), "ffmpeg connected with the wrong passphrase");
    // libsrt shows our BADSECRET rejection as such.
    let shown = stderr(&refused);
    assert!(shown.contains("Incorrect passphrase"), "ffmpeg said: {shown}");
    assert!(!went_live, "the stream went live for a wrong passphrase");
    assert_eq!(server.stats().streams.len(), 0);
    // The same caller with the right passphrase is let in: the refusal
    // was the passphrase's.
    let right = srt_url(&server, &stream_id, &format!("passphrase={PASSPHRASE}&pbkeylen=16"));
    let mut accepted = publish_srt(&ts, &right);
    wait_until("the stream is live with the right passphrase", || {
        stream_stats(&server, "live", &name).is_some()
    });
    assert!(accepted.wait().success());
}

#[test]
fn srt_live_transmit_reads_an_rtmp_publish_encrypted() {
    let server = server();
    let scratch = Scratch::new("srtread");
    let name = unique("srtread");
    let mut publisher = publish(
        &Sample::LongAudioVideo.path(),
        &url(&server, &format!("live/{name}")),
        &[],
    );
    wait_until("the RTMP publish is live", || {
        stream_stats(&server, "live", &name).is_some()
    });
    let out = scratch.path("read.ts");
    let reader_url = srt_url(
        &server,
        &format!("read:live/{name}"),
        &format!("passphrase={PASSPHRASE}"),
    );
    let mut reader = spawn(
        std::process::Command::new("srt-live-transmit")
            .args(["-q", &reader_url, "file://con"])
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(Stdio::null()),
    );
    // Two seconds' worth at least, then the rest as the publish ends.
    wait_until("the reader got 100 kB", || {
        fs::metadata(&out).is_ok_and(|m| m.len() > 100_000)
    });
    assert!(publisher.wait().success());
    assert!(reader.is_running(), "the reader stayed connected");
    drop(reader); // killed by its PID
    let bytes = fs::read(&out).unwrap();
    // srt-live-transmit writes whole SRT payloads: decrypted right, every
    // 188th byte is a TS sync byte; decrypted wrong (or not), almost none.
    let whole = bytes.len() / 188 * 188;
    let packets = bytes[..whole].chunks_exact(188);
    let bad = packets.clone().filter(|p| p[0] != 0x47).count();
    assert_eq!(bad, 0, "{bad} of {} TS packets lack the sync byte", packets.len());
    let got = probe(&out);
    assert_eq!(got.codecs(), vec!["aac", "h264"]);
    assert!(got.video().len() > 50, "{} video packets", got.video().len());
}

/// Two applications with a passphrase each: a caller to one with the
/// other's passphrase is refused as a bad secret; with its own it goes
/// live. The server has none, so a caller without one may use another
/// application.
#[test]
fn each_application_asks_for_its_own_passphrase() {
    let app = |passphrase: &str| rustic_rtmp::App {
        srt_passphrase: Some(passphrase.into()),
        ..Default::default()
    };
    let (studio, news) = ("the studio's passphrase", "the newsroom passphrase");
    let server = server_with(Config {
        apps: [("studio".into(), app(studio)), ("news".into(), app(news))].into(),
        ..Config::default()
    });
    let scratch = Scratch::new("srtapps");
    let ts = ts_sample(&scratch);
    let name = unique("srtapps");
    let stream_id = format!("publish:studio/{name}");
    let wrong = srt_url(&server, &stream_id, &format!("passphrase={news}&pbkeylen=16"));
    let mut refused = publish_srt(&ts, &wrong);
    let mut went_live = false;
    wait_until("ffmpeg gives up", || {
        went_live |= stream_stats(&server, "studio", &name).is_some();
        !refused.is_running()
    });
    let refused = refused.wait_output();
    assert!(
        !refused.status.success(),
        "ffmpeg connected with the other app's passphrase"
    );
    let shown = stderr(&refused);
    assert!(shown.contains("Incorrect passphrase"), "ffmpeg said: {shown}");
    assert!(!went_live, "the stream went live for the other app's passphrase");

    let right = srt_url(&server, &stream_id, &format!("passphrase={studio}&pbkeylen=16"));
    let mut accepted = publish_srt(&ts, &right);
    wait_until("the stream is live with its app's passphrase", || {
        stream_stats(&server, "studio", &name).is_some()
    });
    assert!(accepted.wait().success());
    // An application without a passphrase, on a server without one: clear.
    let clear = srt_url(&server, &format!("publish:live/{name}"), "");
    let mut clear = publish_srt(&ts, &clear);
    wait_until("the clear stream is live", || {
        stream_stats(&server, "live", &name).is_some()
    });
    assert!(clear.wait().success());
}
