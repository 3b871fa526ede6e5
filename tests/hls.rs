//! HLS with fMP4 segments and LL-HLS parts, and with MPEG-TS segments:
//! a strict playlist check
//! (target duration, media sequence continuity, parts within PART-TARGET),
//! ffprobe and ffmpeg reading `index.m3u8`, every segment starting on a
//! keyframe, blocking playlist reloads answered as the part comes and
//! refused when too far ahead, bad requests, the limit on requests held
//! waiting, and muxing that stops when nobody asks.

mod common;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use common::binary::Binary;
use common::http::{self, Response};
use common::*;
use rustic_rtmp::HlsSettings;
use rustic_rtmp::media::hls::Timing;
use rustic_rtmp::media::hls::Variant;
use rustic_rtmp::{Config, Publisher, ServerHandle};

fn get(addr: SocketAddr, path: &str) -> Response {
    http::call(addr, "GET", path, "")
}

/// A media playlist, parsed strictly: every line known, in order.
#[derive(Debug, Default)]
struct Playlist {
    target: u32,
    part_target: Option<f64>,
    media_sequence: u64,
    map: String,
    /// (msn, duration, uri) of each complete segment.
    segments: Vec<(u64, f64, String)>,
    /// (duration, uri, independent) of each part listed.
    parts: Vec<(f64, String, bool)>,
    preload_hint: Option<String>,
}

/// The value of `name` in an attribute list (`A=1,B="x"`).
fn attribute<'a>(list: &'a str, name: &str) -> Option<&'a str> {
    list.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.trim_matches('"'))
    })
}

fn parse(text: &str) -> Playlist {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("#EXTM3U"), "{text}");
    let mut p = Playlist::default();
    let mut pending: Option<f64> = None;
    for line in lines {
        if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            p.target = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            p.media_sequence = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("#EXT-X-PART-INF:PART-TARGET=") {
            p.part_target = Some(v.parse().unwrap());
        } else if let Some(v) = line.strip_prefix("#EXT-X-MAP:URI=") {
            p.map = v.trim_matches('"').to_owned();
        } else if let Some(v) = line.strip_prefix("#EXT-X-PART:") {
            let duration: f64 = attribute(v, "DURATION").unwrap().parse().unwrap();
            let uri = attribute(v, "URI").unwrap().to_owned();
            p.parts.push((duration, uri, v.contains("INDEPENDENT=YES")));
        } else if let Some(v) = line.strip_prefix("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=") {
            p.preload_hint = Some(v.trim_matches('"').to_owned());
        } else if let Some(v) = line.strip_prefix("#EXTINF:") {
            pending = Some(v.trim_end_matches(',').parse().unwrap());
        } else if line.starts_with("#EXT-X-VERSION:") || line.starts_with("#EXT-X-SERVER-CONTROL:") {
        } else if !line.starts_with('#') && !line.is_empty() {
            let duration = pending.take().expect("a URI after #EXTINF");
            let msn = p.media_sequence + p.segments.len() as u64;
            p.segments.push((msn, duration, line.to_owned()));
        } else {
            panic!("an unknown line {line:?} in\n{text}");
        }
    }
    assert!(pending.is_none(), "#EXTINF without a URI");
    // The rules.
    for (msn, duration, uri) in &p.segments {
        assert!(
            *duration <= f64::from(p.target) + 0.5,
            "segment {msn} of {duration} s past the target {}",
            p.target
        );
        assert!(uri.starts_with(&format!("seg{msn}.")), "segment {msn} at {uri}");
    }
    if let Some(part_target) = p.part_target {
        for (duration, uri, _) in &p.parts {
            assert!(
                *duration <= part_target + 0.001,
                "part {uri} of {duration} s past {part_target}"
            );
        }
        assert!(p.preload_hint.is_some(), "LL-HLS has a preload hint");
    }
    p
}

/// A server with HLS, publishing `sample` (looped) on `live/NAME`.
fn serve(config: Config, sample: Sample, loops: u32) -> (ServerHandle, String, Proc) {
    let server = http::server(config);
    let name = unique("hls");
    let publisher = spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re", "-stream_loop", &loops.to_string(), "-i"])
            .arg(sample.path())
            .args(["-c", "copy", "-f", "flv", &url(&server, &format!("live/{name}"))])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    wait_until("the stream to be live", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.publishing)
    });
    (server, name, publisher)
}

/// What ffmpeg copies of live/NAME's `index.m3u8` in 2 s, probed.
fn copy_two_seconds(server: &ServerHandle, name: &str, scratch: &Scratch) -> Probe {
    let out = scratch.path("copy.mp4");
    let copied = run(Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-i",
            &http::url(server, &format!("live/{name}/index.m3u8")),
        ])
        .args(["-t", "2", "-c", "copy", "-y"])
        .arg(&out));
    assert!(copied.status.success(), "{}", stderr(&copied));
    probe(&out)
}

#[test]
fn playlists_are_strict_and_continuous_and_ffprobe_reads_them() {
    let (server, name, mut publisher) = serve(Config::default(), Sample::AudioVideo, 1);
    let addr = server.http_addr().unwrap();
    let index = get(addr, &format!("/live/{name}/index.m3u8"));
    assert_eq!(index.status, 200, "{}", String::from_utf8_lossy(&index.body));
    assert_eq!(index.header("Content-Type"), Some("application/vnd.apple.mpegurl"));
    let text = String::from_utf8(index.body).unwrap();
    assert!(
        text.contains("CODECS=\"avc1.") && text.contains(",mp4a.40.2\""),
        "{text}"
    );
    assert!(text.trim_end().ends_with("stream.m3u8"), "{text}");

    let first = parse(&String::from_utf8(get(addr, &format!("/live/{name}/stream.m3u8")).body).unwrap());
    assert_eq!(first.target, 1);
    assert_eq!(first.part_target, Some(0.2));
    // Two seconds on: the sequence goes on without a gap.
    let later = Instant::now() + Duration::from_secs(2);
    wait_until("two seconds", || Instant::now() >= later);
    let second = parse(&String::from_utf8(get(addr, &format!("/live/{name}/stream.m3u8")).body).unwrap());
    let newest = |p: &Playlist| p.segments.last().map(|s| s.0).unwrap();
    assert!(newest(&second) > newest(&first), "{first:?} then {second:?}");
    assert!(second.media_sequence >= first.media_sequence);
    assert!(
        second.segments.iter().any(|s| s.0 == newest(&first)),
        "continuous: {second:?}"
    );

    // Each listed segment, after the init segment, starts on a keyframe.
    let init = get(addr, &format!("/live/{name}/{}", second.map));
    assert_eq!(init.status, 200);
    assert!(init.header("ETag").is_some() && init.header("Cache-Control").unwrap().contains("max-age=3600"));
    let modified = init.header("Last-Modified").unwrap_or_default();
    assert!(
        modified.ends_with(" GMT") && modified.len() == 29,
        "an HTTP date: {modified:?}"
    );
    let scratch = Scratch::new("hls-segments");
    for (msn, _, uri) in &second.segments {
        let segment = get(addr, &format!("/live/{name}/{uri}"));
        assert_eq!(segment.status, 200, "{uri}");
        let file = scratch.path(&format!("{msn}.mp4"));
        std::fs::write(&file, [init.body.clone(), segment.body].concat()).unwrap();
        let probed = probe(&file);
        assert!(
            probed.video().first().is_some_and(|p| p.key),
            "segment {msn} starts on a keyframe"
        );
        assert_eq!(probed.codecs(), ["aac", "h264"]);
    }

    // ffmpeg reads the whole stream through the multivariant playlist.
    let probed = copy_two_seconds(&server, &name, &scratch);
    assert_eq!(probed.video_size(), Some((320, 240)));
    assert!(probed.video().len() >= 25, "{} video packets", probed.video().len());
    probed.assert_monotonic();
    publisher.wait();
}

#[test]
fn a_blocking_reload_is_answered_when_the_part_comes_and_refused_far_ahead() {
    let (server, name, mut publisher) = serve(Config::default(), Sample::LongAudioVideo, 0);
    let addr = server.http_addr().unwrap();
    let playlist = parse(&String::from_utf8(get(addr, &format!("/live/{name}/stream.m3u8")).body).unwrap());
    let hint = playlist.preload_hint.clone().unwrap();
    // part{msn}.{index}.m4s: ask for the playlist that has it.
    let (msn, index) = hint
        .trim_start_matches("part")
        .trim_end_matches(".m4s")
        .split_once('.')
        .unwrap();
    let asked = Instant::now();
    let held = get(
        addr,
        &format!("/live/{name}/stream.m3u8?_HLS_msn={msn}&_HLS_part={index}"),
    );
    let waited = asked.elapsed();
    assert_eq!(held.status, 200);
    let text = String::from_utf8(held.body).unwrap();
    assert!(text.contains(&format!("URI=\"{hint}\"")), "the part is listed: {text}");
    // A part lasts at most 200 ms: it came within about that.
    assert!(waited < Duration::from_millis(600), "held {waited:?}");
    // The preload hint itself is held until it exists, then served.
    let next = parse(&text).preload_hint.unwrap();
    let part = get(addr, &format!("/live/{name}/{next}"));
    assert_eq!(part.status, 200, "{next}");
    assert_eq!(part.header("Content-Type"), Some("video/iso.segment"));

    let msn: u64 = msn.parse().unwrap();
    let far = get(addr, &format!("/live/{name}/stream.m3u8?_HLS_msn={}", msn + 10));
    assert_eq!(far.status, 400);
    let bad = get(addr, &format!("/live/{name}/stream.m3u8?_HLS_msn=x"));
    assert_eq!(bad.status, 400);
    for (path, status) in [
        (format!("/live/{name}/seg1.m4s"), 404),
        (format!("/live/{name}/part{}.99.m4s", msn + 5), 404),
        (format!("/live/{name}/init7.mp4"), 404),
        (format!("/live/{name}/seg99999999999999999999.m4s"), 404),
        (format!("/live/{name}/../../etc/passwd"), 400),
    ] {
        assert_eq!(get(addr, &path).status, status, "{path}");
    }
    drop(publisher.child_mut().kill());
}

#[test]
fn requests_held_waiting_are_limited_per_address() {
    let (server, name, mut publisher) = serve(
        Config {
            hls: HlsSettings {
                max_blocked_per_ip: 4,
                ..Default::default()
            },
            ..Config::default()
        },
        Sample::LongAudioVideo,
        0,
    );
    let addr = server.http_addr().unwrap();
    let playlist = parse(&String::from_utf8(get(addr, &format!("/live/{name}/stream.m3u8")).body).unwrap());
    let newest = playlist.segments.last().unwrap().0;
    // Two segments ahead: allowed, so each is held.
    let target = format!("/live/{name}/stream.m3u8?_HLS_msn={}", newest + 2);
    let held: Vec<_> = (0..12)
        .map(|_| http::send(addr, &http::get_request(&target, 1)))
        .collect();
    let statuses: Vec<u16> = held.into_iter().map(|s| http::read_to_close(s).status).collect();
    let refused = statuses.iter().filter(|s| **s == 503).count();
    assert!(refused >= 8, "at most 4 held at once: {statuses:?}");
    // The server goes on answering.
    assert_eq!(get(addr, &format!("/live/{name}/stream.m3u8")).status, 200);
    drop(publisher.child_mut().kill());
}

#[test]
fn muxing_stops_when_nobody_asks() {
    let (server, name, mut publisher) = serve(
        Config {
            hls: HlsSettings {
                idle: Duration::from_secs(1),
                ..Default::default()
            },
            ..Config::default()
        },
        Sample::LongAudioVideo,
        0,
    );
    let addr = server.http_addr().unwrap();
    assert_eq!(get(addr, &format!("/live/{name}/index.m3u8")).status, 200);
    assert_eq!(stream_stats(&server, "live", &name).unwrap().players, 1, "the muxer");
    assert_eq!(
        stream_stats(&server, "live", &name).unwrap().players_by_protocol.hls,
        1,
        "one viewer"
    );
    // Another User-Agent from the same address is another viewer; each
    // is an `hls-play` client, with the bytes it was sent.
    let other = http::call(
        addr,
        "GET",
        &format!("/live/{name}/stream.m3u8"),
        "User-Agent: other\r\n",
    );
    assert_eq!(other.status, 200);
    assert_eq!(stream_stats(&server, "live", &name).unwrap().players_by_protocol.hls, 2);
    let viewers: Vec<_> = (server.clients().into_iter())
        .filter(|c| c.kind.name() == "hls-play" && c.stream.as_ref().is_some_and(|k| k.name == name))
        .collect();
    assert_eq!(viewers.len(), 2, "{viewers:?}");
    assert!(
        viewers.iter().any(|v| v.send_bytes == other.body.len() as u64),
        "{viewers:?}"
    );
    let listed = String::from_utf8(get(addr, "/api/v1/clients").body).unwrap();
    assert_eq!(listed.matches("\"type\":\"hls-play\"").count(), 2, "{listed}");
    wait_until("the muxer to stop", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.players == 0)
    });
    // Asked again, it starts again, numbering segments from later on.
    let page = get(addr, &format!("/live/{name}/"));
    assert!(String::from_utf8_lossy(&page.body).contains("data-hls=\"index.m3u8\""));
    // It says whether the stream is live: not for a cache to keep.
    assert_eq!(page.header("Cache-Control"), Some("no-cache"));
    let again = get(addr, &format!("/live/{name}/index.m3u8"));
    assert_eq!(again.status, 200, "{}", String::from_utf8_lossy(&again.body));
    drop(publisher.child_mut().kill());
}

/// The HLS requests the server answered, from its metrics.
fn hls_requests(server: &ServerHandle) -> u64 {
    let metrics = String::from_utf8(get(server.http_addr().unwrap(), "/metrics").body).unwrap();
    (metrics.lines())
        .filter(|l| l.starts_with("rustic_rtmp_hls_requests_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
        .sum()
}

#[test]
fn an_http_cache_in_front_serves_two_hundred_viewers_on_a_few_requests() {
    let (server, name, mut publisher) = serve(
        Config {
            hls: HlsSettings {
                timing: Timing {
                    part: Duration::ZERO,
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Config::default()
        },
        Sample::LongAudioVideo,
        2,
    );
    let scratch = Scratch::new("hls-cache");
    let cache = nginx::start_cache(&scratch, server.http_addr().unwrap());
    // The first playlist starts the muxer; then count from here.
    assert_eq!(get(cache.addr, &format!("/live/{name}/stream.m3u8")).status, 200);
    let before = hls_requests(&server);
    // 200 viewers on 10 threads, each reloading the playlist every 500 ms
    // for 5 s and fetching every segment it has not fetched yet.
    let viewers = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..10)
            .map(|_| {
                scope.spawn(|| {
                    let mut seen: Vec<std::collections::HashSet<String>> = vec![Default::default(); 20];
                    let (mut requests, mut segments) = (0u64, 0u64);
                    let until = Instant::now() + Duration::from_secs(5);
                    while Instant::now() < until {
                        for viewer in seen.iter_mut() {
                            let list = get(cache.addr, &format!("/live/{name}/stream.m3u8"));
                            requests += 1;
                            assert_eq!(list.status, 200);
                            let playlist = parse(&String::from_utf8(list.body).unwrap());
                            for (_, _, uri) in playlist.segments.iter().rev().take(3) {
                                if viewer.insert(uri.clone()) {
                                    let segment = get(cache.addr, &format!("/live/{name}/{uri}"));
                                    requests += 1;
                                    assert_eq!(segment.status, 200, "{uri}");
                                    segments += 1;
                                }
                            }
                        }
                        std::thread::sleep(Duration::from_millis(500)); // a player's reload pace
                    }
                    (requests, segments)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect::<Vec<_>>()
    });
    let requests: u64 = viewers.iter().map(|v| v.0).sum();
    let segments: u64 = viewers.iter().map(|v| v.1).sum();
    let upstream = hls_requests(&server) - before;
    eprintln!(
        "through the cache: {requests} requests from 200 viewers ({segments} segments), {upstream} reached the server"
    );
    assert!(segments >= 200 * 4, "every viewer got segments: {segments}");
    assert!(
        upstream * 50 <= requests,
        "{upstream} of {requests} requests reached the server"
    );
    drop(publisher.child_mut().kill());
}

/// A server with `config` to which 3 s of HEVC and Opus are published
/// in-process, its answer to `index.m3u8`, and the publisher (kept, so
/// that the last segment stays open). The first playlist request, once
/// the publisher is there and before it sends anything, starts the muxer,
/// which then waits for the frames: it gets every one from the first.
fn hevc_and_opus(config: Config) -> (ServerHandle, String, Response, Publisher) {
    let server = http::server(config);
    let addr = server.http_addr().unwrap();
    let name = unique("hevc-hls");
    let path = format!("/live/{name}/index.m3u8");
    // Before the publisher: nothing to mux, 404 at once.
    assert_eq!(get(addr, &path).status, 404);
    assert_eq!(stream_stats(&server, "live", &name).map(|s| s.players), None);
    let publisher = server
        .publish(&rustic_rtmp::media::StreamKey::new("live", name.clone()))
        .unwrap();
    let index = std::thread::spawn(move || get(addr, &path));
    wait_for_players(&server, "live", &name, 1);
    for frame in common::codecs::hevc_opus_frames() {
        publisher.send(frame).unwrap();
    }
    let index = index.join().unwrap();
    (server, name, index, publisher)
}

#[test]
fn hevc_and_opus_come_out_as_hls_segments() {
    let (server, name, index, _publisher) = hevc_and_opus(Config::default());
    let addr = server.http_addr().unwrap();
    assert_eq!(index.status, 200);
    let text = String::from_utf8(index.body).unwrap();
    assert!(text.contains("CODECS=\"hvc1.") && text.contains(",opus\""), "{text}");
    // Keyframes each second over 3 s: two complete segments.
    let playlist = parse(&String::from_utf8(get(addr, &format!("/live/{name}/stream.m3u8")).body).unwrap());
    assert_eq!(playlist.segments.len(), 2, "{playlist:?}");
    let init = get(addr, &format!("/live/{name}/{}", playlist.map)).body;
    let scratch = Scratch::new("hevc-hls");
    for (msn, duration, uri) in &playlist.segments {
        assert!((duration - 1.0).abs() < 0.001, "segment {msn} lasts {duration}");
        let file = scratch.path(&format!("{msn}.mp4"));
        std::fs::write(
            &file,
            [init.clone(), get(addr, &format!("/live/{name}/{uri}")).body].concat(),
        )
        .unwrap();
        let probed = probe(&file);
        assert_eq!(probed.codecs(), ["hevc", "opus"]);
        assert_eq!(probed.video().len(), 25, "a second of video in segment {msn}");
        assert!(probed.video()[0].key, "segment {msn} starts on a keyframe");
    }
}

fn mpegts() -> Config {
    Config {
        hls: HlsSettings {
            variant: Variant::MpegTs,
            ..Default::default()
        },
        ..Config::default()
    }
}

/// Fetches each segment of `playlist` into `scratch` as a `.ts` file,
/// checking it is whole transport stream packets; the files.
fn fetch_ts(addr: SocketAddr, name: &str, playlist: &Playlist, scratch: &Scratch) -> Vec<std::path::PathBuf> {
    (playlist.segments.iter())
        .map(|(msn, _, uri)| {
            assert!(uri.ends_with(".ts"), "{uri}");
            let segment = get(addr, &format!("/live/{name}/{uri}"));
            assert_eq!(segment.status, 200, "{uri}");
            assert_eq!(segment.header("Content-Type"), Some("video/mp2t"));
            assert!(segment.body.len().is_multiple_of(188) && segment.body.chunks(188).all(|p| p[0] == 0x47));
            let file = scratch.path(&format!("{msn}.ts"));
            std::fs::write(&file, segment.body).unwrap();
            file
        })
        .collect()
}

#[test]
fn the_mpegts_variant_is_plain_hls_that_ffprobe_and_ffmpeg_read() {
    let (server, name, mut publisher) = serve(mpegts(), Sample::AudioVideo, 1);
    let addr = server.http_addr().unwrap();
    let index = get(addr, &format!("/live/{name}/index.m3u8"));
    assert_eq!(index.status, 200, "{}", String::from_utf8_lossy(&index.body));
    let text = String::from_utf8(index.body).unwrap();
    assert!(text.starts_with("#EXTM3U\n#EXT-X-VERSION:3\n"), "{text}");
    assert!(
        text.contains("CODECS=\"avc1.") && text.contains(",mp4a.40.2\""),
        "{text}"
    );

    let playlist = parse(&String::from_utf8(get(addr, &format!("/live/{name}/stream.m3u8")).body).unwrap());
    assert_eq!((playlist.part_target, playlist.map.as_str()), (None, ""), "plain HLS");
    assert!(playlist.parts.is_empty() && playlist.preload_hint.is_none());
    assert!(!playlist.segments.is_empty());
    assert_eq!(get(addr, &format!("/live/{name}/init{}.mp4", 0)).status, 404);
    let scratch = Scratch::new("hls-ts");
    for (file, (msn, duration, _)) in fetch_ts(addr, &name, &playlist, &scratch)
        .iter()
        .zip(&playlist.segments)
    {
        let probed = probe(file);
        assert_eq!(probed.codecs(), ["aac", "h264"], "segment {msn}");
        let video = probed.video();
        assert!(
            video.first().is_some_and(|p| p.key),
            "segment {msn} starts on a keyframe"
        );
        // 25 fps: the segment holds as many frames as it says it lasts.
        let expected = (duration * 25.0).round() as usize;
        assert_eq!(video.len(), expected, "segment {msn} of {duration} s");
        probed.assert_monotonic();
    }

    // ffmpeg reads the stream through the multivariant playlist.
    let probed = copy_two_seconds(&server, &name, &scratch);
    assert_eq!(probed.codecs(), ["aac", "h264"]);
    assert_eq!(probed.video_size(), Some((320, 240)));
    assert!(probed.video().len() >= 25, "{} video packets", probed.video().len());
    assert!(probed.audio().len() >= 40, "{} audio packets", probed.audio().len());
    probed.assert_monotonic();
    publisher.wait();
}

#[test]
fn hevc_comes_out_in_mpegts_and_opus_is_left_out() {
    let (server, name, index, _publisher) = hevc_and_opus(mpegts());
    let addr = server.http_addr().unwrap();
    let text = String::from_utf8(index.body).unwrap();
    assert!(text.contains("CODECS=\"hvc1.") && !text.contains("opus"), "{text}");
    let playlist = parse(&String::from_utf8(get(addr, &format!("/live/{name}/stream.m3u8")).body).unwrap());
    assert_eq!(playlist.segments.len(), 2, "{playlist:?}");
    let scratch = Scratch::new("hevc-ts");
    for (file, (msn, ..)) in fetch_ts(addr, &name, &playlist, &scratch)
        .iter()
        .zip(&playlist.segments)
    {
        let probed = probe(file);
        assert_eq!(probed.codecs(), ["hevc"]);
        assert_eq!(probed.video().len(), 25, "a second of video in segment {msn}");
        assert!(probed.video()[0].key, "segment {msn} starts on a keyframe");
        assert_eq!(probed.video_size(), Some((320, 240)), "the parameter sets came along");
    }
}

#[test]
fn with_hls_dir_a_published_stream_is_written_to_files_asked_or_not() {
    let scratch = Scratch::new("hls-dir");
    let config = Config {
        hls: HlsSettings {
            dir: Some(scratch.path("")),
            timing: Timing {
                segments: 2,
                ..Default::default()
            },
            idle: Duration::from_secs(1),
            ..Default::default()
        },
        ..Config::default()
    };
    let (server, name, mut publisher) = serve(config, Sample::LongAudioVideo, 0);
    let dir = scratch.path(&format!("live/{name}"));
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
    // Nobody asks over HTTP: the files come anyway.
    wait_until("two segments on disk", || {
        read("stream.m3u8").is_some_and(|text| parse(&text).segments.len() == 2)
    });
    let playlist = parse(&read("stream.m3u8").unwrap());
    assert!(
        playlist.parts.is_empty() && playlist.part_target.is_none(),
        "no parts on disk"
    );
    let index = read("index.m3u8").unwrap();
    assert!(
        index.contains("CODECS=\"avc1.") && index.ends_with("stream.m3u8\n"),
        "{index}"
    );
    let init = std::fs::read(dir.join(&playlist.map)).unwrap();
    for (msn, _, uri) in &playlist.segments {
        let file = scratch.path(&format!("{msn}.mp4"));
        std::fs::write(&file, [init.clone(), std::fs::read(dir.join(uri)).unwrap()].concat()).unwrap();
        let probed = probe(&file);
        assert_eq!(probed.codecs(), ["aac", "h264"]);
        assert!(probed.video()[0].key, "segment {msn} starts on a keyframe");
    }
    assert_eq!(
        stream_stats(&server, "live", &name).unwrap().players_by_protocol.hls,
        0,
        "the files are no viewer"
    );
    // Segments that drop off the playlist are deleted.
    let oldest = dir.join(&playlist.segments[0].2);
    wait_until("the oldest segment to go", || !oldest.exists());
    let names = || -> Vec<String> {
        (std::fs::read_dir(&dir).unwrap())
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    wait_until("as many segment files as listed", || {
        names().iter().filter(|n| n.starts_with("seg")).count() == 2
    });
    // The publisher leaves: its last segment is written, then the muxer
    // stops.
    let listed = parse(&read("stream.m3u8").unwrap()).segments.last().unwrap().0;
    drop(publisher.child_mut().kill());
    publisher.wait();
    wait_until("the last segment", || {
        read("stream.m3u8").is_some_and(|text| parse(&text).segments.last().unwrap().0 > listed)
    });
    assert!(!names().iter().any(|n| n.ends_with(".tmp")), "{:?}", names());
}

#[test]
fn srs_s_playlist_url_beside_the_stream_leads_into_it() {
    let (server, name, mut publisher) = serve(Config::default(), Sample::LongAudioVideo, 0);
    let addr = server.http_addr().unwrap();
    let index = get(addr, &format!("/live/{name}.m3u8?key=k"));
    assert_eq!(index.status, 200, "{}", String::from_utf8_lossy(&index.body));
    let text = String::from_utf8(index.body).unwrap();
    let media = text.lines().last().unwrap();
    assert_eq!(media, format!("{name}/stream.m3u8?key=k"), "{text}");
    // Resolved against /live/NAME.m3u8, as a player does.
    let playlist = get(addr, &format!("/live/{media}"));
    assert_eq!(playlist.status, 200);
    assert!(!parse(&String::from_utf8(playlist.body).unwrap()).segments.is_empty());
    drop(publisher.child_mut().kill());
}

/// Renames every play of `tv-NAME` to `NAME`.
#[derive(Debug)]
struct Tv;

impl rustic_rtmp::Policy for Tv {
    fn play(&self, request: &rustic_rtmp::PolicyRequest<'_>) -> rustic_rtmp::Decision {
        match request.name.strip_prefix("tv-") {
            Some(name) => rustic_rtmp::Decision::Rename(name.to_owned()),
            None => rustic_rtmp::Decision::Allow,
        }
    }
}

#[test]
fn a_stream_the_policy_renames_is_followed_by_the_playlist_s_uris() {
    let config = Config {
        policy: Some(std::sync::Arc::new(Tv)),
        ..Config::default()
    };
    let (server, name, mut publisher) = serve(config, Sample::LongAudioVideo, 0);
    let addr = server.http_addr().unwrap();
    let index = get(addr, &format!("/live/tv-{name}/index.m3u8"));
    assert_eq!(index.status, 200, "{}", String::from_utf8_lossy(&index.body));
    let text = String::from_utf8(index.body).unwrap();
    let media = text.lines().last().unwrap();
    // The Policy decides plays: the URI carries the token of what it
    // admitted.
    let (path, token) = media.split_once("?hls_token=").unwrap();
    assert_eq!(path, format!("/live/{name}/stream.m3u8"), "{text}");
    let playlist = get(addr, media);
    assert_eq!(playlist.status, 200);
    assert!(!parse(&String::from_utf8(playlist.body).unwrap()).segments.is_empty());
    // The token binds the renamed stream: the name asked for, which the
    // Policy would rename on its way through index.m3u8, it does not open.
    let asked = format!("/live/tv-{name}/stream.m3u8?hls_token={token}");
    assert_eq!(get(addr, &asked).status, 403, "{asked}");
    drop(publisher.child_mut().kill());
}

/// `ffmpeg` publishing the long sample to `url` in a loop, until killed.
fn publish_looped(url: &str) -> Proc {
    spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re", "-stream_loop", "-1", "-i"])
            .arg(Sample::LongAudioVideo.path())
            .args(["-c", "copy", "-f", "flv", url])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )
}

/// An `on_play` hook on a free loopback port: 2xx for a play whose query
/// has `viewer=ok`, 403 for any other.
fn hook_admitting_viewer_ok() -> SocketAddr {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { continue };
            std::thread::spawn(move || {
                socket.set_read_timeout(Some(WAIT)).unwrap();
                // The form is the body; read the head, then as many bytes
                // as it says.
                let mut bytes = Vec::new();
                let mut buf = [0u8; 4096];
                let body = loop {
                    let n = socket.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    bytes.extend_from_slice(&buf[..n]);
                    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
                    let length: usize = (head.lines())
                        .find_map(|l| l.strip_prefix("content-length:")?.trim().parse().ok())
                        .unwrap_or(0);
                    if bytes.len() >= end + 4 + length {
                        break String::from_utf8_lossy(&bytes[end + 4..end + 4 + length]).into_owned();
                    }
                };
                let status = match body.split('&').any(|pair| pair == "viewer=ok") {
                    true => "200 OK",
                    false => "403 Forbidden",
                };
                let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                let _ = socket.write_all(answer.as_bytes());
            });
        }
    });
    addr
}

/// The HTTP address of the binary, from its log.
fn http_addr(server: &common::binary::Binary) -> SocketAddr {
    let line = server.wait_for_log("listening for HTTP on");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// The value of `hls_token=` in a URI.
fn token_in(uri: &str) -> &str {
    let query = uri.split_once('?').map_or("", |(_, q)| q);
    (query.split('&').find_map(|pair| pair.strip_prefix("hls_token=")))
        .unwrap_or_else(|| panic!("no hls_token in {uri}"))
}

/// Issue 22, finding 2: the `on_play` hook is asked for `index.m3u8`, and
/// what it admitted is a token every other file needs: a refused viewer
/// going straight to `stream.m3u8`, a segment, a part or the init segment
/// gets 403, as does one with a forged or altered token or one made for
/// another stream; an admitted viewer plays on through the token, ffmpeg
/// included.
#[test]
fn r22_hls_files_need_the_token_of_the_stream_the_hook_admitted() {
    let hook = hook_admitting_viewer_ok();
    let on_play = format!("http://{hook}/play");
    let args = ["--http-bind", "127.0.0.1", "--http-port", "0", "--on-play", &on_play];
    let server = common::binary::Binary::start(&args);
    let addr = http_addr(&server);
    let (name, other) = (unique("gated"), unique("gated-other"));
    let _publishers = [&name, &other].map(|n| publish_looped(&server.url(&format!("live/{n}"))));
    // Asked before the publisher connects, it is 404 at once: ask again.
    let index_of = |n: &str| {
        let mut text = String::new();
        wait_until(&format!("{n} to be live"), || {
            let index = get(addr, &format!("/live/{n}/index.m3u8?viewer=ok"));
            text = String::from_utf8_lossy(&index.body).into_owned();
            assert!(matches!(index.status, 200 | 404), "{text}");
            index.status == 200
        });
        text.lines().last().unwrap().to_owned()
    };
    // Admitted: the media playlist's URI carries the viewer's query and a
    // token, and so does every URI of the media playlist.
    let media = index_of(&name);
    assert!(media.starts_with("stream.m3u8?viewer=ok&hls_token="), "{media}");
    let token = token_in(&media).to_owned();
    let playlist = get(addr, &format!("/live/{name}/{media}"));
    assert_eq!(playlist.status, 200, "{}", String::from_utf8_lossy(&playlist.body));
    let playlist = parse(&String::from_utf8(playlist.body).unwrap());
    let (_, _, segment) = playlist.segments.last().unwrap().clone();
    let (_, part, _) = playlist.parts.first().unwrap().clone();
    let files = [playlist.map.clone(), segment, part];
    for uri in &files {
        assert_eq!(token_in(uri), token, "one token for the viewer: {uri}");
        assert_eq!(get(addr, &format!("/live/{name}/{uri}")).status, 200, "{uri}");
    }

    // Refused by the hook at index.m3u8, as before, and now at every file
    // asked directly.
    assert_eq!(get(addr, &format!("/live/{name}/index.m3u8?viewer=no")).status, 403);
    let strip = |uri: &str| uri.split_once('?').map_or(uri, |(file, _)| file).to_owned();
    let mut direct: Vec<String> = vec!["stream.m3u8".into(), "stream.m3u8?viewer=ok".into()];
    direct.extend(files.iter().map(|uri| strip(uri)));
    direct.extend(files.iter().map(|uri| format!("{}?viewer=no", strip(uri))));
    for uri in &direct {
        let refused = get(addr, &format!("/live/{name}/{uri}"));
        assert_eq!(refused.status, 403, "{uri} without a token");
        assert!(String::from_utf8_lossy(&refused.body).contains("hls_token"), "{uri}");
    }
    // Forged and altered tokens: a made-up one, a later expiry under the
    // real MAC, one digit of the MAC changed, one long expired.
    let (expires, mac) = token.split_once('.').unwrap();
    let flipped = format!("{}{}", if mac.starts_with('0') { '1' } else { '0' }, &mac[1..]);
    let later: u64 = expires.parse::<u64>().unwrap() + 3600;
    for forged in [
        format!("{expires}.{}", "0".repeat(32)),
        format!("{later}.{mac}"),
        format!("{expires}.{flipped}"),
        format!("1000000000.{mac}"),
        "nonsense".to_owned(),
    ] {
        for uri in &files {
            let uri = format!("{}?hls_token={forged}", strip(uri));
            assert_eq!(get(addr, &format!("/live/{name}/{uri}")).status, 403, "{uri}");
        }
        let uri = format!("/live/{name}/stream.m3u8?hls_token={forged}");
        assert_eq!(get(addr, &uri).status, 403, "{uri}");
    }
    // A token opens its own stream only.
    let other_media = index_of(&other);
    let other_playlist = get(addr, &format!("/live/{other}/{other_media}"));
    let other_playlist = parse(&String::from_utf8(other_playlist.body).unwrap());
    let other_files = [
        "stream.m3u8".to_owned(),
        strip(&other_playlist.map),
        strip(&other_playlist.segments.last().unwrap().2),
    ];
    for file in &other_files {
        let uri = format!("/live/{other}/{file}?viewer=ok&hls_token={token}");
        assert_eq!(get(addr, &uri).status, 403, "{uri} with {name}'s token");
    }
    let uri = format!("/live/{name}/stream.m3u8?hls_token={}", token_in(&other_media));
    assert_eq!(get(addr, &uri).status, 403, "{uri} with {other}'s token");

    // ffmpeg, admitted, reads the stream through index.m3u8: the token
    // rides along into every request it makes.
    let scratch = Scratch::new("hls-gated");
    let out = scratch.path("copy.mp4");
    let copied = run(Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(format!("http://{addr}/live/{name}/index.m3u8?viewer=ok"))
        .args(["-t", "2", "-c", "copy", "-y"])
        .arg(&out));
    assert!(copied.status.success(), "{}", stderr(&copied));
    let probed = probe(&out);
    assert_eq!(probed.codecs(), ["aac", "h264"]);
    assert!(probed.video().len() >= 25, "{} video packets", probed.video().len());
    // And one the hook refuses gets nothing.
    let refused = run(Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(format!("http://{addr}/live/{name}/index.m3u8?viewer=no"))
        .args(["-t", "1", "-c", "copy", "-f", "null", "-"]));
    assert!(!refused.status.success(), "a refused viewer played");
}

/// A playlist request for a name nobody publishes is answered 404 at once
/// and starts nothing: a thousand of them (three URL forms, 50 at a time)
/// leave the server's thread count where it was and no stream listed,
/// and a live stream's HLS still answers.
#[test]
fn playlists_for_names_nobody_publishes_start_no_muxer() {
    use std::io::{Read, Write};
    let server = common::binary::Binary::start(&["--http-bind", "127.0.0.1", "--http-port", "0"]);
    let addr = http_addr(&server);
    let live = unique("live-hls");
    let _publisher = publish_looped(&server.url(&format!("live/{live}")));
    let playlist = format!("/live/{live}/stream.m3u8");
    wait_until("the live stream's HLS", || get(addr, &playlist).status == 200);
    let threads = || server.status_kib("Threads:");
    let before = threads();
    let invented = unique("invented");
    let started = Instant::now();
    let mut statuses = Vec::new();
    for batch in 0..20 {
        let deadline = Instant::now() + Duration::from_secs(5);
        let sockets: Vec<std::net::TcpStream> = (0..50)
            .map(|i| {
                let n = batch * 50 + i;
                let target = match n % 3 {
                    0 => format!("/live/{invented}-{n}/index.m3u8"),
                    1 => format!("/live/{invented}-{n}/stream.m3u8"),
                    _ => format!("/live/{invented}-{n}.m3u8"),
                };
                let mut socket = std::net::TcpStream::connect(addr).unwrap();
                let request = format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
                socket.write_all(request.as_bytes()).unwrap();
                socket
            })
            .collect();
        // Answered at once: a request that waits for a publisher would
        // hold its thread (and, before, start a muxer) for 30 s.
        for mut socket in sockets {
            let left = deadline.saturating_duration_since(Instant::now());
            socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            let mut answer = Vec::new();
            let _ = socket.read_to_end(&mut answer);
            let status = String::from_utf8_lossy(&answer).split(' ').nth(1).map(str::to_owned);
            statuses.push(status.unwrap_or_else(|| "no answer within 5 s".into()));
        }
        if statuses.iter().any(|s| s.starts_with("no answer")) {
            break; // no need to wait for more
        }
    }
    eprintln!(
        "{} requests for invented names in {:?}",
        statuses.len(),
        started.elapsed()
    );
    let grown = common::binary::within(Duration::from_secs(5), || threads() <= before + 4);
    assert!(grown, "{} threads after, {before} before", threads());
    let streams = String::from_utf8(get(addr, "/api/v1/streams").body).unwrap();
    assert!(!streams.contains(&invented), "invented streams listed: {streams:.500}");
    assert!(streams.contains(&live), "{streams:.500}");
    assert_eq!(statuses.len(), 1000);
    let not_404: Vec<&String> = statuses.iter().filter(|s| *s != "404").collect();
    assert!(
        not_404.is_empty(),
        "{} not 404, e.g. {:?}",
        not_404.len(),
        not_404.first()
    );
    assert_eq!(get(addr, &playlist).status, 200);
    assert_eq!(get(addr, &format!("/live/{live}/index.m3u8")).status, 200);
}

#[test]
fn names_that_differ_only_in_unsafe_characters_get_directories_of_their_own() {
    let scratch = Scratch::new("hls-dir-names");
    let server = Binary::start(&["--hls-dir", scratch.path("").to_str().unwrap()]);
    let base = unique("cam");
    // Cutting unsafe characters to `_` once gave these one directory.
    let (comma, underscore) = (format!("{base},1"), format!("{base}_1"));
    let _video = publish(
        &Sample::LongAudioVideo.path(),
        &server.url(&format!("live/{comma}")),
        &[],
    );
    let _audio = publish(
        &Sample::AudioOnly.path(),
        &server.url(&format!("live/{underscore}")),
        &[],
    );
    let index = |dir: &str| std::fs::read_to_string(scratch.path(&format!("live/{dir}/index.m3u8"))).ok();
    wait_until("both streams' playlists on disk", || {
        index(&format!("{base}%2C1")).is_some() && index(&underscore).is_some()
    });
    wait_until("each stream's codecs in its own playlist", || {
        let (video, audio) = (index(&format!("{base}%2C1")).unwrap(), index(&underscore).unwrap());
        video.contains("avc1.") && !audio.contains("avc1.") && audio.contains("mp4a.")
    });
}
