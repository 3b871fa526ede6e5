//! SRT: real ffmpeg publishes MPEG-TS over SRT (each stream id form) and
//! RTMP, HTTP-FLV and HLS players get the stream; srt-live-transmit,
//! GStreamer's srtsrc and ffmpeg read an RTMP-published stream over SRT;
//! a refused publish is an SRT rejection; and 2% loss, reordering and 100 ms
//! each way through a lossy relay lose nothing.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::lossy_relay::{Impairment, LossyRelay};
use common::*;
use rustic_rtmp::{Access, Config, HttpBind, ServerHandle, SrtSettings};

/// A server with SRT (and HTTP) on free loopback ports.
fn srt_server(config: Config) -> ServerHandle {
    let loopback = HttpBind {
        addr: "127.0.0.1:0".parse().unwrap(),
        required: true,
    };
    common::start_server_with(Config {
        srt: SrtSettings {
            bind: Some(loopback),
            ..config.srt.clone()
        },
        http: rustic_rtmp::HttpSettings {
            bind: Some(loopback),
            ..config.http.clone()
        },
        ..config
    })
}

/// `sample` as MPEG-TS, what an SRT encoder sends.
fn ts_sample(sample: Sample, scratch: &Scratch) -> PathBuf {
    let ts = scratch.path("sample.ts");
    let out = run(ffmpeg()
        .args(["-loglevel", "error", "-y", "-i"])
        .arg(sample.path())
        .args(["-c", "copy", "-f", "mpegts"])
        .arg(&ts));
    assert!(out.status.success(), "{}", stderr(&out));
    ts
}

fn srt_url(addr: SocketAddr, stream_id: &str) -> String {
    format!("srt://{addr}?streamid={stream_id}")
}

/// ffmpeg publishing `ts` in real time to `url` over SRT. libsrt drops
/// what is not acknowledged yet when ffmpeg closes, unless it lingers: the
/// last frames would be lost to the sender, not to us.
fn publish_srt(ts: &Path, url: &str) -> Proc {
    spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re", "-i"])
            .arg(ts)
            .args(["-c", "copy", "-f", "mpegts"])
            .arg(format!("{url}&linger=10"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    )
}

/// What ffmpeg itself makes of `ts` as FLV: the payloads to match.
fn reference_flv(ts: &Path, scratch: &Scratch) -> PathBuf {
    let reference = scratch.path("reference.flv");
    let out = run(ffmpeg()
        .args(["-loglevel", "error", "-i"])
        .arg(ts)
        .args(["-c", "copy", "-f", "flv"])
        .arg(&reference));
    assert!(out.status.success(), "{}", stderr(&out));
    reference
}

/// The media of an FLV file as comparable payloads: each AAC frame
/// whole; each H.264 frame's NAL units without the access unit
/// delimiters and parameter sets, which an RTMP publisher sends in the
/// sequence header and ffmpeg's FLV muxer leaves in the frames.
fn payloads(flv: &Path) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (_, tags) = common::http::flv_tags(&std::fs::read(flv).unwrap());
    let coded = |kind: u8| {
        let tags = tags
            .iter()
            .filter(move |t| t.kind == kind && t.body.len() > 5 && t.body[1] == 1);
        tags.map(|t| t.body.clone())
    };
    let audio = coded(8).map(|body| body[2..].to_vec()).collect();
    let video = coded(9)
        .map(|body| {
            let (mut nalus, mut at) = (Vec::new(), 5);
            while at + 4 <= body.len() {
                let len = u32::from_be_bytes(body[at..at + 4].try_into().unwrap()) as usize;
                let nalu = &body[at + 4..(at + 4 + len).min(body.len())];
                if !matches!(nalu.first().map(|b| b & 0x1f), Some(7..=9)) {
                    nalus.extend_from_slice(nalu);
                }
                at += 4 + len;
            }
            nalus
        })
        .collect();
    (audio, video)
}

fn http_flv(server: &ServerHandle, path: &str) -> String {
    format!("{}.flv", http_url(server, path))
}

fn http_url(server: &ServerHandle, path: &str) -> String {
    format!("http://{}/{path}", server.http_addr().unwrap())
}

#[test]
fn ffmpeg_publishes_over_srt_and_rtmp_http_flv_and_hls_players_get_it() {
    let server = srt_server(Config::default());
    let srt = server.srt_addr().expect("SRT listens");
    let scratch = Scratch::new("srt-pub");
    let ts = ts_sample(Sample::LongAudioVideo, &scratch);
    let sent = probe(&ts);
    let reference = reference_flv(&ts, &scratch);
    let (ref_audio, ref_video) = payloads(&reference);
    assert_eq!(ref_video.len(), sent.video().len());
    for (form, stream_id) in [
        ("MediaMTX", "publish:live/{name}"),
        ("access control", "#!::r=live/{name},m=publish"),
    ] {
        let name = unique("srt");
        let (rtmp_out, http_out) = (
            scratch.path(&format!("{name}.flv")),
            scratch.path(&format!("{name}-http.flv")),
        );
        let mut rtmp_player = play(&url(&server, &format!("live/{name}")), &rtmp_out);
        let mut http_player = play(&http_flv(&server, &format!("live/{name}")), &http_out);
        wait_for_players(&server, "live", &name, 2);
        let stream_id = stream_id.replace("{name}", &name);
        let mut publisher = publish_srt(&ts, &srt_url(srt, &stream_id));
        wait_until("the SRT publisher is listed", || {
            server.clients().iter().any(|c| c.kind.name() == "srt-publish")
        });
        // An HLS player too, while the publish runs: a second of it.
        let hls_out = scratch.path(&format!("{name}-hls.mp4"));
        let copied = run(ffmpeg()
            .args([
                "-loglevel",
                "error",
                "-i",
                &http_url(&server, &format!("live/{name}/index.m3u8")),
            ])
            .args(["-t", "1", "-c", "copy", "-y"])
            .arg(&hls_out));
        assert!(copied.status.success(), "{form}, HLS: {}", stderr(&copied));
        let hls = probe(&hls_out);
        assert_eq!(hls.codecs(), vec!["aac", "h264"], "{form}, HLS");
        hls.assert_monotonic();
        assert!(publisher.wait().success(), "{form}: ffmpeg published over SRT");
        rtmp_player.wait();
        http_player.wait();
        for (what, out) in [("RTMP", &rtmp_out), ("HTTP-FLV", &http_out)] {
            let got = probe(out);
            assert_eq!(got.codecs(), vec!["aac", "h264"], "{form}, {what}");
            assert_eq!(got.video_size(), Some((320, 240)), "{form}, {what}");
            got.assert_monotonic();
            assert_eq!(
                got.video().len(),
                sent.video().len(),
                "{form}, {what}: every video frame"
            );
            assert_near(
                &format!("{form}, {what} audio"),
                got.audio().len(),
                sent.audio().len(),
                3,
            );
        }
        let (audio, video) = payloads(&rtmp_out);
        assert!(video == ref_video, "{form}: every video payload byte for byte");
        // The player may start a frame or two into the audio, which comes
        // before the first keyframe.
        assert!(
            ref_audio.ends_with(&audio) && audio.len() + 3 >= ref_audio.len(),
            "{form}: audio payloads byte for byte"
        );
    }
}

#[test]
fn a_refused_publish_is_an_srt_rejection_and_a_keyed_one_goes_live() {
    let server = srt_server(Config {
        access: Access {
            publish_key: Some("s3cret".into()),
            ..Access::default()
        },
        ..Config::default()
    });
    let srt = server.srt_addr().unwrap();
    let scratch = Scratch::new("srt-key");
    let ts = ts_sample(Sample::ShortAudioVideo, &scratch);
    let name = unique("srtkey");
    let refused = publish_srt(&ts, &srt_url(srt, &format!("publish:live/{name}"))).wait_output();
    assert!(!refused.status.success(), "ffmpeg was turned away");
    assert!(
        stream_stats(&server, "live", &name).is_none(),
        "nothing went live without the key"
    );
    let mut keyed = publish_srt(&ts, &srt_url(srt, &format!("publish:live/{name}?key=s3cret")));
    wait_until("the keyed publish goes live", || {
        stream_stats(&server, "live", &name).is_some()
    });
    assert!(keyed.wait().success());
}

#[test]
fn srt_readers_get_an_rtmp_published_stream() {
    let server = srt_server(Config::default());
    let srt = server.srt_addr().unwrap();
    let scratch = Scratch::new("srt-read");
    let name = unique("srtread");
    let mut publisher = publish(
        &Sample::LongAudioVideo.path(),
        &url(&server, &format!("live/{name}")),
        &[],
    );
    wait_until("the RTMP publish goes live", || {
        stream_stats(&server, "live", &name).is_some()
    });
    let slt_out = scratch.path("slt.ts");
    let mut slt = spawn(
        std::process::Command::new("srt-live-transmit")
            .args(["-a:no", &srt_url(srt, &format!("read:live/{name}")), "file://con"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&slt_out).unwrap())
            .stderr(Stdio::null()),
    );
    let gst_out = scratch.path("gst.ts");
    let mut gst = spawn(
        std::process::Command::new("gst-launch-1.0")
            // One argument per word: gst-launch joins them into its
            // pipeline, and a word holding a space is a syntax error.
            .args(["-q", "srtsrc"])
            .arg(format!("uri=srt://{srt}?streamid=read:live/{name}"))
            .args(["!", "filesink"])
            .arg(format!("location={}", gst_out.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let ffmpeg_out = scratch.path("ffmpeg.ts");
    let mut reader = spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-y", "-i"])
            .arg(srt_url(srt, &format!("#!::r=live/{name},m=request")))
            .args(["-t", "1", "-c", "copy", "-f", "mpegts"])
            .arg(&ffmpeg_out)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_until("the three readers are listed", || {
        let readers = server.clients().iter().filter(|c| c.kind.name() == "srt-play").count();
        readers == 3
    });
    assert!(reader.wait().success(), "ffmpeg read a second over SRT");
    assert!(publisher.wait().success());
    // srt-live-transmit stays for more; what it wrote so far is the test.
    wait_until("srt-live-transmit has bytes", || {
        std::fs::metadata(&slt_out).is_ok_and(|m| m.len() > 100_000)
    });
    wait_until("GStreamer has bytes", || {
        std::fs::metadata(&gst_out).is_ok_and(|m| m.len() > 100_000)
    });
    for reader in [&mut slt, &mut gst] {
        drop(reader.child_mut().kill());
        reader.wait();
    }
    let bytes = std::fs::read(&slt_out).unwrap();
    assert!(bytes.chunks(188).all(|packet| packet[0] == 0x47), "whole TS packets");
    for out in [&slt_out, &gst_out, &ffmpeg_out] {
        let got = probe(out);
        assert_eq!(got.codecs(), vec!["aac", "h264"], "{}", out.display());
        assert!(
            got.video().len() >= 20,
            "{}: {} video frames",
            out.display(),
            got.video().len()
        );
        got.assert_monotonic();
    }
}

#[test]
fn two_percent_loss_loses_no_frame_at_the_rtmp_player() {
    let server = srt_server(Config::default());
    let scratch = Scratch::new("srt-loss");
    let ts = ts_sample(Sample::LongAudioVideo, &scratch);
    let reference = reference_flv(&ts, &scratch);
    let relay = LossyRelay::start(
        server.srt_addr().unwrap(),
        Impairment {
            loss_percent: 2.0,
            reorder_percent: 2.0,
            // 100 ms each way, with the default latency on both sides.
            delay: Duration::from_millis(100),
            seed: 24,
        },
    )
    .unwrap();
    let name = unique("srtloss");
    let out = scratch.path("rtmp.flv");
    let mut player = play(&url(&server, &format!("live/{name}")), &out);
    wait_for_players(&server, "live", &name, 1);
    let mut publisher = publish_srt(&ts, &srt_url(relay.addr(), &format!("publish:live/{name}")));
    assert!(publisher.wait().success(), "ffmpeg published through the lossy relay");
    player.wait();
    let counts = relay.counts();
    assert!(counts.to_upstream.dropped >= 2, "the relay lost packets: {counts:?}");
    let got = probe(&out);
    assert_eq!(got.codecs(), vec!["aac", "h264"]);
    got.assert_monotonic();
    let (audio, video) = payloads(&out);
    let (ref_audio, ref_video) = payloads(&reference);
    assert!(video == ref_video, "every video payload byte for byte; {counts:?}");
    assert!(audio == ref_audio, "every audio payload byte for byte; {counts:?}");
}

#[test]
fn an_srt_publisher_shows_its_figures_in_the_api_stats_and_metrics() {
    let server = srt_server(Config::default());
    let http = server.http_addr().unwrap();
    let scratch = Scratch::new("srt-ops");
    let ts = ts_sample(Sample::AudioVideo, &scratch);
    let name = unique("srtops");
    let mut publisher = publish_srt(
        &ts,
        &srt_url(server.srt_addr().unwrap(), &format!("publish:live/{name}")),
    );
    let get = |target: &str| {
        let response = common::http::call(http, "GET", target, "");
        assert_eq!(response.status, 200, "{target}");
        serde_json::from_slice::<serde_json::Value>(&response.body).unwrap_or_default()
    };
    // srt-live-server's shape, as NOALBS asks for it.
    let asked = format!("publish/live/{name}");
    let mut feed = serde_json::Value::Null;
    wait_until("/stats shows the publisher's bitrate", || {
        feed = get(&format!("/stats?publisher={asked}"))["publishers"][&asked].clone();
        feed["bitrate"].as_u64().is_some_and(|kbps| kbps > 50)
    });
    for field in [
        "bytesRcvDrop",
        "bytesRcvLoss",
        "msRcvBuf",
        "pktRcvDrop",
        "pktRcvLoss",
        "uptime",
    ] {
        assert!(feed[field].is_u64(), "{field}: {feed}");
    }
    for field in ["mbpsBandwidth", "mbpsRecvRate", "rtt"] {
        assert!(feed[field].is_number(), "{field}: {feed}");
    }
    let clients = get("/api/v1/clients");
    let srt = clients["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "srt-publish")
        .map(|c| c["srt"].clone())
        .expect("the publisher is listed");
    assert!(srt["packets_received"].as_u64().unwrap() > 0, "{srt}");
    assert_eq!(srt["latency_ms"], 120);
    let metrics = String::from_utf8(common::http::call(http, "GET", "/metrics", "").body).unwrap();
    assert!(metrics.contains("rustic_rtmp_srt_connections 1"), "{metrics}");
    assert!(
        metrics.contains("rustic_rtmp_srt_packets{fate=\"received\"}"),
        "{metrics}"
    );
    assert!(publisher.wait().success());
}
