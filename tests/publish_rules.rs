//! Who publishes: conflicts, republishing, refused names.

mod common;

use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::protocol::amf0::Amf0Value;
use rustic_rtmp::protocol::message::{Message, UserControl};

#[test]
fn second_publisher_gets_bad_name_and_the_first_is_untouched() {
    let server = start_server();
    let scratch = Scratch::new("conflict");
    let name = unique("taken");
    let url = url(&server, &format!("live/{name}"));
    let out = scratch.path("out.flv");
    let mut player = play(&url, &out);
    wait_for_players(&server, "live", &name, 1);
    let mut first = publish(&Sample::LongAudioVideo.path(), &url, &[]);
    wait_until("the first publisher is live", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.publishing && s.frames > 0)
    });

    let mut raw = RawClient::handshake(server.local_addr());
    raw.connect("live");
    assert_eq!(raw.publish(&name), "NetStream.Publish.BadName");
    assert!(raw.closed_by_server(), "a refused publisher is disconnected");

    let second = publish(&Sample::AudioVideo.path(), &url, &[]).wait_output();
    assert!(!second.status.success(), "ffmpeg's second publish should fail");
    assert!(
        stderr(&second).contains("already being published"),
        "{}",
        stderr(&second)
    );

    assert!(first.wait().success(), "the first publisher was disturbed");
    player.wait();
    let got = probe(&out);
    assert_near(
        "video",
        got.video().len(),
        probe(&Sample::LongAudioVideo.path()).video().len(),
        95,
    );
    got.assert_monotonic();
}

#[test]
fn players_stay_through_a_republish_and_get_stream_eof_not_unpublish_notify() {
    let server = start_server();
    let scratch = Scratch::new("republish");
    let name = unique("again");
    let url = url(&server, &format!("live/{name}"));
    let out = scratch.path("out.flv");
    let mut player = play(&url, &out);
    let mut raw = RawClient::handshake(server.local_addr());
    raw.connect("live");
    raw.play(&name);
    wait_for_players(&server, "live", &name, 2);

    assert!(publish(&Sample::AudioVideo.path(), &url, &[]).wait().success());
    let mut statuses = Vec::new();
    raw.recv_until("StreamEOF", |m| {
        if let Message::Command(c) = m
            && c.name == "onStatus"
        {
            statuses.push(
                c.args[0]
                    .property("code")
                    .and_then(Amf0Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            );
        }
        matches!(m, Message::UserControl(UserControl::StreamEof(1)))
    });
    assert!(
        !statuses.iter().any(|s| s.contains("Unpublish")),
        "players were told {statuses:?}"
    );
    wait_until("the stream to have no publisher", || {
        stream_stats(&server, "live", &name).is_some_and(|s| !s.publishing && s.players == 2)
    });
    assert!(player.is_running(), "ffmpeg player quit when the publisher left");

    assert!(publish(&Sample::AudioVideo.path(), &url, &[]).wait().success());
    player.wait();
    let got = probe(&out);
    let once = probe(&Sample::AudioVideo.path()).video().len();
    assert_near("video over two publishes", got.video().len(), 2 * once, 95);
}

#[test]
fn an_empty_stream_name_is_refused_with_a_status() {
    let server = start_server();
    let mut raw = RawClient::handshake(server.local_addr());
    raw.connect("live");
    assert_eq!(raw.publish(""), "NetStream.Publish.BadName");
    assert!(raw.closed_by_server());

    let refused = publish(&Sample::AudioVideo.path(), &url(&server, "live/"), &[]).wait_output();
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("stream name is empty"),
        "{}",
        stderr(&refused)
    );

    // The server is unharmed: a normal publish works.
    let name = unique("after");
    let mut ok = RawClient::handshake(server.local_addr());
    ok.connect("live");
    assert_eq!(ok.publish(&name), "NetStream.Publish.Start");
}
