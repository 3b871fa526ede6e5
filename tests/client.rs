//! The library's client, as a load tool uses it: a non-blocking player
//! polled for whatever has arrived.

mod common;

use common::*;
use rustic_rtmp::client::{Client, ClientOptions};

const FRAMES: u32 = 40;

#[test]
fn a_polled_player_gets_every_frame_in_order() {
    let server = start_server();
    let name = unique("poll");
    let url = url(&server, &format!("live/{name}"));
    let mut player = Client::play(&url, &ClientOptions::default()).unwrap();
    player.set_nonblocking(true).unwrap();
    let mut frames = Vec::new();
    assert_eq!(player.poll(&mut frames).unwrap(), 0, "nothing published yet");
    assert!(frames.is_empty());

    let mut publisher = Client::publish(&url, &ClientOptions::default()).unwrap();
    // 100 KB frames: more than one read's worth, so a poll reads on until
    // the socket is empty and frames span reads.
    for i in 0..FRAMES {
        publisher.send(&numbered_frame(i, i == 0, i * 40, 100 * 1000)).unwrap();
    }

    let mut got = Vec::new();
    let mut bytes = 0;
    wait_until("every frame to be polled", || {
        frames.clear();
        bytes += player.poll(&mut frames).unwrap();
        for frame in &frames {
            assert_eq!(frame.payload.len(), 100 * 1000);
            got.push(frame_number(frame));
        }
        got.len() >= FRAMES as usize
    });
    assert_eq!(got, (0..FRAMES).collect::<Vec<_>>());
    assert!(bytes > FRAMES as usize * 100 * 1000, "{bytes} bytes counted");
}
