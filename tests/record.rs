//! Recording: an FLV file ffprobe reads with the published duration,
//! codecs and frames, which `ffmpeg -ss` seeks; an MP4 file cut off by
//! SIGKILL that still plays; rotation into files that each start on a
//! keyframe; a directory it cannot write, which stops the recording and
//! not the stream; `exec_record_done` and the event with the path.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::binary::Binary;
use common::*;
use rustic_rtmp::media::recording::{Container, Keep, Rotation};
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
    let status = Command::new("kill")
        .args(["-KILL", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
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
