//! HTTP-FLV: real ffmpeg and ffprobe read http://HOST/APP/NAME.flv while
//! ffmpeg publishes over RTMP, raw requests check the framing and headers
//! byte by byte, and bad requests get the right status and a closed
//! connection without disturbing other streams.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::canary::Canary;
use common::http::{self, Tag};
use common::*;
use rustic_rtmp::client::{Client, ClientOptions};
use rustic_rtmp::media::{Frame, FrameKind};
use rustic_rtmp::protocol::time::RtmpTime;
use rustic_rtmp::{Access, Config, HttpBind, Server, ServerHandle};

use http::server as http_server;
use rustic_rtmp::{HlsSettings, HttpSettings, Limits, PlayerSettings, RtmpSettings, StreamSettings};

fn flv_url(server: &ServerHandle, path: &str) -> String {
    http::url(server, &format!("{path}.flv"))
}

/// Coded audio and video frames in `tags`, as ffprobe counts packets: AAC
/// and AVC sequence headers and AVC end-of-sequence are not frames.
fn media(tags: &[Tag]) -> (usize, usize) {
    let coded = |t: &&Tag| match (t.kind, t.body.first().copied(), t.body.get(1).copied()) {
        (8, Some(sound), packet) if sound >> 4 == 10 => packet == Some(1),
        (9, Some(video), packet) if video & 0x0F == 7 => packet == Some(1),
        _ => true,
    };
    let count = |kind| tags.iter().filter(|t| t.kind == kind).filter(coded).count();
    (count(8), count(9))
}

#[test]
fn ffmpeg_plays_http_flv_as_fully_as_an_rtmp_player() {
    let server = http_server(Config::default());
    let scratch = Scratch::new("hflv");
    let name = unique("hflv");
    let rtmp = url(&server, &format!("live/{name}"));
    let (http_out, rtmp_out) = (scratch.path("http.flv"), scratch.path("rtmp.flv"));
    // Both wait for the publisher: the HTTP one holds its response until
    // the stream is live.
    let mut http_player = play(&flv_url(&server, &format!("live/{name}")), &http_out);
    let mut rtmp_player = play(&rtmp, &rtmp_out);
    wait_for_players(&server, "live", &name, 2);
    let sample = Sample::AudioVideo.path();
    assert!(publish(&sample, &rtmp, &[]).wait().success());
    // The body ends with the publish: ffmpeg finishes on its own.
    assert!(http_player.wait().success(), "ffmpeg read the HTTP-FLV body to its end");
    rtmp_player.wait();
    let sent = probe(&sample);
    for (what, out) in [("HTTP-FLV", &http_out), ("RTMP", &rtmp_out)] {
        let got = probe(out);
        assert_eq!(got.codecs(), vec!["aac", "h264"], "{what}");
        assert_eq!(got.video_size(), Some((320, 240)), "{what}");
        assert_near(
            &format!("{what} video packets"),
            got.video().len(),
            sent.video().len(),
            95,
        );
        assert_near(
            &format!("{what} audio packets"),
            got.audio().len(),
            sent.audio().len(),
            95,
        );
        assert!(got.video()[0].key, "{what}: the first video packet is a keyframe");
        got.assert_monotonic();
        eprintln!(
            "{what}: {} video, {} audio packets of {} and {} sent",
            got.video().len(),
            got.audio().len(),
            sent.video().len(),
            sent.audio().len()
        );
    }
}

#[test]
fn ffprobe_reads_a_live_url_and_a_late_joiner_starts_on_a_keyframe() {
    let server = http_server(Config::default());
    let scratch = Scratch::new("hlate");
    let name = unique("hlate");
    let rtmp = url(&server, &format!("live/{name}"));
    let http = flv_url(&server, &format!("live/{name}"));
    let stream_time = || stream_stats(&server, "live", &name).map_or(0, |s| s.last_timestamp.0);
    let mut publisher = publish(&Sample::LongAudioVideo.path(), &rtmp, &[]);
    wait_until("2.5 s of stream published", || stream_time() >= 2500);

    let mut cmd = std::process::Command::new("ffprobe");
    cmd.args(["-v", "error", "-rw_timeout", "10000000", "-show_entries"])
        .args(["stream=codec_name,width,height", "-of", "csv=p=0", &http]);
    let out = run(&mut cmd);
    assert!(out.status.success(), "ffprobe {http}: {}", stderr(&out));
    let mut streams: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    streams.sort();
    assert_eq!(streams, ["aac", "h264,320,240"], "ffprobe found both tracks");

    let out = scratch.path("late.flv");
    let mut player = play_with(&http, &out, &["-copyts"]);
    assert!(publisher.wait().success());
    assert!(player.wait().success());
    let got = probe(&out);
    assert_eq!(got.video_size(), Some((320, 240)), "sequence header came first");
    let first = got.video()[0];
    assert!(first.key, "a late joiner's first video packet is a keyframe");
    assert!(first.dts >= 2000, "it joined late, at {} ms", first.dts);
    got.assert_monotonic();
}

/// Plays `sample` to one HTTP/1.0 and one HTTP/1.1 reader that joined
/// before the publisher; returns both responses.
fn read_raw(sample: Sample) -> [http::Response; 2] {
    let server = http_server(Config::default());
    let name = unique("hraw");
    let addr = server.http_addr().unwrap();
    let target = format!("/live/{name}.flv");
    let readers = [0, 1].map(|minor| {
        let socket = http::send(addr, &http::get_request(&target, minor));
        std::thread::spawn(move || http::read_to_close(socket))
    });
    wait_for_players(&server, "live", &name, 2);
    let rtmp = url(&server, &format!("live/{name}"));
    assert!(publish(&sample.path(), &rtmp, &[]).wait().success());
    readers.map(|r| r.join().unwrap())
}

#[test]
fn framing_headers_and_flags_of_an_audio_only_stream() {
    let [old, new] = read_raw(Sample::AudioOnly);
    for (what, response) in [("HTTP/1.0", &old), ("HTTP/1.1", &new)] {
        assert_eq!(response.status, 200, "{what}: {}", response.head);
        assert_eq!(response.header("Content-Type"), Some("video/x-flv"), "{what}");
        assert_eq!(response.header("Cache-Control"), Some("no-cache"), "{what}");
        assert_eq!(response.header("Access-Control-Allow-Origin"), Some("*"), "{what}");
        assert_eq!(
            response.header("Content-Length"),
            None,
            "{what}: a live body has no length"
        );
    }
    assert!(old.head.starts_with("HTTP/1.0 200 OK\r\n"), "{}", old.head);
    assert_eq!(
        old.header("Transfer-Encoding"),
        None,
        "HTTP/1.0: the body ends at the close"
    );
    assert_eq!(old.header("Connection"), Some("close"));
    assert!(new.head.starts_with("HTTP/1.1 200 OK\r\n"), "{}", new.head);
    assert_eq!(
        new.header("Transfer-Encoding"),
        Some("chunked"),
        "read_to_close checked each chunk"
    );

    let (old_flags, old_tags) = http::flv_tags(&old.body);
    let (new_flags, new_tags) = http::flv_tags(&new.body);
    assert_eq!((old_flags, new_flags), (0x04, 0x04), "the header announces audio only");
    assert_eq!(old_tags, new_tags, "both framings carry the same tags");
    let sent = probe(&Sample::AudioOnly.path());
    let (audio, video) = media(&new_tags);
    assert_eq!(video, 0);
    assert_near("audio tags", audio, sent.audio().len(), 95);
    assert_eq!(new_tags[0].kind, 18, "onMetaData first");
    assert_eq!(
        &new_tags[0].body[..13],
        b"\x02\x00\x0aonMetaData",
        "without @setDataFrame"
    );
}

#[test]
fn flags_of_a_video_only_stream() {
    let [old, new] = read_raw(Sample::VideoOnly);
    for response in [&old, &new] {
        let (flags, tags) = http::flv_tags(&response.body);
        assert_eq!(flags, 0x01, "the header announces video only");
        let (audio, video) = media(&tags);
        assert_eq!(audio, 0);
        assert_near("video tags", video, probe(&Sample::VideoOnly.path()).video().len(), 95);
    }
}

#[test]
fn a_hundred_http_players_and_an_rtmp_player_all_get_everything() {
    const PLAYERS: usize = 100;
    // All wait for the publisher from one address: let them all wait.
    let server = http_server(Config {
        hls: HlsSettings {
            max_blocked_per_ip: PLAYERS + 1,
            ..Default::default()
        },
        ..Config::default()
    });
    let scratch = Scratch::new("hmany");
    let name = unique("hmany");
    let addr = server.http_addr().unwrap();
    let readers: Vec<_> = (0..PLAYERS)
        .map(|_| {
            let socket = http::send(addr, &http::get_request(&format!("/live/{name}.flv"), 1));
            std::thread::spawn(move || http::read_to_close(socket))
        })
        .collect();
    let rtmp = url(&server, &format!("live/{name}"));
    let out = scratch.path("rtmp.flv");
    let mut rtmp_player = play(&rtmp, &out);
    wait_for_players(&server, "live", &name, PLAYERS + 1);
    let sample = Sample::AudioVideo.path();
    assert!(publish(&sample, &rtmp, &[]).wait().success());
    let sent = probe(&sample);
    let tags: Vec<Vec<Tag>> = readers
        .into_iter()
        .map(|r| http::flv_tags(&r.join().unwrap().body).1)
        .collect();
    let (audio, video) = media(&tags[0]);
    assert_near("video tags", video, sent.video().len(), 95);
    assert_near("audio tags", audio, sent.audio().len(), 95);
    for (i, got) in tags.iter().enumerate() {
        assert!(got == &tags[0], "player {i} got other tags than player 0");
    }
    rtmp_player.wait();
    let got = probe(&out);
    assert_eq!(
        (got.audio().len(), got.video().len()),
        (audio, video),
        "the RTMP player got as much"
    );
}

#[test]
fn a_stalled_http_player_is_dropped_and_the_others_get_everything() {
    const FRAMES: u32 = 1000;
    let server = http_server(Config {
        players: PlayerSettings {
            queue_len: 256,
            ..Default::default()
        },
        stream: StreamSettings {
            // The GOP fits the short queue (the server used to clamp it).
            gop_max_frames: 248,
            max_dropped_in_a_row: 50,
            min_stall: Duration::from_millis(100),
            ..Default::default()
        },
        limits: Limits {
            write_timeout: Duration::from_secs(2),
            ..Default::default()
        },
        ..Config::default()
    });
    let name = unique("hslow");
    let rtmp = url(&server, &format!("live/{name}"));
    let addr = server.http_addr().unwrap();
    let target = format!("/live/{name}.flv");
    let healthy = http::send(addr, &http::get_request(&target, 1));
    let healthy = std::thread::spawn(move || http::read_to_close(healthy));
    let mut rtmp_player = Client::play(&rtmp, &ClientOptions::default()).unwrap();
    let rtmp_reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(Some(frame)) = rtmp_player.recv() {
            got.push(frame_number(&frame));
        }
        got
    });
    // Never read from here on.
    let stalled = http::send(addr, &http::get_request(&target, 1));
    wait_for_players(&server, "live", &name, 3);

    let mut publisher = Client::publish(&rtmp, &ClientOptions::default()).unwrap();
    // 1000 frames of 32 KB, a keyframe every 10: far more than the
    // loopback socket buffers hold for the stalled player.
    for i in 0..FRAMES {
        publisher
            .send(&numbered_frame(i, i % 10 == 0, i * 40, 32 * 1024))
            .unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    wait_until("the stalled player to be dropped", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.players == 2 && s.dropped > 0)
    });
    drop(publisher);
    let all: Vec<u32> = (0..FRAMES).collect();
    assert_eq!(rtmp_reader.join().unwrap(), all, "the RTMP player lost frames");
    let (_, tags) = http::flv_tags(&healthy.join().unwrap().body);
    let numbers: Vec<u32> = tags
        .iter()
        .map(|t| {
            frame_number(&Frame {
                kind: FrameKind::Video,
                timestamp: RtmpTime(t.timestamp),
                payload: t.body.clone(),
            })
        })
        .collect();
    assert_eq!(numbers, all, "the healthy HTTP player lost frames");
    drop(stalled);
}

#[test]
fn bad_requests_get_their_status_and_a_closed_connection() {
    let server = http_server(Config {
        http: HttpSettings {
            header_timeout: Duration::from_millis(800),
            ..Default::default()
        },
        ..Config::default()
    });
    let canary = Canary::start(&server);
    let addr = server.http_addr().unwrap();
    let huge = format!("GET /live/x.flv HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(100_000));
    let many: String = (0..100).map(|i| format!("X-{i}: y\r\n")).collect();
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "garbage",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(),
            400,
        ),
        ("a 100 KB header", huge.into_bytes(), 431),
        (
            "100 header lines",
            format!("GET / HTTP/1.1\r\n{many}\r\n").into_bytes(),
            431,
        ),
        (
            "a head never finished",
            b"GET /live/x.flv HTTP/1.1\r\nHost: x\r\n".to_vec(),
            408,
        ),
        ("an unknown path", http::get_request("/nothing/here.txt", 1), 404),
        ("an unknown API", http::get_request("/api/v2/streams", 1), 404),
        ("a traversal", http::get_request("/../../etc/passwd", 1), 400),
        ("an escaped traversal", http::get_request("/live/%2e%2e/x.flv", 1), 400),
        (
            "a wrong method",
            b"DELETE /live/x.flv HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            405,
        ),
        (
            "a body",
            b"POST /live/x.flv HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd".to_vec(),
            413,
        ),
        ("HTTP/2", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(), 505),
    ];
    for (what, request, status) in cases {
        let response = http::read_to_close(http::send(addr, &request));
        assert_eq!(response.status, status, "{what}: {}", response.head);
        assert_eq!(response.header("Connection"), Some("close"), "{what}");
        if status == 405 {
            assert_eq!(response.header("Allow"), Some("GET, OPTIONS"), "{what}");
        }
    }
    // A slow drip is bounded by the same deadline as a stall.
    let started = Instant::now();
    let mut socket = http::send(addr, b"GET /live/x.flv HTTP/1.1\r\n");
    while started.elapsed() < Duration::from_secs(3) {
        use std::io::Write;
        if socket.write_all(b"X: y\r\n").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let response = http::read_to_close(socket);
    assert_eq!(response.status, 408, "slowloris: {}", response.head);
    canary.finish();
}

#[test]
fn options_answers_cors_preflight_and_keeps_the_connection() {
    let server = http_server(Config::default());
    let addr = server.http_addr().unwrap();
    let preflight = b"OPTIONS /live/cam.flv HTTP/1.1\r\nHost: x\r\nOrigin: http://example.com\r\n\
        Access-Control-Request-Method: GET\r\n\r\n";
    let mut socket = http::send(addr, preflight);
    let (head, _) = http::read_head_and(&mut socket, 0);
    let response = http::parse_response(head.as_bytes());
    assert_eq!(response.status, 204, "{head}");
    assert_eq!(response.header("Access-Control-Allow-Origin"), Some("*"));
    assert_eq!(
        response.header("Access-Control-Allow-Methods"),
        Some("GET, HEAD, OPTIONS"),
        "a player's methods only"
    );
    assert_eq!(
        response.header("Access-Control-Allow-Headers"),
        None,
        "no header beyond the safelisted"
    );
    assert_eq!(response.header("Connection"), Some("keep-alive"));
    assert_eq!(response.header("Content-Length"), Some("0"));
    // The same connection takes the next request.
    use std::io::Write;
    socket.write_all(&http::get_request("/nothing", 1)).unwrap();
    let response = http::read_to_close(socket);
    assert_eq!(response.status, 404, "{}", response.head);
}

#[test]
fn a_name_never_published_is_not_found_after_the_wait_and_keys_apply() {
    let wait = Duration::from_millis(500);
    let server = http_server(Config {
        http: HttpSettings {
            wait_for_publisher: wait,
            ..Default::default()
        },
        access: Access {
            play_key: Some("s3cret".into()),
            ..Access::default()
        },
        ..Config::default()
    });
    let addr = server.http_addr().unwrap();
    let started = Instant::now();
    let response = http::read_to_close(http::send(addr, &http::get_request("/live/none.flv?key=s3cret", 1)));
    assert_eq!(response.status, 404, "{}", response.head);
    assert!(started.elapsed() >= wait, "it waited for a publisher first");
    let response = http::read_to_close(http::send(addr, &http::get_request("/live/none.flv", 1)));
    assert_eq!(response.status, 403, "no key: {}", response.head);
    let response = http::read_to_close(http::send(addr, &http::get_request("/live/none.flv?key=wrong", 1)));
    assert_eq!(response.status, 403, "a wrong key: {}", response.head);
}

#[test]
fn a_taken_http_port_is_skipped_unless_it_was_asked_for() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let config = |required| Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
        http: HttpSettings {
            bind: Some(HttpBind {
                addr: taken.local_addr().unwrap(),
                required,
            }),
            ..Default::default()
        },
        ..Config::default()
    };
    let server = Server::start(config(false)).expect("RTMP runs without HTTP");
    assert_eq!(server.http_addr(), None);
    assert!(
        Server::start(config(true)).is_err(),
        "an address asked for must be bound"
    );
}
