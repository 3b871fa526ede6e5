//! The JSON API, field by field, while ffmpeg publishes and an ffmpeg
//! player of each protocol plays; kicking a client by id.

mod common;

use common::http;
use common::*;
use rustic_rtmp::{Access, Config, ServerHandle};
use serde_json::Value;

/// `METHOD path` with `extra` header lines; the status and the JSON body.
fn call(server: &ServerHandle, method: &str, path: &str, extra: &str) -> (u16, Value) {
    let response = http::call(server.http_addr().unwrap(), method, path, extra);
    assert_eq!(response.header("Content-Type"), Some("application/json"), "{path}");
    let body = serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("{path}: {e}"));
    (response.status, body)
}

fn get(server: &ServerHandle, path: &str) -> Value {
    let (status, body) = call(server, "GET", path, "");
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(body["code"], 0, "{path}: {body}");
    assert_eq!(body["server"], "rustic_rtmp");
    assert_eq!(body["pid"], std::process::id(), "the envelope's pid");
    body
}

/// The clients of `stream`, by type.
fn clients_of(server: &ServerHandle, stream: &str) -> Vec<Value> {
    let body = get(server, "/api/v1/clients");
    let clients = body["clients"].as_array().unwrap();
    clients.iter().filter(|c| c["stream"] == stream).cloned().collect()
}

fn of_type<'a>(clients: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = clients.iter().filter(|c| c["type"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} in {clients:?}");
    found[0]
}

#[test]
fn clients_and_streams_field_by_field_then_a_kick() {
    let server = http::server(Config::default());
    let scratch = Scratch::new("api");
    let name = unique("api");
    let rtmp = url(&server, &format!("live/{name}"));
    let mut publisher = publish(&Sample::LongAudioVideo.path(), &rtmp, &[]);
    wait_until("the stream to be live", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.video.is_some())
    });
    let mut rtmp_player = play(&rtmp, &scratch.path("rtmp.flv"));
    let flv_out = scratch.path("http.flv");
    let mut flv_player = play(&http::url(&server, &format!("live/{name}.flv")), &flv_out);
    let _mp4_player = play(
        &http::url(&server, &format!("live/{name}.mp4")),
        &scratch.path("mp4.flv"),
    );
    wait_for_players(&server, "live", &name, 3);

    let streams = get(&server, "/api/v1/streams");
    let stream = streams["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name.as_str())
        .unwrap()
        .clone();
    let id = stream["id"].as_str().unwrap().to_owned();
    let one = get(&server, &format!("/api/v1/streams/{id}"))["stream"].clone();
    assert_eq!(one["name"], name.as_str());
    assert_eq!(
        (one["video"]["width"].as_u64(), one["video"]["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert_eq!(one["video"]["codec"], "H264");
    assert_eq!(one["audio"]["codec"], "AAC");
    let tc_url = one["tcUrl"].as_str().unwrap_or_default();
    assert!(tc_url.starts_with("rtmp://") && tc_url.ends_with("/live"), "{tc_url}");
    assert!(one["gop_cache"]["frames"].as_u64().unwrap() > 0, "{}", one["gop_cache"]);
    assert!(one["gop_cache"]["bytes"].as_u64().unwrap() > 0);
    let codecs: Vec<&str> = (one["tracks"].as_array().unwrap().iter())
        .map(|t| t["codec"].as_str().unwrap())
        .collect();
    assert_eq!(codecs, ["H264", "AAC"], "{}", one["tracks"]);
    assert_eq!(one["clients"], 4, "a publisher and three players");
    assert_eq!(
        (one["players"]["rtmp"].as_u64(), one["players"]["flv"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(one["players"]["mp4"], 1);

    let before = clients_of(&server, &id);
    assert_eq!(before.len(), 4, "{before:?}");
    let publishing = of_type(&before, "fmle-publish");
    assert_eq!(publishing["publish"], true);
    assert!(publishing["flashver"].as_str().unwrap().starts_with("FMLE/3.0"));
    assert!(publishing["tcUrl"].as_str().unwrap().ends_with("/live"), "{publishing}");
    assert_eq!(publishing["ip"], "127.0.0.1");
    assert_eq!(
        (publishing["app"].as_str(), publishing["name"].as_str()),
        (Some("live"), Some(name.as_str()))
    );
    for kind in ["rtmp-play", "flv-play", "mp4-play"] {
        let player = of_type(&before, kind);
        assert_eq!(player["publish"], false);
        assert!(player["send_bytes"].as_u64() > Some(1000), "{player}");
        assert!(player["alive"].as_f64() > Some(0.0));
    }
    let by_id = get(
        &server,
        &format!(
            "/api/v1/clients/{}",
            of_type(&before, "mp4-play")["id"].as_str().unwrap()
        ),
    );
    assert_eq!(by_id["client"]["type"], "mp4-play");

    // Bytes grow as the stream goes on.
    let bytes = |c: &[Value], kind: &str, field: &str| of_type(c, kind)[field].as_u64().unwrap();
    let recv = bytes(&before, "fmle-publish", "recv_bytes");
    let sent = bytes(&before, "flv-play", "send_bytes");
    wait_until("the counts to grow", || {
        let now = clients_of(&server, &id);
        bytes(&now, "fmle-publish", "recv_bytes") > recv && bytes(&now, "flv-play", "send_bytes") > sent
    });
    let summary = get(&server, "/api/v1/summaries");
    let data = &summary["data"];
    assert!(
        data["connections"].as_u64() >= Some(5),
        "the four and this request: {summary}"
    );
    assert!(
        data["recv_bytes"].as_u64() > Some(recv) && data["send_bytes"].as_u64() > Some(sent),
        "{summary}"
    );
    assert!(data["self"]["mem_kbyte"].as_u64() > Some(0));

    // Kick the RTMP player: its ffmpeg exits, the others play on.
    let kicked = of_type(&before, "rtmp-play")["id"].as_str().unwrap().to_owned();
    let (status, body) = call(&server, "DELETE", &format!("/api/v1/clients/{kicked}"), "");
    assert_eq!((status, body["code"].as_u64()), (200, Some(0)), "{body}");
    rtmp_player.wait();
    let after = clients_of(&server, &id);
    assert!(after.iter().all(|c| c["id"] != kicked.as_str()), "{after:?}");
    assert_eq!(after.len(), 3, "{after:?}");
    let (status, _) = call(&server, "DELETE", &format!("/api/v1/clients/{kicked}"), "");
    assert_eq!(status, 404, "gone");
    assert!(publisher.wait().success(), "the publisher went on");
    assert!(flv_player.wait().success());
    let got = probe(&flv_out);
    let sent = probe(&Sample::LongAudioVideo.path());
    assert_near("the HTTP-FLV player's video", got.video().len(), sent.video().len(), 95);
}

#[test]
fn with_a_token_changes_need_it() {
    let server = http::server(Config {
        access: Access {
            api_token: Some("t0ken".into()),
            ..Access::default()
        },
        ..Config::default()
    });
    let name = unique("kick");
    let player = rustic_rtmp::client::Client::play(
        &url(&server, &format!("live/{name}")),
        &rustic_rtmp::client::ClientOptions::default(),
    )
    .unwrap();
    wait_for_players(&server, "live", &name, 1);
    let id = server.clients()[0].id;
    let path = format!("/api/v1/clients/{id}");
    let (status, body) = call(&server, "DELETE", &path, "");
    assert_eq!((status, body["code"].as_u64()), (401, Some(401)), "{body}");
    let (status, _) = call(&server, "DELETE", &path, "Authorization: Bearer wrong\r\n");
    assert_eq!(status, 401);
    // Reading needs no token.
    get(&server, "/api/v1/clients");
    let (status, _) = call(&server, "DELETE", &path, "Authorization: Bearer t0ken\r\n");
    assert_eq!(status, 200);
    wait_until("the player to be gone", || server.clients().iter().all(|c| c.id != id));
    drop(player);
}
