//! Bad input closes that one connection with a clear reason; other
//! streams flow on without a gap and the server keeps accepting.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::canary::Canary;
use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::client::{Client, ClientOptions};
use rustic_rtmp::media::{Frame, FrameKind};
use rustic_rtmp::protocol::amf0::Amf0Value;
use rustic_rtmp::protocol::chunk::DecoderLimits;
use rustic_rtmp::protocol::message::Message;
use rustic_rtmp::protocol::time::RtmpTime;
use rustic_rtmp::{Config, ServerHandle};
use rustic_rtmp::{Limits, RtmpSettings};

fn config() -> Config {
    Config {
        rtmp: RtmpSettings {
            bind: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        },
        ..Config::default()
    }
}

/// True once the server has closed `socket`; false if it is still open
/// after [`WAIT`].
fn closed(socket: &mut TcpStream) -> bool {
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        match socket.read(&mut buf) {
            Ok(0) => return true,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false;
            }
            Err(e) => panic!("read: {e}"),
            Ok(_) => {}
        }
    }
    false
}

/// A fresh connection through handshake and connect, as a raw socket.
fn connected(server: &ServerHandle) -> RawClient {
    let mut client = RawClient::handshake(server.local_addr());
    client.connect("live");
    client
}

/// The server still serves: a new client can publish and play.
fn assert_still_serving(server: &ServerHandle) {
    let name = unique("after");
    let url = url(server, &format!("live/{name}"));
    let mut player = Client::play(&url, &ClientOptions::default()).unwrap();
    wait_for_players(server, "live", &name, 1);
    let mut publisher = Client::publish(&url, &ClientOptions::default()).unwrap();
    let frame = Frame {
        kind: FrameKind::Video,
        timestamp: RtmpTime(0),
        payload: vec![0x17, 1, 2, 3],
    };
    publisher.send(&frame).unwrap();
    assert_eq!(player.recv().unwrap(), Some(frame));
}

#[test]
fn a_stalled_handshake_is_closed_after_the_timeout() {
    let server = start_server_with(Config {
        rtmp: RtmpSettings {
            handshake_timeout: Duration::from_millis(500),
            ..config().rtmp
        },
        ..config()
    });
    let canary = Canary::start(&server);
    let mut stalled = TcpStream::connect(server.local_addr()).unwrap();
    stalled.write_all(&[3; 700]).unwrap(); // C0 and part of C1, then nothing
    let started = Instant::now();
    assert!(closed(&mut stalled));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "closed only after {:?}",
        started.elapsed()
    );
    assert_still_serving(&server);
    canary.finish();
}

#[test]
fn malformed_chunks_after_the_handshake_close_that_connection() {
    let server = start_server_with(Config {
        rtmp: RtmpSettings {
            decoder: DecoderLimits {
                max_message_len: 1024 * 1024,
                ..Default::default()
            },
            ..config().rtmp
        },
        ..config()
    });
    let canary = Canary::start(&server);
    // Pseudo-random bytes (fixed seed): headers with lengths far past the
    // 1 MiB limit come up within the first few chunks.
    let mut garbage = connected(&server);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let junk: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let _ = garbage.socket.write_all(&junk); // the server may close mid-write
    assert!(closed(&mut garbage.socket));
    // A control message too short to hold its value.
    let mut short = connected(&server);
    short
        .socket
        .write_all(&[0x02, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 1])
        .unwrap();
    assert!(closed(&mut short.socket));
    assert_still_serving(&server);
    canary.finish();
}

#[test]
fn chunk_size_zero_or_two_to_the_31_closes_the_connection() {
    let server = start_server_with(config());
    let canary = Canary::start(&server);
    for size in [0u32, 0x8000_0000] {
        let mut peer = connected(&server);
        // Raw bytes: the encoder would refuse to switch to these sizes.
        let mut bytes = vec![0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0];
        bytes.extend_from_slice(&size.to_be_bytes());
        peer.socket.write_all(&bytes).unwrap();
        assert!(closed(&mut peer.socket), "chunk size {size}");
    }
    assert_still_serving(&server);
    canary.finish();
}

#[test]
fn a_message_longer_than_the_limit_closes_the_connection() {
    let server = start_server_with(Config {
        rtmp: RtmpSettings {
            decoder: DecoderLimits {
                max_message_len: 1024 * 1024,
                ..Default::default()
            },
            ..config().rtmp
        },
        ..config()
    });
    let canary = Canary::start(&server);
    let mut peer = connected(&server);
    // fmt 0 on csid 8: a 16 MiB - 1 video message.
    peer.socket
        .write_all(&[0x08, 0, 0, 0, 0xFF, 0xFF, 0xFF, 9, 1, 0, 0, 0])
        .unwrap();
    assert!(closed(&mut peer.socket));
    assert_still_serving(&server);
    canary.finish();
}

#[test]
fn thousands_of_chunk_stream_ids_close_the_connection() {
    let server = start_server_with(config());
    let canary = Canary::start(&server);
    let mut peer = connected(&server);
    let mut bytes = Vec::new();
    for csid in 64u32..65_600 {
        let id = csid - 64;
        // fmt 0, 3-byte csid, a one-byte audio message
        bytes.extend_from_slice(&[0x01, id as u8, (id >> 8) as u8, 0, 0, 0, 0, 0, 1, 8, 1, 0, 0, 0, 0xAF]);
    }
    let _ = peer.socket.write_all(&bytes); // the server may close before all of it is written
    assert!(closed(&mut peer.socket));
    assert_still_serving(&server);
    canary.finish();
}

#[test]
fn amf0_and_amf3_nested_ten_thousand_deep_drop_only_that_message() {
    let server = start_server_with(config());
    let canary = Canary::start(&server);
    let mut peer = connected(&server);
    // "deep", tx 5, null, then 10 000 nested one-element strict arrays (as
    // raw bytes: building the value itself would overflow the test's stack).
    let mut payload = vec![
        0x02, 0, 4, b'd', b'e', b'e', b'p', 0x00, 0x40, 0x14, 0, 0, 0, 0, 0, 0, 0x05,
    ];
    payload.extend([0x0A, 0, 0, 0, 1].repeat(10_000));
    payload.push(0x05);
    peer.send(3, 0, 0, &Message::Other { type_id: 20, payload });
    // The same in AMF3 behind an AVM+ switch: dense arrays of one item.
    let mut payload = vec![
        0x02, 0, 4, b'd', b'e', b'e', b'p', 0x00, 0x40, 0x14, 0, 0, 0, 0, 0, 0, 0x05, 0x11,
    ];
    payload.extend([0x09, 0x03, 0x01].repeat(10_000));
    payload.push(0x01);
    peer.send(3, 0, 0, &Message::Other { type_id: 20, payload });
    // The connection goes on: a later call is answered.
    peer.call(0, "createStream", 6.0, Amf0Value::Null, vec![]);
    assert_eq!(peer.recv_command("_result").transaction_id, 6.0);
    assert_still_serving(&server);
    canary.finish();
}

#[test]
fn a_publisher_killed_mid_chunk_ends_its_stream_cleanly() {
    let server = start_server_with(config());
    let canary = Canary::start(&server);
    let name = unique("killed");
    let url = url(&server, &format!("live/{name}"));
    let mut player = Client::play(&url, &ClientOptions::default()).unwrap();
    wait_for_players(&server, "live", &name, 1);
    let mut publisher = connected(&server);
    assert_eq!(publisher.publish(&name), "NetStream.Publish.Start");
    publisher.send(7, 1, 0, &Message::Video(vec![0x17, 1, 9, 9]));
    assert_eq!(player.recv().unwrap().map(|f| f.payload), Some(vec![0x17, 1, 9, 9]));
    // Half of a 3000-byte video message, then the socket is gone.
    publisher
        .socket
        .write_all(&[0x07, 0, 0, 40, 0, 0x0B, 0xB8, 9, 1, 0, 0, 0])
        .unwrap();
    publisher.socket.write_all(&[0x27; 100]).unwrap();
    drop(publisher);
    assert_eq!(player.recv().unwrap(), None, "the player hears StreamEOF");
    wait_until("the stream to be free", || {
        stream_stats(&server, "live", &name).is_some_and(|s| !s.publishing)
    });
    // The name can be published again and the same player gets it.
    let mut again = Client::publish(&url, &ClientOptions::default()).unwrap();
    let frame = Frame {
        kind: FrameKind::Video,
        timestamp: RtmpTime(0),
        payload: vec![0x17, 1, 7],
    };
    again.send(&frame).unwrap();
    // On the player's timeline: 40 ms after the last frame it got.
    let rebased = Frame {
        timestamp: RtmpTime(40),
        ..frame
    };
    assert_eq!(player.recv().unwrap(), Some(rebased));
    canary.finish();
}

#[test]
fn connections_past_the_limit_are_closed_at_once() {
    let server = start_server_with(Config {
        limits: Limits {
            max_connections: 3,
            ..config().limits
        },
        ..config()
    });
    let canary = Canary::start(&server); // two connections
    let mut third = connected(&server);
    let mut fourth = TcpStream::connect(server.local_addr()).unwrap();
    assert!(closed(&mut fourth), "the fourth connection was kept");
    // The ones inside the limit still work.
    third.call(0, "createStream", 2.0, Amf0Value::Null, vec![]);
    assert_eq!(third.recv_command("_result").transaction_id, 2.0);
    drop(third);
    wait_until("the third connection to close", || server.stats().connections == 2);
    connected(&server);
    canary.finish();
}

#[test]
fn a_panic_in_a_connection_thread_ends_only_that_connection() {
    let server = start_server_with(Config {
        rtmp: RtmpSettings {
            panic_after_publish_to_app: Some("boom".into()),
            ..config().rtmp
        },
        ..config()
    });
    let canary = Canary::start(&server);
    let name = unique("panics");
    let url = url(&server, &format!("boom/{name}"));
    let mut player = Client::play(&url, &ClientOptions::default()).unwrap();
    wait_for_players(&server, "boom", &name, 1);
    let connections = server.stats().connections;
    // The publisher's thread panics once its publish is accepted.
    assert!(Client::publish(&url, &ClientOptions::default()).is_err());
    wait_until("the panicked connection to be gone", || {
        server.stats().connections == connections
    });
    // Its guards ran while unwinding: the name is free again, the player
    // heard StreamEOF and stays.
    wait_until("the stream to be free", || {
        stream_stats(&server, "boom", &name).is_some_and(|s| !s.publishing)
    });
    assert_eq!(player.recv().unwrap(), None, "StreamEOF");
    assert_still_serving(&server);
    canary.finish();
}

/// Far below `max_connections`: what it shows is that idle sockets do not
/// crowd out real clients, not where the limit lies (see hardening.rs f8).
#[test]
fn real_clients_are_served_beside_fifteen_hundred_idle_sockets() {
    // A long handshake timeout, so they all stay open while the real
    // clients come.
    let server = start_server_with(Config {
        rtmp: RtmpSettings {
            handshake_timeout: Duration::from_secs(120),
            ..config().rtmp
        },
        ..config()
    });
    let idle: Vec<TcpStream> = (0..1500)
        .map(|_| TcpStream::connect(server.local_addr()).expect("the server accepts"))
        .collect();
    wait_until("all idle connections accepted", || {
        server.stats().connections >= idle.len()
    });
    let canary = Canary::start(&server);
    assert_still_serving(&server);
    canary.finish();
    drop(idle);
}
