//! A player that stops reading loses frames up to the next keyframe and is
//! disconnected once it stays behind; the publisher and the other players
//! see nothing of it.

mod common;

use std::time::Duration;

use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::Config;
use rustic_rtmp::client::{Client, ClientOptions};
use rustic_rtmp::{Limits, PlayerSettings, RtmpSettings, StreamSettings};

const FRAMES: u32 = 1000;

#[test]
fn a_stalled_player_is_dropped_and_the_others_get_everything() {
    let server = start_server_with(Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
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
    let name = unique("slow");
    let url = url(&server, &format!("live/{name}"));

    let mut healthy = Client::play(&url, &ClientOptions::default()).unwrap();
    let mut stalled = RawClient::handshake(server.local_addr());
    stalled.connect("live");
    stalled.play(&name);
    wait_for_players(&server, "live", &name, 2);
    // From here on `stalled` never reads.

    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        while let Ok(Some(frame)) = healthy.recv() {
            got.push(frame_number(&frame));
        }
        got
    });
    let mut publisher = Client::publish(&url, &ClientOptions::default()).unwrap();
    // 1000 frames of 32 KB, a keyframe every 10: about 32 MB, far more than the
    // loopback socket buffers hold for the stalled player.
    for i in 0..FRAMES {
        let frame = numbered_frame(i, i % 10 == 0, i * 40, 32 * 1024);
        publisher.send(&frame).expect("the publisher is never held up");
        std::thread::sleep(Duration::from_millis(1));
    }
    wait_until("the stalled player to be dropped", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.players == 1 && s.dropped > 0)
    });
    wait_until("its connection to close", || server.stats().connections == 2);
    drop(publisher);
    let got = reader.join().unwrap();
    assert_eq!(got, (0..FRAMES).collect::<Vec<_>>(), "the healthy player lost frames");
    drop(stalled);
}
