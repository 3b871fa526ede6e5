//! Live fragmented MP4 at http://HOST/APP/NAME.mp4: ffmpeg and ffprobe read
//! it while ffmpeg publishes H.264+AAC, and HEVC+Opus sent through the
//! library's client (Enhanced RTMP, which Debian's ffmpeg cannot publish)
//! comes out as an MP4 ffprobe reads. A codec fMP4 cannot carry gets 415.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use common::http;
use common::*;
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

/// HEVC (25 fps, a keyframe a second, no B-frames) and Opus (20 ms
/// packets) made once by ffmpeg under target/, as raw Annex B and Ogg.
fn hevc_and_opus() -> (PathBuf, PathBuf) {
    static MAKING: Mutex<()> = Mutex::new(());
    let _one = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("samples");
    fs::create_dir_all(&dir).unwrap();
    let (hevc, opus) = (dir.join("hevc-v1.hevc"), dir.join("opus-v1.ogg"));
    for (path, args) in [
        (
            &hevc,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=25",
                "-t",
                "3",
                "-c:v",
                "libx265",
                "-x265-params",
                "bframes=0:keyint=25:log-level=error",
                "-pix_fmt",
                "yuv420p",
                "-f",
                "hevc",
            ][..],
        ),
        (
            &opus,
            &[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
                "-t",
                "3",
                "-c:a",
                "libopus",
                "-f",
                "ogg",
            ][..],
        ),
    ] {
        if path.exists() {
            continue;
        }
        let partial = path.with_extension("partial");
        let out = run(ffmpeg().args(["-y", "-loglevel", "error"]).args(args).arg(&partial));
        assert!(out.status.success(), "ffmpeg could not make {path:?}: {}", stderr(&out));
        fs::rename(&partial, path).unwrap();
    }
    (hevc, opus)
}

/// The NAL units of an Annex B stream.
fn nal_units(annex_b: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= annex_b.len() {
        if annex_b[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(annex_b.len(), |&next| next - 3);
        while end > start && annex_b[end - 1] == 0 {
            end -= 1; // the extra zero of a 4-byte start code
        }
        units.push(&annex_b[start..end]);
    }
    units
}

/// The packets of an Ogg stream (RFC 3533), in order.
fn ogg_packets(ogg: &[u8]) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut packet = Vec::new();
    let mut at = 0;
    while at + 27 <= ogg.len() {
        assert_eq!(&ogg[at..at + 4], b"OggS");
        let segments = ogg[at + 26] as usize;
        let lacing = &ogg[at + 27..at + 27 + segments];
        let mut data = at + 27 + segments;
        for &len in lacing {
            packet.extend_from_slice(&ogg[data..data + len as usize]);
            data += len as usize;
            if len < 255 {
                packets.push(std::mem::take(&mut packet));
            }
        }
        at = data;
    }
    packets
}

/// Enhanced RTMP frames of HEVC and Opus, in timestamp order.
fn hevc_opus_frames() -> Vec<Frame> {
    let (hevc, opus) = hevc_and_opus();
    let annex_b = fs::read(hevc).unwrap();
    let units = nal_units(&annex_b);
    let nal_type = |u: &[u8]| (u[0] >> 1) & 0x3F;
    let find = |t: u8| *units.iter().find(|u| nal_type(u) == t).expect("VPS, SPS and PPS");
    let (vps, sps, pps) = (find(32), find(33), find(34));
    // HEVCDecoderConfigurationRecord: the SPS's profile_tier_level gives
    // bytes 1-12; 4:2:0, 8 bits, 4-byte lengths, then the three arrays.
    let mut record = vec![1];
    record.extend_from_slice(&sps[3..15]);
    record.extend_from_slice(&[0xF0, 0x00, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0F, 3]);
    for unit in [vps, sps, pps] {
        record.push(0x80 | nal_type(unit));
        record.extend_from_slice(&1u16.to_be_bytes());
        record.extend_from_slice(&(unit.len() as u16).to_be_bytes());
        record.extend_from_slice(unit);
    }
    let frame = |kind, ms: u32, payload: Vec<u8>| Frame {
        kind,
        timestamp: RtmpTime(ms),
        payload,
    };
    let mut video = vec![frame(FrameKind::Video, 0, [b"\x90hvc1", &record[..]].concat())];
    for (picture, unit) in units.iter().filter(|u| nal_type(u) < 32).enumerate() {
        // One slice a picture (x265's default); IRAP pictures are keyframes.
        let key = (16..=23).contains(&nal_type(unit));
        let mut body = if key {
            b"\x93hvc1".to_vec()
        } else {
            b"\xA3hvc1".to_vec()
        };
        body.extend_from_slice(&(unit.len() as u32).to_be_bytes());
        body.extend_from_slice(unit);
        video.push(frame(FrameKind::Video, picture as u32 * 40, body));
    }
    let packets = ogg_packets(&fs::read(opus).unwrap());
    assert!(packets[0].starts_with(b"OpusHead") && packets[1].starts_with(b"OpusTags"));
    let mut audio = vec![frame(FrameKind::Audio, 0, [b"\x90Opus", &packets[0][..]].concat())];
    for (i, packet) in packets[2..].iter().enumerate() {
        audio.push(frame(
            FrameKind::Audio,
            i as u32 * 20,
            [b"\x91Opus", &packet[..]].concat(),
        ));
    }
    let mut frames: Vec<Frame> = video.into_iter().chain(audio).collect();
    // Configuration first, then by timestamp, video before audio at a tie.
    frames.sort_by_key(|f| (f.payload[0] & 0x0F != 0, f.timestamp.0, f.kind != FrameKind::Video));
    frames
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
    let frames = hevc_opus_frames();
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
