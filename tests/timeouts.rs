//! Dead players are found with pings; publishers that stop sending media
//! are closed. Peers that answer pings stay, however long they wait.

mod common;

use std::time::Duration;

use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::Config;
use rustic_rtmp::RtmpSettings;
use rustic_rtmp::client::{Client, ClientOptions};
use rustic_rtmp::media::{Frame, FrameKind};
use rustic_rtmp::protocol::message::Message;
use rustic_rtmp::protocol::time::RtmpTime;

fn config() -> Config {
    Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ping_interval: Duration::from_millis(300),
            idle_publisher_timeout: Duration::from_millis(600),
            ..Default::default()
        },
        ..Config::default()
    }
}

#[test]
fn a_player_that_never_answers_pings_is_closed_one_that_does_stays() {
    let server = start_server_with(config());
    let name = unique("ping");
    let url = url(&server, &format!("live/{name}"));
    // Answers pings from inside recv(), as ffmpeg and librtmp do.
    let mut alive = Client::play(&url, &ClientOptions::default()).unwrap();
    let alive_thread = std::thread::spawn(move || alive.recv().map(|f| f.map(|f| f.payload)));
    let mut dead = RawClient::handshake(server.local_addr());
    dead.connect("live");
    dead.play(&name);
    wait_for_players(&server, "live", &name, 2);
    // From here `dead` reads nothing and answers nothing.
    wait_until("the silent player to be closed", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.players == 1)
    });
    // The answering player is still subscribed and gets the stream.
    let mut publisher = Client::publish(&url, &ClientOptions::default()).unwrap();
    let frame = Frame {
        kind: FrameKind::Video,
        timestamp: RtmpTime(0),
        payload: vec![0x17, 1, 5],
    };
    publisher.send(&frame).unwrap();
    assert_eq!(alive_thread.join().unwrap().unwrap(), Some(vec![0x17, 1, 5]));
}

#[test]
fn a_publisher_that_stops_sending_media_is_closed() {
    // Pings far off, so only the idle-publisher rule can close it.
    let server = start_server_with(Config {
        rtmp: RtmpSettings {
            ping_interval: Duration::from_secs(60),
            ..config().rtmp
        },
        ..config()
    });
    let name = unique("idle");
    let url = url(&server, &format!("live/{name}"));
    let mut player = Client::play(&url, &ClientOptions::default()).unwrap();
    wait_for_players(&server, "live", &name, 1);
    // A raw publisher that answers nothing: after one frame it goes quiet.
    let mut publisher = RawClient::handshake(server.local_addr());
    publisher.connect("live");
    assert_eq!(publisher.publish(&name), "NetStream.Publish.Start");
    publisher.send(7, 1, 0, &Message::Video(vec![0x17, 1, 1]));
    assert!(player.recv().unwrap().is_some());
    // The player hears StreamEOF when the idle publisher is closed.
    assert_eq!(player.recv().unwrap(), None);
    assert!(publisher.closed_by_server());
    assert!(!stream_stats(&server, "live", &name).unwrap().publishing);
}
