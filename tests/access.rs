//! Who may publish and play: keys in the stream name, a keys file re-read
//! on change, address lists. A refused client hears why before any
//! Publish.Start, then the connection closes.

mod common;

use std::fs;
use std::time::{Duration, SystemTime};

use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::RtmpSettings;
use rustic_rtmp::{Access, Config};

fn server_with(access: Access) -> rustic_rtmp::ServerHandle {
    start_server_with(Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
        access,
        ..Config::default()
    })
}

/// Publishes with a raw client: the status code, and whether the server
/// then closed the connection.
fn try_publish(server: &rustic_rtmp::ServerHandle, name: &str) -> (String, bool) {
    let mut client = RawClient::handshake(server.local_addr());
    client.connect("live");
    let code = client.publish(name);
    let closed = code != "NetStream.Publish.Start" && client.closed_by_server();
    (code, closed)
}

#[test]
fn publish_key_is_checked_before_publish_start() {
    let server = server_with(Access {
        publish_key: Some("s3cret".into()),
        ..Access::default()
    });
    let name = unique("keyed");
    assert_eq!(try_publish(&server, &name), ("NetStream.Publish.Denied".into(), true));
    assert_eq!(
        try_publish(&server, &format!("{name}?key=wrong")),
        ("NetStream.Publish.Denied".into(), true)
    );
    assert_eq!(
        try_publish(&server, &format!("{name}?key=s3cret")).0,
        "NetStream.Publish.Start"
    );

    // ffmpeg fails with the server's reason, which never shows the key.
    let refused = publish(
        &Sample::AudioVideo.path(),
        &url(&server, &format!("live/{name}x?key=nope")),
        &[],
    )
    .wait_output();
    assert!(!refused.status.success());
    let log = stderr(&refused);
    assert!(log.contains("needs a valid key") && !log.contains("s3cret"), "{log}");
    let ok = publish(
        &Sample::AudioVideo.path(),
        &url(&server, &format!("live/{name}y?key=s3cret")),
        &["-t", "0.5"],
    );
    assert!(ok.wait_output().status.success());
}

#[test]
fn keys_file_lists_publishable_names_and_is_read_again_on_change() {
    let scratch = Scratch::new("keys");
    let file = scratch.path("keys.txt");
    let (listed, later) = (unique("listed"), unique("later"));
    fs::write(&file, format!("# who may publish\n{listed}\n")).unwrap();
    let server = server_with(Access {
        publish_keys_file: Some(file.clone()),
        ..Access::default()
    });
    assert_eq!(try_publish(&server, &listed).0, "NetStream.Publish.Start");
    assert_eq!(try_publish(&server, &later).0, "NetStream.Publish.Denied");
    fs::write(&file, format!("{listed}\nlive/{later}\n")).unwrap();
    // Make the change visible even on file systems with coarse time stamps.
    let f = fs::File::options().write(true).open(&file).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(2)).unwrap();
    assert_eq!(try_publish(&server, &later).0, "NetStream.Publish.Start");
}

#[test]
fn address_lists_refuse_publish_and_play() {
    let server = server_with(Access {
        deny_publish: vec!["127.0.0.0/8".parse().unwrap()],
        allow_play: vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        ..Access::default()
    });
    assert_eq!(
        try_publish(&server, &unique("denied")),
        ("NetStream.Publish.Denied".into(), true)
    );
    let mut player = RawClient::handshake(server.local_addr());
    player.connect("live");
    player.play(&unique("p"));
    assert_eq!(player.recv_status_code(), "NetStream.Play.Failed");
    assert!(player.closed_by_server());

    // The same lists the other way round let this peer in.
    let server = server_with(Access {
        allow_publish: vec!["127.0.0.0/8".parse().unwrap()],
        deny_publish: vec!["10.0.0.0/8".parse().unwrap()],
        allow_play: vec!["127.0.0.1".parse().unwrap()],
        deny_play: vec!["::1/128".parse().unwrap()],
        ..Access::default()
    });
    let name = unique("allowed");
    assert_eq!(try_publish(&server, &name).0, "NetStream.Publish.Start");
    let mut player = RawClient::handshake(server.local_addr());
    player.connect("live");
    player.play(&name);
    assert_eq!(player.recv_status_code(), "NetStream.Play.Reset");
}

#[test]
fn play_key_is_checked() {
    let server = server_with(Access {
        play_key: Some("watch".into()),
        ..Access::default()
    });
    let name = unique("pk");
    let play_status = |query: &str| {
        let mut player = RawClient::handshake(server.local_addr());
        player.connect("live");
        player.play(&format!("{name}{query}"));
        // The first status is Play.Reset on success, Play.Failed otherwise.
        player.recv_status_code()
    };
    assert_eq!(play_status(""), "NetStream.Play.Failed");
    assert_eq!(play_status("?key=watch"), "NetStream.Play.Reset");
}

#[test]
fn adobe_authentication_with_ffmpeg_credentials() {
    let server = server_with(Access {
        users: vec![("alice".into(), "wonder".into())],
        ..Access::default()
    });
    let addr = server.local_addr();
    let sample = Sample::AudioVideo.path();
    let name = unique("auth");
    let url_as = |credentials: &str, name: &str| format!("rtmp://{credentials}{addr}/live/{name}");

    // ffmpeg answers the authmod=adobe challenge over its reconnects.
    let ok = publish(&sample, &url_as("alice:wonder@", &name), &["-t", "1"]).wait_output();
    assert!(ok.status.success(), "{}", stderr(&ok));

    let wrong = publish(&sample, &url_as("alice:guess@", &unique("w")), &[]).wait_output();
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("Incorrect username/password"),
        "{}",
        stderr(&wrong)
    );

    let anonymous = publish(&sample, &url_as("", &unique("a")), &[]).wait_output();
    assert!(!anonymous.status.success());
    assert!(stderr(&anonymous).contains("authmod=adobe"), "{}", stderr(&anonymous));

    // Players are not asked to log in.
    rustic_rtmp::client::Client::play(&url_as("", &name), &rustic_rtmp::client::ClientOptions::default())
        .expect("a player connects without credentials");
}
