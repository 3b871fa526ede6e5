//! Recording: an FLV file ffprobe reads with the published duration,
//! codecs and frames, which `ffmpeg -ss` seeks; an MP4 file cut off by
//! SIGKILL that still plays; rotation into files that each start on a
//! keyframe; a directory it cannot write, which stops the recording and
//! not the stream; `exec_record_done` and the event with the path; a
//! server stopped by SIGTERM that finishes its recordings and tells
//! `on_record_done` and `exec_record_done` before it exits.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::binary::Binary;
use common::*;
use crossbeam_channel::{Receiver, unbounded};
use rustic_rtmp::media::recording::{Container, Keep, Rotation};
use rustic_rtmp::protocol::amf0::{self, Amf0Value};
use rustic_rtmp::{Config, Event, Hooks, Record};

/// The complete files under `dir`, any depth, sorted.
fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// ffprobe's duration of `file`, in seconds.
fn duration(file: &Path) -> f64 {
    let out = run(Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(file));
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    text.parse()
        .unwrap_or_else(|_| panic!("a duration for {file:?}: {text:?} {}", stderr(&out)))
}

fn recorded(dir: &Path, container: Container, rotation: Rotation) -> Record {
    Record {
        rotation,
        container,
        ..Record::to(dir)
    }
}

#[test]
fn an_flv_recording_has_the_published_duration_codecs_and_frames_and_seeks() {
    let scratch = Scratch::new("record-flv");
    let dir = scratch.path("rec");
    let log = scratch.path("done.log");
    let done = format!("echo $path $basename >> {}", log.display());
    let server = start_server_with(Config {
        record: Some(recorded(&dir, Container::Flv, Rotation::default())),
        hooks: Hooks {
            exec_record_done: vec![vec!["sh".into(), "-c".into(), done]],
            ..Hooks::default()
        },
        ..Config::default()
    });
    let events = server.events();
    let name = unique("rec");
    let sample = Sample::AudioVideo;
    assert!(
        publish(&sample.path(), &url(&server, &format!("live/{name}")), &[])
            .wait()
            .success()
    );
    let path = loop {
        match events.recv_timeout(WAIT).expect("the recording is done") {
            Event::RecordingDone { path, key, .. } if key.name == name => break path,
            _ => {}
        }
    };
    assert_eq!(files(&dir, "flv"), std::slice::from_ref(&path));
    let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        path.starts_with(dir.join("live")) && file_name.starts_with(&format!("{name}-")),
        "{path:?}"
    );
    assert!(files(&dir, "part").is_empty(), "renamed when complete");

    let got = duration(&path);
    assert!((got - 4.0).abs() <= 0.5, "duration {got} s of 4 s published");
    let probed = probe(&path);
    assert_eq!(probed.codecs(), ["aac", "h264"]);
    assert_eq!(probed.video_size(), Some((320, 240)));
    let sent = probe(&sample.path());
    assert_eq!(probed.video().len(), sent.video().len(), "every video frame");
    assert_near("audio frames", probed.audio().len(), sent.audio().len(), 95);
    assert!(
        probed.video()[0].key && probed.video()[0].dts == 0,
        "starts on a keyframe at 0"
    );
    probed.assert_monotonic();

    let seek = run(Command::new("ffmpeg")
        .args(["-v", "error", "-ss", "2"])
        .arg("-i")
        .arg(&path)
        .args(["-frames:v", "5", "-f", "null", "-"]));
    assert!(seek.status.success() && stderr(&seek).is_empty(), "{}", stderr(&seek));

    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    wait_until("exec_record_done", || {
        std::fs::read_to_string(&log).is_ok_and(|t| !t.is_empty())
    });
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("{} {stem}\n", path.display())
    );
}

#[test]
fn rotation_makes_files_that_each_start_on_a_keyframe() {
    let scratch = Scratch::new("record-rotate");
    let dir = scratch.path("rec");
    let rotation = Rotation {
        max_ms: Some(1000),
        max_bytes: None,
    };
    let server = start_server_with(Config {
        record: Some(Record {
            keep: Keep::Video,
            ..recorded(&dir, Container::Flv, rotation)
        }),
        ..Config::default()
    });
    let name = unique("rotate");
    assert!(
        publish(&Sample::AudioVideo.path(), &url(&server, &format!("live/{name}")), &[])
            .wait()
            .success()
    );
    // Keyframes every second over 4 s: a file per second.
    wait_until("four files", || files(&dir, "flv").len() >= 4);
    let mut frames = 0;
    for file in files(&dir, "flv") {
        let probed = probe(&file);
        assert_eq!(probed.codecs(), ["h264"], "video only: {file:?}");
        assert!(probed.video()[0].key, "{file:?} starts on a keyframe");
        frames += probed.video().len();
    }
    assert_eq!(frames, 100, "the files hold every frame between them");
}

#[test]
fn an_mp4_recording_cut_off_by_sigkill_still_plays() {
    let scratch = Scratch::new("record-mp4");
    let dir = scratch.path("rec");
    let dir_arg = dir.to_str().unwrap();
    let server = Binary::start(&["--record-dir", dir_arg, "--record-format", "mp4"]);
    let name = unique("cut");
    let mut publisher = publish(
        &Sample::LongAudioVideo.path(),
        &server.url(&format!("live/{name}")),
        &[],
    );
    // About 2.5 s in (the sample is 30 KB/s, fragments add some), as
    // fragments reach the disk one by one.
    wait_until("2.5 s of fragments", || {
        files(&dir, "part")
            .first()
            .is_some_and(|f| std::fs::metadata(f).map_or(0, |m| m.len()) > 90_000)
    });
    server.signal("KILL");
    publisher.wait();
    let part = files(&dir, "part");
    assert_eq!(part.len(), 1, "the file being written stays as .part");
    let mp4 = scratch.path("cut.mp4");
    std::fs::copy(&part[0], &mp4).unwrap();
    let probed = probe(&mp4);
    assert_eq!(probed.codecs(), ["aac", "h264"]);
    assert!(
        probed.video().len() >= 40,
        "{} video frames played",
        probed.video().len()
    );
    let decode = run(Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&mp4)
        .args(["-f", "null", "-"]));
    assert!(decode.status.success(), "{}", stderr(&decode));
}

#[test]
fn a_directory_it_cannot_write_stops_the_recording_not_the_stream() {
    let scratch = Scratch::new("record-fail");
    // A directory under a regular file: no one may create it, root neither.
    let blocker = scratch.path("file");
    std::fs::write(&blocker, b"not a directory").unwrap();
    let server = common::http::server(Config {
        record: Some(recorded(&blocker.join("rec"), Container::Flv, Rotation::default())),
        ..Config::default()
    });
    let name = unique("unwritable");
    let out_file = scratch.path("played.flv");
    let mut player = play(&url(&server, &format!("live/{name}")), &out_file);
    wait_for_players(&server, "live", &name, 1);
    let sample = Sample::AudioVideo;
    assert!(
        publish(&sample.path(), &url(&server, &format!("live/{name}")), &[])
            .wait()
            .success()
    );
    assert!(player.wait().success());
    assert_eq!(
        probe(&out_file).video().len(),
        probe(&sample.path()).video().len(),
        "the player got everything"
    );
    let metrics = common::http::call(server.http_addr().unwrap(), "GET", "/metrics", "");
    let body = String::from_utf8_lossy(&metrics.body).into_owned();
    assert!(body.contains("rustic_rtmp_record_errors_total 1"), "{body}");
}

#[test]
fn the_api_starts_and_stops_a_recording() {
    let scratch = Scratch::new("record-api");
    let dir = scratch.path("rec");
    // Recorded server-wide, but not the `live` application, until asked.
    let apps = [("live".to_owned(), rustic_rtmp::App::default())].into();
    let server = common::http::server(Config {
        record: Some(Record::to(&dir)),
        apps,
        ..Config::default()
    });
    let events = server.events();
    let key = rustic_rtmp::media::StreamKey::new("live", unique("on-demand"));
    let publisher = server.publish(&key).unwrap();
    let id = stream_stats(&server, "live", &key.name).unwrap().id;
    let http = server.http_addr().unwrap();
    let path = format!("/api/v1/streams/{id}/record");
    assert_eq!(
        common::http::call(http, "DELETE", &path, "").status,
        404,
        "nothing to stop yet"
    );
    assert_eq!(common::http::call(http, "POST", &path, "").status, 200);
    wait_until("a recorder", || {
        stream_stats(&server, "live", &key.name).is_some_and(|s| s.players_by_protocol.recorders == 1)
    });
    for n in 0..30 {
        publisher
            .send(numbered_frame(n, n.is_multiple_of(10), n * 40, 300))
            .unwrap();
    }
    assert_eq!(common::http::call(http, "DELETE", &path, "").status, 200);
    // Not recorded: the recording stopped before it.
    publisher.send(numbered_frame(30, false, 1200, 300)).unwrap();
    let path = loop {
        if let Event::RecordingDone { path, .. } = events.recv_timeout(WAIT).expect("the recording is done") {
            break path;
        }
    };
    assert_eq!(files(&dir, "flv"), std::slice::from_ref(&path));
    let (_, tags) = common::http::flv_tags(&std::fs::read(&path).unwrap());
    assert_eq!(tags.iter().filter(|t| t.kind == 9).count(), 30, "frames 0 to 29");
}

/// A webhook receiver on a free loopback port. Each request's body goes
/// on the channel before the 200 is written, so every call the server
/// waited for is there once the server has exited.
fn hook_receiver() -> (SocketAddr, Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (calls, received) = unbounded();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let (Ok(mut socket), calls) = (socket, calls.clone()) else {
                continue;
            };
            std::thread::spawn(move || {
                socket.set_read_timeout(Some(WAIT)).unwrap();
                let mut bytes = Vec::new();
                let mut buf = [0u8; 4096];
                let body = loop {
                    match socket.read(&mut buf) {
                        Ok(n) if n > 0 => bytes.extend_from_slice(&buf[..n]),
                        _ => return,
                    }
                    let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
                        continue;
                    };
                    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
                    let len: usize = (head.lines())
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map_or(0, |v| v.trim().parse().unwrap());
                    if bytes.len() >= end + 4 + len {
                        break String::from_utf8_lossy(&bytes[end + 4..end + 4 + len]).into_owned();
                    }
                };
                let _ = calls.send(body);
                let _ = socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            });
        }
    });
    (addr, received)
}

/// The `duration` in an FLV file's `onMetaData`, in seconds.
fn metadata_duration(file: &Path) -> f64 {
    let (_, tags) = common::http::flv_tags(&std::fs::read(file).unwrap());
    let script = tags.iter().find(|t| t.kind == 18).expect("an onMetaData tag");
    let values = amf0::decode_all(&script.body).unwrap();
    values[1].property("duration").and_then(Amf0Value::as_number).unwrap()
}

/// SIGTERM while `format` is recorded: the process exits 0 with the file
/// complete (renamed, ffprobe reads it; FLV's duration patched), having
/// told `on_record_done` and started `exec_record_done`.
fn a_clean_stop_finishes_the_recording(format: &str) {
    let scratch = Scratch::new(&format!("record-stop-{format}"));
    let dir = scratch.path("rec");
    let (hook, calls) = hook_receiver();
    let done_url = format!("http://{hook}/record_done");
    let mut server = Binary::start(&[
        "--record-dir",
        dir.to_str().unwrap(),
        "--record-format",
        format,
        "--on-record-done",
        &done_url,
        "--exec-record-done",
        "touch $path.done",
    ]);
    let name = unique("stopped");
    let mut publisher = publish(
        &Sample::LongAudioVideo.path(),
        &server.url(&format!("live/{name}")),
        &[],
    );
    // About a second in, of eight: the publish is far from its end.
    wait_until("a second recorded", || {
        files(&dir, "part")
            .first()
            .is_some_and(|f| std::fs::metadata(f).map_or(0, |m| m.len()) > 30_000)
    });
    server.signal("TERM");
    assert!(server.wait().success(), "exit status after SIGTERM");
    publisher.wait();

    assert_eq!(files(&dir, "part"), Vec::<PathBuf>::new(), "no .part left");
    let recorded = files(&dir, format);
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let path = &recorded[0];
    let got = duration(path);
    assert!((0.5..7.5).contains(&got), "ffprobe's duration {got} s");
    if format == "flv" {
        let patched = metadata_duration(path);
        assert!(
            (got - patched).abs() < 0.5,
            "onMetaData says {patched} s, ffprobe {got} s"
        );
    }
    let decode = run(Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"]));
    assert!(decode.status.success(), "{}", stderr(&decode));

    let told: Vec<String> = calls.try_iter().collect();
    let path_field = format!("path={}", path.display()).replace('/', "%2F");
    assert!(
        told.iter()
            .any(|b| b.contains("call=record_done") && b.contains(&path_field)),
        "on_record_done before the exit: {told:?}"
    );
    let mut done = path.clone().into_os_string();
    done.push(".done");
    wait_until("exec_record_done", || Path::new(&done).exists());
}

#[test]
fn sigterm_finishes_an_flv_recording_and_tells_the_hooks() {
    a_clean_stop_finishes_the_recording("flv");
}

#[test]
fn sigterm_finishes_an_mp4_recording_and_tells_the_hooks() {
    a_clean_stop_finishes_the_recording("mp4");
}
