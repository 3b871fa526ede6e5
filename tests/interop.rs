//! Real clients other than plain ffmpeg: the FP9 handshake as ffmpeg checks
//! it, rtmpdump, GStreamer, nginx-rtmp relaying, and an OBS-style publish.

mod common;

use std::process::{Command, Stdio};

use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::protocol::amf0::Amf0Value;
use rustic_rtmp::protocol::message::Message;

/// Publishes the sample with ffmpeg and waits for it.
fn publish_sample(url: &str) {
    assert!(
        publish(&Sample::AudioVideo.path(), url, &[]).wait().success(),
        "ffmpeg publish to {url}"
    );
}

fn sent() -> Probe {
    probe(&Sample::AudioVideo.path())
}

#[test]
fn ffmpeg_player_verifies_our_fp9_digest() {
    let server = start_server();
    let scratch = Scratch::new("fp9");
    let name = unique("fp9");
    let url = url(&server, &format!("live/{name}"));
    let out = scratch.path("out.flv");
    // At debug level ffmpeg prints the S1 version it then checks the digest
    // of; a bad digest ends with "Server response validating failed".
    let player = spawn(
        ffmpeg()
            .args([
                "-loglevel",
                "debug",
                "-y",
                "-rw_timeout",
                "3000000",
                "-i",
                &url,
                "-c",
                "copy",
                "-f",
                "flv",
            ])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped()),
    );
    wait_for_players(&server, "live", &name, 1);
    publish_sample(&url);
    let log = stderr(&player.wait_output());
    assert!(log.contains("Server version 5.0.3.1"), "ffmpeg saw no digest handshake");
    assert!(!log.contains("validating failed") && !log.contains("Signature mismatch"));
    assert_near("video", probe(&out).video().len(), sent().video().len(), 95);
}

#[test]
fn rtmpdump_plays_live() {
    let server = start_server();
    let scratch = Scratch::new("rtmpdump");
    let name = unique("rd");
    let url = url(&server, &format!("live/{name}"));
    let out = scratch.path("out.flv");
    // -m: give up 3 s after the stream stops, so it exits by itself.
    let mut player = spawn(
        Command::new("rtmpdump")
            .args(["--live", "-m", "3", "-r", &url, "-o"])
            .arg(&out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for_players(&server, "live", &name, 1);
    publish_sample(&url);
    player.wait();
    let got = probe(&out);
    assert_eq!(got.codecs(), vec!["aac", "h264"]);
    assert_near("video", got.video().len(), sent().video().len(), 95);
    assert_near("audio", got.audio().len(), sent().audio().len(), 95);
    got.assert_monotonic();
}

#[test]
fn gstreamer_rtmp2sink_publishes_and_rtmp2src_plays() {
    let server = start_server();
    let scratch = Scratch::new("gst");
    let name = unique("gst");
    let url = url(&server, &format!("live/{name}"));
    let (ffmpeg_out, gst_out) = (scratch.path("ffmpeg.flv"), scratch.path("gst.flv"));
    let mut ffmpeg_player = play(&url, &ffmpeg_out);
    // rtmp2src ends its stream when the publisher leaves (StreamEOF).
    let mut gst_player = spawn(
        Command::new("gst-launch-1.0")
            .args(["-q", "rtmp2src", &format!("location={url}"), "!", "filesink"])
            .arg(format!("location={}", gst_out.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    wait_for_players(&server, "live", &name, 2);
    // rtmp2sink takes FLV tags from flvmux; it checks that S2 echoes C1.
    let sample = Sample::AudioVideo.path();
    let publisher = Command::new("gst-launch-1.0")
        .args(["-q", "filesrc"])
        .arg(format!("location={}", sample.display()))
        .args([
            "!",
            "flvdemux",
            "name=d",
            "d.video",
            "!",
            "queue",
            "!",
            "h264parse",
            "!",
            "flvmux",
            "name=m",
            "streamable=true",
            "!",
            "rtmp2sink",
        ])
        .arg(format!("location={url}"))
        .args(["d.audio", "!", "queue", "!", "aacparse", "!", "m."])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let publisher = match publisher {
        Ok(child) => child,
        Err(e) => panic!("cannot run gst-launch-1.0 ({e}): scripts/test.sh installs it"),
    };
    let published = Proc::from(publisher).wait_output();
    assert!(published.status.success(), "rtmp2sink: {}", stderr(&published));
    gst_player.wait();
    ffmpeg_player.wait();
    for (who, out) in [("ffmpeg", &ffmpeg_out), ("rtmp2src", &gst_out)] {
        let got = probe(out);
        // rtmp2src also writes data messages (|RtmpSampleAccess) as FLV
        // script tags, which ffprobe lists as a text stream.
        let codecs = got.codecs();
        assert!(
            codecs.contains(&"aac".to_owned()) && codecs.contains(&"h264".to_owned()),
            "{who}: {codecs:?}"
        );
        assert_near(&format!("{who} video"), got.video().len(), sent().video().len(), 95);
        assert_near(&format!("{who} audio"), got.audio().len(), sent().audio().len(), 95);
    }
}

#[test]
fn nginx_pushes_into_us_and_pulls_from_us() {
    let server = start_server();
    let scratch = Scratch::new("nginx");
    let ours = server.local_addr();
    let nginx = nginx::start(
        &scratch,
        &format!(
            "    application push {{ live on; push rtmp://{ours}/relay; }}\n\
             application pull {{ live on; pull rtmp://{ours}/live; }}"
        ),
    );
    let (pushed, pulled) = (unique("pushed"), unique("pulled"));
    let (push_out, pull_out) = (scratch.path("push.flv"), scratch.path("pull.flv"));
    // Far ends: a player of ours gets what nginx pushes; a player of nginx
    // gets what nginx pulls from us.
    let mut push_player = play(&url(&server, &format!("relay/{pushed}")), &push_out);
    let mut pull_player = play(&format!("rtmp://{}/pull/{pulled}", nginx.addr), &pull_out);
    wait_for_players(&server, "relay", &pushed, 1);
    wait_for_players(&server, "live", &pulled, 1); // nginx's pull relay
    let mut to_nginx = publish(
        &Sample::AudioVideo.path(),
        &format!("rtmp://{}/push/{pushed}", nginx.addr),
        &[],
    );
    let mut to_us = publish(
        &Sample::AudioVideo.path(),
        &url(&server, &format!("live/{pulled}")),
        &[],
    );
    assert!(to_nginx.wait().success() && to_us.wait().success());
    push_player.wait();
    pull_player.wait();

    let pull = probe(&pull_out);
    assert_near("pulled video", pull.video().len(), sent().video().len(), 95);
    assert_near("pulled audio", pull.audio().len(), sent().audio().len(), 95);
    // nginx starts a push relay at a keyframe after its upstream connects,
    // so the first second may be missing; what arrives must be whole.
    let push = probe(&push_out);
    assert!(push.video()[0].key, "pushed stream starts on a keyframe");
    assert!(push.video().len() >= 70, "pushed video: {} packets", push.video().len());
    push.assert_monotonic();
}

#[test]
fn obs_style_publish_reaches_publish_start() {
    // OBS (librtmp): SetChunkSize 4096 before connect, FMLE flashVer, then
    // releaseStream, FCPublish and createStream without waiting for replies.
    let server = start_server();
    let name = unique("obs");
    let mut obs = RawClient::handshake(server.local_addr());
    obs.send(2, 0, 0, &Message::SetChunkSize(4096));
    let object = Amf0Value::object([
        ("app", Amf0Value::string("live")),
        ("type", Amf0Value::string("nonprivate")),
        ("flashVer", Amf0Value::string("FMLE/3.0 (compatible; FMSc/1.0)")),
        (
            "swfUrl",
            Amf0Value::string(format!("rtmp://{}/live", server.local_addr())),
        ),
        (
            "tcUrl",
            Amf0Value::string(format!("rtmp://{}/live", server.local_addr())),
        ),
    ]);
    obs.call(0, "connect", 1.0, object, vec![]);
    obs.call(0, "releaseStream", 2.0, Amf0Value::Null, vec![Amf0Value::string(&name)]);
    obs.call(0, "FCPublish", 3.0, Amf0Value::Null, vec![Amf0Value::string(&name)]);
    obs.call(0, "createStream", 4.0, Amf0Value::Null, vec![]);
    let mut results = Vec::new();
    while results.len() < 4 {
        let reply = obs.recv_command("_result");
        results.push(reply.transaction_id);
    }
    assert_eq!(results, vec![1.0, 2.0, 3.0, 4.0]);
    obs.call(
        1,
        "publish",
        5.0,
        Amf0Value::Null,
        vec![Amf0Value::string(&name), Amf0Value::string("live")],
    );
    assert_eq!(obs.recv_status_code(), "NetStream.Publish.Start");
    wait_until("the stream to be published", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.publishing)
    });
}

#[test]
fn amf3_client_gets_type_17_replies_and_publishes() {
    // A Flash-style client with objectEncoding 3: type 17 commands whose
    // command object is an AMF3 object behind the AVM+ switch.
    use rustic_rtmp::protocol::amf3::Amf3Value;
    use rustic_rtmp::protocol::command::Command;
    let server = start_server();
    let name = unique("amf3");
    let mut client = RawClient::handshake(server.local_addr());
    let object = Amf0Value::Avmplus(Amf3Value::Object {
        class_name: String::new(),
        sealed: vec![],
        dynamic: Some(vec![
            ("app".into(), Amf3Value::String("live".into())),
            ("objectEncoding".into(), Amf3Value::Integer(3)),
            (
                "fourCcList".into(),
                Amf3Value::Array {
                    assoc: vec![],
                    dense: vec![Amf3Value::String("hvc1".into())],
                },
            ),
        ]),
    });
    let amf3 =
        |name: &str, tx: f64, args: Vec<Amf0Value>| Message::CommandAmf3(Command::new(name, tx, Amf0Value::Null, args));
    client.send(
        3,
        0,
        0,
        &Message::CommandAmf3(Command::new("connect", 1.0, object, vec![])),
    );
    let (raw, reply) = loop {
        let (raw, m) = client.recv().expect("a reply to connect");
        if matches!(&m, Message::CommandAmf3(c) | Message::Command(c) if c.name == "_result") {
            break (raw, m);
        }
    };
    assert_eq!(raw.type_id, 17, "an AMF3 client gets type 17 replies");
    let Message::CommandAmf3(result) = reply else {
        unreachable!()
    };
    assert_eq!(
        result.args[0].property("objectEncoding").and_then(Amf0Value::as_number),
        Some(3.0)
    );
    assert!(result.object.property("fourCcList").is_some(), "E-RTMP caps answered");
    client.send(3, 0, 0, &amf3("createStream", 2.0, vec![]));
    client.recv_command("_result");
    client.send(
        3,
        1,
        0,
        &amf3(
            "publish",
            3.0,
            vec![Amf0Value::string(&name), Amf0Value::string("live")],
        ),
    );
    assert_eq!(client.recv_status_code(), "NetStream.Publish.Start");
}
