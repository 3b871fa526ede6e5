//! The server's memory stays bounded whatever peers announce: its own test
//! binary, so no other test's allocations blur the numbers.

mod common;

use std::io::{Read, Write};

use common::canary::Canary;
use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::Config;

/// Resident memory of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn peers_announcing_huge_messages_cannot_grow_memory_past_the_limits() {
    const PEERS: usize = 20;
    let server = start_server_with(Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        max_buffered_bytes: 2 * 1024 * 1024,
        ..Config::default()
    });
    let canary = Canary::start(&server);
    let before = rss_kib();
    // Each peer starts a 16 MiB - 1 message on eight chunk streams and
    // feeds them until the server stops reading: past 2 MiB it must close.
    let peers: Vec<RawClient> = (0..PEERS)
        .map(|_| {
            let mut peer = RawClient::handshake(server.local_addr());
            peer.connect("live");
            peer.send(2, 0, 0, &rustic_rtmp::protocol::message::Message::SetChunkSize(65_536));
            peer
        })
        .collect();
    for mut peer in peers {
        let mut sent = 0usize;
        'feed: for round in 0..16 {
            for csid in 3u8..11 {
                let mut chunk = if round == 0 {
                    vec![csid, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0]
                } else {
                    vec![0xC0 | csid]
                };
                chunk.resize(chunk.len() + 65_536, 0x5A);
                if peer.socket.write_all(&chunk).is_err() {
                    break 'feed;
                }
                sent += chunk.len();
            }
        }
        // 8 MiB offered; the server must have closed after about 2 MiB.
        peer.socket.set_read_timeout(Some(WAIT)).unwrap();
        let mut rest = Vec::new();
        let end = peer.socket.read_to_end(&mut rest);
        let closed = end.is_ok() || end.is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset);
        assert!(closed, "the server kept a peer that buffered {sent} bytes");
    }
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    // 20 peers x 2 MiB of partial messages at most were ever held at once
    // by one peer; allow for allocator slack.
    assert!(grown_mib < 64, "memory grew by {grown_mib} MiB");
    canary.finish();
}
