//! A player that stops reading loses frames up to the next keyframe and is
//! disconnected once it stays behind; the publisher and the other players
//! see nothing of it.

mod common;

use std::time::Duration;

use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::Config;
use rustic_rtmp::client::{Client, ClientOptions};
use rustic_rtmp::media::{Frame, FrameKind};
use rustic_rtmp::protocol::time::RtmpTime;

const FRAMES: u32 = 1000;

#[test]
fn a_stalled_player_is_dropped_and_the_others_get_everything() {
    let server = start_server_with(Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        player_queue_len: 256,
        slow_player_max_dropped: 50,
        write_timeout: Duration::from_secs(2),
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
            got.push(u32::from_be_bytes(frame.payload[2..6].try_into().unwrap()));
        }
        got
    });
    let mut publisher = Client::publish(&url, &ClientOptions::default()).unwrap();
    // 1000 frames of 32 KB, a keyframe every 10: about 32 MB, far more than the
    // loopback socket buffers hold for the stalled player.
    for i in 0..FRAMES {
        let mut payload = vec![if i % 10 == 0 { 0x17 } else { 0x27 }, 1];
        payload.extend_from_slice(&i.to_be_bytes());
        payload.resize(32 * 1024, i as u8);
        let frame = Frame {
            kind: FrameKind::Video,
            timestamp: RtmpTime(i * 40),
            payload,
        };
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
