//! The dashboard in a real browser: headless Chromium loads `/` while
//! ffmpeg publishes, the page lists the stream from `/api/v1/streams` and
//! plays it through Media Source Extensions from the `.mp4` endpoint. The
//! test reads the page's state through the DevTools protocol and checks a
//! screenshot of the video: it fails unless the video really plays.

mod common;

use std::process::Stdio;

use common::browser::Browser;
use common::http;
use common::*;
use rustic_rtmp::Config;
use serde_json::Value;

/// The mean and standard deviation of a PNG's luma, by ffmpeg.
fn luma_stats(png: &[u8]) -> (f64, f64) {
    let scratch = Scratch::new("shot");
    let file = scratch.path("shot.png");
    std::fs::write(&file, png).unwrap();
    let out = run(ffmpeg()
        .args(["-loglevel", "error", "-i"])
        .arg(&file)
        .args(["-f", "rawvideo", "-pix_fmt", "gray", "-"]));
    assert!(out.status.success(), "ffmpeg read the screenshot: {}", stderr(&out));
    let pixels = &out.stdout;
    assert!(!pixels.is_empty(), "an empty screenshot");
    let n = pixels.len() as f64;
    let mean = pixels.iter().map(|&p| p as f64).sum::<f64>() / n;
    let variance = pixels.iter().map(|&p| (p as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, variance.sqrt())
}

#[test]
fn the_dashboard_lists_a_stream_and_plays_it_near_live() {
    let server = http::server(Config::default());
    let name = unique("dash");
    let rtmp = url(&server, &format!("live/{name}"));
    // A 4 s clip looped: as long as the test needs, ended when it drops.
    let _publisher = spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re", "-stream_loop", "-1", "-i"])
            .arg(Sample::AudioVideo.path())
            .args(["-c", "copy", "-f", "flv", &rtmp])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_until("the stream to be live", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.mse_type.is_some())
    });

    let mut browser = Browser::start();
    browser.open(&http::url(&server, &format!("?play=live/{name}")));
    // The table lists the stream with what its sequence headers say.
    let row = browser.wait_for(
        "the stream's row",
        &format!("document.querySelector('tr[data-id=\"live/{name}\"]')?.innerText ?? ''"),
        // The preview is one of its players once the next refresh shows it.
        |text| text.as_str().is_some_and(|t| t.contains("H264") && t.contains("MP4 1")),
    );
    let row = row.as_str().unwrap().to_owned();
    assert!(row.contains("320x240"), "{row}");
    assert!(row.contains("AAC 44100 Hz"), "{row}");
    assert!(row.contains("FMLE/3.0"), "ffmpeg's flashVer: {row}");
    assert!(row.contains("HLS 0"), "{row}");
    let hls = browser.eval(&format!(
        "document.querySelector('tr[data-id=\"live/{name}\"] button[title$=\"/live/{name}/index.m3u8\"]') !== null"
    ));
    assert_eq!(hls, Value::Bool(true), "a button copies the HLS URL");

    // The preview plays: currentTime advances by 2 s of stream time.
    let state = "dashboardState()";
    let started = browser.wait_for("the video to start", state, |s| s["currentTime"].as_f64() > Some(0.0));
    let from = started["currentTime"].as_f64().unwrap();
    // The delay it shows settles once the first refreshes and the decoder
    // have warmed up.
    let playing = browser.wait_for("2 s of video to play, under 1 s behind live", state, |s| {
        s["currentTime"].as_f64().is_some_and(|t| t >= from + 2.0) && s["delayMs"].as_f64().is_some_and(|d| d < 1000.0)
    });
    assert_eq!(playing["error"], Value::Null, "{playing}");
    assert_eq!(
        (playing["videoWidth"].as_u64(), playing["videoHeight"].as_u64()),
        (Some(320), Some(240))
    );
    let delay = playing["delayMs"].as_f64().unwrap();
    eprintln!(
        "dashboard: currentTime {:.2} s (from {from:.2}), {delay} ms behind live",
        playing["currentTime"]
    );
    assert!(delay < 1000.0, "the page shows {delay} ms behind live");
    let shown = browser.eval("document.getElementById('delay').textContent");
    assert!(
        shown.as_str().is_some_and(|t| t.ends_with(" s")),
        "the page shows the delay: {shown}"
    );

    // The picture is not blank: testsrc is bright bars and a moving
    // gradient, a blank or black video is flat.
    let rect = browser.eval(
        "(() => { const r = document.getElementById('video').getBoundingClientRect(); \
         return [r.x, r.y, r.width, r.height]; })()",
    );
    let r: Vec<f64> = rect.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let (mean, spread) = luma_stats(&browser.screenshot((r[0], r[1], r[2], r[3])));
    eprintln!("dashboard: screenshot luma mean {mean:.1}, deviation {spread:.1}");
    assert!(
        mean > 40.0 && spread > 30.0,
        "a blank picture: mean {mean:.1}, deviation {spread:.1}"
    );
}

#[test]
fn the_api_lists_a_live_stream_in_srs_field_names() {
    let server = http::server(Config::default());
    let name = unique("api");
    let rtmp = url(&server, &format!("live/{name}"));
    let mut publisher = publish(&Sample::LongAudioVideo.path(), &rtmp, &[]);
    wait_until("2 s published", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.last_timestamp.0 >= 2000)
    });
    let response = http::call(server.http_addr().unwrap(), "GET", "/api/v1/streams", "");
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&response.body).expect("JSON");
    assert_eq!(body["code"], 0);
    assert_eq!(body["rtmp_port"], server.local_addr().port());
    let s = body["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} in {body}"))
        .clone();
    assert_eq!(
        (s["app"].as_str(), s["name"].as_str()),
        (Some("live"), Some(name.as_str()))
    );
    assert_eq!(s["publish"]["active"], true);
    assert!(
        s["publish"]["encoder"]
            .as_str()
            .is_some_and(|e| e.starts_with("FMLE/3.0")),
        "{s}"
    );
    assert_eq!(s["video"]["codec"], "H264");
    assert_eq!(
        (s["video"]["width"].as_u64(), s["video"]["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert_eq!(s["video"]["profile"], "Baseline", "x264's ultrafast preset");
    assert_eq!(s["audio"]["codec"], "AAC");
    assert_eq!(
        (s["audio"]["sample_rate"].as_u64(), s["audio"]["channel"].as_u64()),
        (Some(44100), Some(1))
    );
    assert!(s["recv_bytes"].as_u64() > Some(10_000), "{s}");
    assert!(s["kbps"]["recv_30s"].as_u64() > Some(10), "{s}");
    assert!(
        s["mse_type"]
            .as_str()
            .is_some_and(|t| t.contains("avc1.") && t.contains("mp4a.40.2")),
        "{s}"
    );
    assert_eq!(s["clients"], 1, "the publisher");
    assert!(publisher.wait().success());
}
