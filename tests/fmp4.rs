//! Live fragmented MP4 at http://HOST/APP/NAME.mp4: ffmpeg and ffprobe read
//! it while ffmpeg publishes H.264+AAC, and HEVC+Opus sent through the
//! library's client (Enhanced RTMP, which Debian's ffmpeg cannot publish)
//! comes out as an MP4 ffprobe reads. A codec fMP4 cannot carry gets 415.

mod common;

use std::fs;

use common::*;
use common::{codecs, http};
use rustic_rtmp::client::{Client, ClientOptions};
use rustic_rtmp::media::{Frame, FrameKind};
use rustic_rtmp::protocol::time::RtmpTime;
use rustic_rtmp::{Config, ServerHandle};

fn mp4_url(server: &ServerHandle, name: &str) -> String {
    http::url(server, &format!("live/{name}.mp4"))
}

/// The boxes at the top level of `bytes`, by type.
fn top_boxes(bytes: &[u8]) -> Vec<String> {
    let mut boxes = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        boxes.push(String::from_utf8_lossy(&bytes[at + 4..at + 8]).into_owned());
        assert!(size >= 8 && at + size <= bytes.len(), "box sizes add up");
        at += size;
    }
    assert_eq!(at, bytes.len(), "no bytes after the last box");
    boxes
}

#[test]
fn ffmpeg_plays_live_fmp4_of_h264_and_aac() {
    let server = http::server(Config::default());
    let scratch = Scratch::new("fmp4");
    let name = unique("fmp4");
    let rtmp = url(&server, &format!("live/{name}"));
    // Joins before the publisher; its init segment waits for the codecs.
    // ffmpeg copies what it reads into FLV, as the other players do.
    let out = scratch.path("got.flv");
    let mut player = play(&mp4_url(&server, &name), &out);
    wait_for_players(&server, "live", &name, 1);
    let sample = Sample::AudioVideo.path();
    assert!(publish(&sample, &rtmp, &[]).wait().success());
    assert!(player.wait().success(), "ffmpeg read the body to its end");
    let sent = probe(&sample);
    let got = probe(&out);
    assert_eq!(got.codecs(), vec!["aac", "h264"]);
    assert_eq!(got.video_size(), Some((320, 240)));
    assert_near("video packets", got.video().len(), sent.video().len(), 95);
    assert_near("audio packets", got.audio().len(), sent.audio().len(), 95);
    assert!(got.video()[0].key, "the first video packet is a keyframe");
    got.assert_monotonic();
    eprintln!(
        "fMP4: {} video, {} audio packets of {} and {} sent",
        got.video().len(),
        got.audio().len(),
        sent.video().len(),
        sent.audio().len()
    );
}

#[test]
fn a_late_joiner_gets_an_init_segment_then_a_keyframe() {
    let server = http::server(Config::default());
    let name = unique("fmp4late");
    let rtmp = url(&server, &format!("live/{name}"));
    let mut publisher = publish(&Sample::LongAudioVideo.path(), &rtmp, &[]);
    wait_until("2 s of stream published", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.last_timestamp.0 >= 2000)
    });
    let socket = http::send(
        server.http_addr().unwrap(),
        &http::get_request(&format!("/live/{name}.mp4"), 1),
    );
    let reader = std::thread::spawn(move || http::read_to_close(socket));
    assert!(publisher.wait().success());
    let response = reader.join().unwrap();
    assert_eq!(response.status, 200, "{}", response.head);
    assert_eq!(response.header("Content-Type"), Some("video/mp4"));
    assert_eq!(response.header("Transfer-Encoding"), Some("chunked"));
    let boxes = top_boxes(&response.body);
    assert_eq!(&boxes[..3], ["ftyp", "moov", "moof"], "init segment, then fragments");
    assert!(
        boxes[3..]
            .chunks(2)
            .all(|pair| pair == ["mdat", "moof"] || pair == ["mdat"])
    );
    // The first fragment is the cached GOP's keyframe: a sync sample.
    let moof = response.body.windows(4).position(|w| w == b"trun").unwrap() - 4;
    assert_eq!(&response.body[moof + 28..moof + 32], &[2, 0, 0, 0], "sync sample flags");
    let scratch = Scratch::new("fmp4late");
    let file = scratch.path("late.mp4");
    fs::write(&file, &response.body).unwrap();
    let got = probe(&file);
    assert_eq!(got.codecs(), vec!["aac", "h264"]);
    assert!(got.video()[0].key, "ffprobe sees a keyframe first");
    assert!(
        got.video()[0].dts >= 1000,
        "it joined late, at {} ms",
        got.video()[0].dts
    );
    got.assert_monotonic();
}

#[test]
fn hevc_and_opus_from_the_library_client_come_out_as_mp4_ffprobe_reads() {
    let server = http::server(Config::default());
    let name = unique("hevcopus");
    let socket = http::send(
        server.http_addr().unwrap(),
        &http::get_request(&format!("/live/{name}.mp4"), 1),
    );
    wait_for_players(&server, "live", &name, 1);
    let reader = std::thread::spawn(move || http::read_to_close(socket));
    let frames = codecs::hevc_opus_frames();
    let sent_video = frames.iter().filter(|f| f.kind == FrameKind::Video).count() - 1;
    let sent_audio = frames.iter().filter(|f| f.kind == FrameKind::Audio).count() - 1;
    let mut publisher = Client::publish(&url(&server, &format!("live/{name}")), &ClientOptions::default()).unwrap();
    for frame in &frames {
        publisher.send(frame).unwrap();
    }
    drop(publisher);
    let response = reader.join().unwrap();
    assert_eq!(response.status, 200, "{}", response.head);
    let scratch = Scratch::new("hevcopus");
    let file = scratch.path("got.mp4");
    fs::write(&file, &response.body).unwrap();
    let got = probe(&file);
    assert_eq!(got.codecs(), vec!["hevc", "opus"]);
    assert_eq!(got.video_size(), Some((320, 240)));
    assert_eq!(
        (got.video().len(), got.audio().len()),
        (sent_video, sent_audio),
        "every frame"
    );
    assert!(got.video()[0].key);
    got.assert_monotonic();
}

#[test]
fn a_codec_fmp4_cannot_carry_is_refused_with_415_naming_it() {
    let server = http::server(Config::default());
    let name = unique("speex");
    let mut publisher = Client::publish(&url(&server, &format!("live/{name}")), &ClientOptions::default()).unwrap();
    let speex = |ms| Frame {
        kind: FrameKind::Audio,
        timestamp: RtmpTime(ms),
        payload: vec![0xB2, 1, 2, 3],
    };
    publisher.send(&speex(0)).unwrap();
    wait_until("the stream to be live", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.frames > 0)
    });
    let socket = http::send(
        server.http_addr().unwrap(),
        &http::get_request(&format!("/live/{name}.mp4"), 1),
    );
    let reader = std::thread::spawn(move || http::read_to_close(socket));
    wait_for_players(&server, "live", &name, 1);
    publisher.send(&speex(20)).unwrap();
    let response = reader.join().unwrap();
    assert_eq!(response.status, 415, "{}", response.head);
    let text = String::from_utf8_lossy(&response.body);
    assert!(text.contains("FLV audio codec 11"), "{text}");
    // The same stream still plays as HTTP-FLV.
    let socket = http::send(
        server.http_addr().unwrap(),
        &http::get_request(&format!("/live/{name}.flv"), 1),
    );
    let (head, _) = http::read_head_and(&mut { socket }, 0);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}
