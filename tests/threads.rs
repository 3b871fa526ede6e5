//! One thread and one descriptor per connection, publisher or player,
//! counted from outside: the real binary's /proc/PID/task and /proc/PID/fd.

mod common;

use common::binary::Binary;
use common::*;
use rustic_rtmp::client::{Client, ClientOptions};

const PLAYERS: usize = 20;

fn threads(server: &Binary) -> usize {
    std::fs::read_dir(format!("/proc/{}/task", server.pid()))
        .unwrap()
        .count()
}

#[test]
fn each_connection_costs_one_thread_and_one_descriptor() {
    let server = Binary::start(&[]);
    let (threads_before, files_before) = (threads(&server), server.open_files());
    let url = server.url(&format!("live/{}", unique("threads")));
    let options = ClientOptions::default();
    let mut publisher = Client::publish(&url, &options).unwrap();
    publisher.send(&numbered_frame(0, true, 0, 100)).unwrap();
    let mut players: Vec<_> = (0..PLAYERS).map(|_| Client::play(&url, &options).unwrap()).collect();
    // Each got the cached keyframe: every connection is fully set up.
    for player in &mut players {
        let frame = player.recv().unwrap().expect("the cached keyframe");
        assert_eq!(frame_number(&frame), 0);
    }
    assert_eq!(threads(&server) - threads_before, PLAYERS + 1, "threads");
    assert_eq!(server.open_files() - files_before, PLAYERS + 1, "descriptors");
    drop(players);
    drop(publisher);
    wait_until("every connection's thread and descriptor to go", || {
        threads(&server) == threads_before && server.open_files() == files_before
    });
}
