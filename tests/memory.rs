//! Memory stays bounded whatever publishers announce: concurrent peers
//! against the real binary with its default limits, measured in the
//! server process (`VmHWM`).

mod common;

use common::binary::Binary;
use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::protocol::message::Message;

#[test]
fn concurrent_publishers_announcing_huge_messages_stay_within_the_server_wide_budget() {
    const PEERS: usize = 40;
    let mut server = Binary::start(&[]);
    let canary = server.canary();
    let before = server.peak_kib();
    // Each publisher starts a 16 MiB - 1 message on eight chunk streams and
    // feeds them (64 MiB offered): it may hold 32 MiB (the per-connection
    // limit), and all of them together 512 MiB (the server-wide one).
    let peers: Vec<std::thread::JoinHandle<bool>> = (0..PEERS)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut peer = RawClient::handshake(addr);
                peer.connect("live");
                assert_eq!(peer.publish(&unique("huge")), "NetStream.Publish.Start");
                peer.send(2, 0, 0, &Message::SetChunkSize(65_536));
                peer.hold_unfinished(65_536, 0xFF_FFFF, 3..11, 64 << 20);
                peer.closed_by_server()
            })
        })
        .collect();
    for peer in peers {
        assert!(peer.join().unwrap(), "the server kept a peer past its limits");
    }
    let grown_mib = (server.peak_kib() - before) / 1024;
    eprintln!("memory: peak grew {grown_mib} MiB for {PEERS} publishers");
    // Without the server-wide budget 40 peers would hold 1280 MiB.
    assert!(grown_mib <= 512 + 64, "peak grew by {grown_mib} MiB");
    server.assert_unharmed(canary);
}
