//! HLS in a real browser: headless Chromium plays the stream with hls.js
//! (installed from npm at test time, never committed or shipped), with
//! LL-HLS and without, and with MPEG-TS segments; the video plays,
//! `currentTime` advances, and the delay behind the newest frame the
//! server has is measured: under 2 s with LL-HLS, under 6 s without. And
//! the server's own page for the stream (`/live/NAME/`, asked as
//! `/live/NAME?key=...`) plays the live `.mp4` through MSE under 1 s
//! behind, or, in a browser without MSE, `index.m3u8` in Chromium's own
//! HLS player, fMP4 and MPEG-TS.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::browser::Browser;
use common::*;
use rustic_rtmp::HlsSettings;
use rustic_rtmp::media::hls::Timing;
use rustic_rtmp::media::hls::Variant;
use rustic_rtmp::{Access, Config};
use serde_json::{Value, json};

/// One browser at a time: two at once are too much for a 2-core machine
/// to measure latency on.
fn one_browser() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// hls.js's minified build, installed once into target/ with npm.
fn hls_js() -> PathBuf {
    static INSTALLING: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALLING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("npm-hls");
    let script = dir.join("node_modules/hls.js/dist/hls.min.js");
    if !script.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        let out = run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("hls.js@1"));
        assert!(out.status.success(), "npm install hls.js: {}", stderr(&out));
    }
    script
}

/// A page that plays `playlist` with hls.js and reports its state, and how
/// far behind a given newest frame at the server it plays, in the
/// stream's own time. (The test reads the newest frame from the server
/// and hands it in: a page of another origin, as this `file://` one is,
/// may not read the server's API.)
fn page(script: &std::path::Path, playlist: &str, low_latency: bool) -> String {
    format!(
        r#"<!doctype html><html><body>
<video id="video" muted autoplay playsinline width="320" height="240"></video>
<script src="file://{script}"></script>
<script>
const video = document.getElementById("video");
// Catch up to the target latency after a stall, as a live player should
// (hls.js's default is to stay behind).
const hls = new Hls({{ lowLatencyMode: {low_latency}, maxLiveSyncPlaybackRate: 1.5 }});
let error = null, shift = null;
hls.on(Hls.Events.ERROR, (_, data) => {{ if (data.fatal) error = data.type + " " + data.details; }});
// hls.js does not play a frame at its own time: it shifts the media so
// that the first segment of the first playlist it loaded starts at 0, and
// says by how much here. That segment starts at the keyframe the muxer
// began on, 0 s, 1 s or 2 s into the stream as the browser was quick or
// slow to ask, so the shift is added back before comparing with the
// server's timestamps (without it the delay read 0.8 s, 1.9 s or 3.1 s
// by that shift alone, while hls.js played 0.8-1.2 s behind every time).
hls.on(Hls.Events.INIT_PTS_FOUND, (_, data) => {{ if (data.id === "main") shift = data.initPTS / data.timescale; }});
hls.loadSource("{playlist}");
hls.attachMedia(video);
video.play().catch(() => {{}});
window.state = () => ({{ currentTime: video.currentTime, error, width: video.videoWidth }});
// How far behind `edgeMs`, the newest frame the server has now, it plays.
window.delayFrom = (edgeMs) =>
  shift !== null && video.currentTime > 0 ? edgeMs - (video.currentTime + shift) * 1000 : null;
</script></body></html>"#,
        script = script.display()
    )
}

/// A server with `config` and ffmpeg publishing the sample, looped, on
/// `live/NAME`: the server, NAME, and the publisher (stopped when
/// dropped).
fn live(config: Config) -> (rustic_rtmp::ServerHandle, String, Proc) {
    let server = http::server(config);
    let name = unique("hls-browser");
    let publisher = spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re", "-stream_loop", "-1", "-i"])
            .arg(Sample::AudioVideo.path())
            .args(["-c", "copy", "-f", "flv", &url(&server, &format!("live/{name}"))])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_until("the stream to be live", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.publishing)
    });
    (server, name, publisher)
}

/// Plays the stream through hls.js and returns the delay behind live, in
/// ms: the median of 8 readings over about 2 s of play, taken again until
/// it is under `limit` ms or `WAIT` has passed (hls.js catches up after a
/// stall on a busy machine).
fn delay_in_browser(config: Config, low_latency: bool, limit: f64) -> f64 {
    let (server, name, _publisher) = live(config);
    let scratch = Scratch::new("hlsjs");
    let html = scratch.path("page.html");
    let playlist = http::url(&server, &format!("live/{name}/index.m3u8"));
    std::fs::write(&html, page(&hls_js(), &playlist, low_latency)).unwrap();
    let edge_ms = || stream_stats(&server, "live", &name).map_or(0, |s| s.last_timestamp.0);
    let mut browser = Browser::start();
    browser.open(&format!("file://{}", html.display()));
    // Until the page's script ran, there is no state().
    let state = "window.state ? state() : { loading: typeof Hls }";
    let started = browser.wait_for("the video to start", state, |s| {
        s["currentTime"].as_f64() > Some(0.0) || !s["error"].is_null()
    });
    assert!(started["error"].is_null(), "{started}");
    let from = started["currentTime"].as_f64().unwrap();
    // hls.js settles on its target latency within a few segments.
    let settled = std::time::Instant::now() + Duration::from_secs(3);
    let playing = browser.wait_for("3 s of video to play", state, |s| {
        s["currentTime"].as_f64().is_some_and(|t| t >= from + 3.0) && std::time::Instant::now() >= settled
    });
    assert!(playing["error"].is_null(), "{playing}");
    assert_eq!(playing["width"].as_u64(), Some(320));
    let deadline = std::time::Instant::now() + WAIT;
    let mut last = playing["currentTime"].as_f64().unwrap();
    loop {
        let mut delays = Vec::new();
        while delays.len() < 8 {
            let s = browser.wait_for("the video to go on", state, |s| {
                s["currentTime"].as_f64() > Some(last + 0.2)
            });
            last = s["currentTime"].as_f64().unwrap();
            // Read at the server, then in the page a few ms later.
            let delay = browser.eval(&format!("delayFrom({})", edge_ms()));
            delays.push(delay.as_f64().expect("a delay"));
        }
        delays.sort_by(f64::total_cmp);
        let delay = (delays[3] + delays[4]) / 2.0;
        eprintln!("hls.js, low latency {low_latency}: {delay:.0} ms behind live (median of {delays:?})");
        if delay < limit || std::time::Instant::now() >= deadline {
            return delay;
        }
    }
}

/// One after the other: a browser at a time.
#[test]
fn hls_js_plays_ll_hls_under_two_seconds_behind_live_and_plain_hls_under_six() {
    let _one = one_browser();
    let delay = delay_in_browser(Config::default(), true, 2000.0);
    assert!(delay < 2000.0, "{delay:.0} ms behind live with LL-HLS");
    let plain = Config {
        hls: HlsSettings {
            timing: Timing {
                part: Duration::ZERO,
                ..Default::default()
            },
            ..Default::default()
        },
        ..Config::default()
    };
    let delay = delay_in_browser(plain, false, 6000.0);
    assert!(delay < 6000.0, "{delay:.0} ms behind live without LL-HLS");
    // hls.js demuxes MPEG-TS itself: the TS variant plays as well.
    let ts = Config {
        hls: HlsSettings {
            variant: Variant::MpegTs,
            ..Default::default()
        },
        ..Config::default()
    };
    let delay = delay_in_browser(ts, false, 6000.0);
    assert!(delay < 6000.0, "{delay:.0} ms behind live with MPEG-TS segments");
}

/// The key viewers need here: the page must carry it to what it plays.
const PLAY_KEY: &str = "s3cret";

fn keyed(config: Config) -> Config {
    Config {
        access: Access {
            play_key: Some(PLAY_KEY.into()),
            ..Access::default()
        },
        ..config
    }
}

/// The page's state, `mode` "loading" until its script ran.
const PAGE_STATE: &str = "window.pageState ? pageState() : { mode: 'loading', currentTime: 0 }";

#[test]
fn our_page_plays_the_mp4_under_a_second_behind_live_and_hls_without_mse() {
    let _one = one_browser();
    let delay = our_page_plays_near_live();
    assert!(delay < 1000.0, "the page plays {delay:.0} ms behind live");
    // Without MSE (Safari on an iPhone), the browser's own HLS player.
    our_page_plays_hls_without_mse(keyed(Config::default()));
    our_page_plays_hls_without_mse(keyed(Config {
        hls: HlsSettings {
            variant: Variant::MpegTs,
            ..Default::default()
        },
        ..Config::default()
    }));
}

/// The server's page for a stream, opened before the stream is live and
/// without its slash: it waits, then plays the `.mp4` through MSE once
/// the stream goes live, 2 s of it at 320 pixels wide; the delay behind
/// the newest frame the server has, as `delay_in_browser` takes it, is
/// returned. Reloaded while live, it plays at once.
fn our_page_plays_near_live() -> f64 {
    let server = http::server(keyed(Config::default()));
    let name = unique("hls-page");
    let mut browser = Browser::start();
    browser.open(&http::url(&server, &format!("live/{name}?key={PLAY_KEY}")));
    let waiting = browser.wait_for("the page to wait for the stream", PAGE_STATE, |s| {
        s["mode"] == "waiting" && s["waited"].as_u64() >= Some(1)
    });
    eprintln!("page before the stream is live: {waiting}");
    let path = browser.eval("location.pathname + location.search");
    assert_eq!(
        path,
        json!(format!("/live/{name}/?key={PLAY_KEY}")),
        "moved to the page"
    );
    let _publisher = spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re", "-stream_loop", "-1", "-i"])
            .arg(Sample::AudioVideo.path())
            .args(["-c", "copy", "-f", "flv", &url(&server, &format!("live/{name}"))])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let delay = page_delay(&mut browser, &server, &name);
    // Asked again, live, the page has the type at once.
    browser.eval("window.old = true; location.reload()");
    let reloaded = format!("window.old ? {{ mode: 'old', currentTime: 0 }} : {PAGE_STATE}");
    let again = browser.wait_for("the reloaded page to play", &reloaded, |s| {
        s["currentTime"].as_f64() > Some(1.0) || !s["error"].is_null()
    });
    assert_eq!(
        (&again["mode"], &again["waited"], &again["error"]),
        (&json!("mse"), &json!(0), &Value::Null),
        "{again}"
    );
    delay
}

/// How far behind the newest frame the server has the page plays, in ms,
/// once it played 2 s at 320 pixels wide: the median of 8 readings over
/// about 2 s, each the server's newest timestamp (read just before and
/// just after the page's `currentTime`) less the page's, whose fMP4
/// times are the stream's; taken again until under 1 s or `WAIT` passed
/// (the player catches up after a stall on a busy machine).
fn page_delay(browser: &mut Browser, server: &rustic_rtmp::ServerHandle, name: &str) -> f64 {
    let started = browser.wait_for("the page's video to start", PAGE_STATE, |s| {
        s["currentTime"].as_f64() > Some(0.0)
    });
    let from = started["currentTime"].as_f64().unwrap();
    let playing = browser.wait_for("2 s of the page's video to play", PAGE_STATE, |s| {
        s["currentTime"].as_f64().is_some_and(|t| t >= from + 2.0)
    });
    assert_eq!(playing["mode"], "mse", "{playing}");
    assert_eq!(playing["error"], Value::Null, "{playing}");
    assert_eq!(playing["videoWidth"].as_u64(), Some(320), "{playing}");
    let newest = || stream_stats(server, "live", name).expect("live").last_timestamp.0 as f64;
    let deadline = Instant::now() + WAIT;
    let mut last = playing["currentTime"].as_f64().unwrap();
    loop {
        let mut delays = Vec::new();
        while delays.len() < 8 {
            browser.wait_for("the page's video to go on", PAGE_STATE, |s| {
                s["currentTime"].as_f64() > Some(last + 0.2)
            });
            let before = newest();
            let s = browser.eval(PAGE_STATE);
            let after = newest();
            last = s["currentTime"].as_f64().unwrap();
            delays.push((before + after) / 2.0 - last * 1000.0);
        }
        delays.sort_by(f64::total_cmp);
        let delay = (delays[3] + delays[4]) / 2.0;
        eprintln!("our page, MSE: {delay:.0} ms behind live (median of {delays:?})");
        if delay < 1000.0 || Instant::now() >= deadline {
            return delay;
        }
    }
}

/// The server's page for a live stream, in a browser without MSE (taken
/// away before the page's script runs): it plays `index.m3u8` in
/// Chromium's own HLS player; the video has its size and its time goes
/// on by 2 s.
fn our_page_plays_hls_without_mse(config: Config) {
    let (server, name, _publisher) = live(config);
    let mut browser = Browser::start();
    browser.open("about:blank");
    browser.call("Page.enable", json!({}));
    let no_mse = json!({ "source": "delete window.MediaSource;" });
    browser.call("Page.addScriptToEvaluateOnNewDocument", no_mse);
    let page = http::url(&server, &format!("live/{name}/?key={PLAY_KEY}"));
    browser.call("Page.navigate", json!({ "url": page }));
    let playing = browser.wait_for("the page's video to play 2 s", PAGE_STATE, |s| {
        s["currentTime"].as_f64() > Some(2.0) || !s["error"].is_null()
    });
    assert_eq!(
        (&playing["mode"], &playing["error"]),
        (&json!("hls"), &Value::Null),
        "{playing}"
    );
    assert_eq!(playing["videoWidth"].as_u64(), Some(320), "{playing}");
    assert_eq!(browser.eval("typeof MediaSource"), json!("undefined"));
}
