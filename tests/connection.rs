//! Handshake tolerance, bad peers and shutdown, over real sockets.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::rtmp::RawClient;
use common::*;
use rustic_rtmp::protocol::amf0::Amf0Value;
use rustic_rtmp::protocol::chunk::ChunkEncoder;
use rustic_rtmp::protocol::command::Command;
use rustic_rtmp::protocol::handshake::{Handshake, Progress, Scheme};
use rustic_rtmp::protocol::message::{Message, UserControl};
use rustic_rtmp::protocol::time::RtmpTime;

#[test]
fn short_reads_and_a_command_in_the_same_write_as_c2() {
    let server = start_server();
    let mut socket = TcpStream::connect(server.local_addr()).unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let mut handshake = Handshake::client(0, &[3; 1528], Scheme::Simple);
    // C0+C1 dribbled out in small writes, as a slow link delivers them.
    for piece in handshake.take_output().chunks(100) {
        socket.write_all(piece).unwrap();
        socket.flush().unwrap();
    }
    let mut buf = [0u8; 4096];
    loop {
        let n = socket.read(&mut buf).unwrap();
        assert!(n > 0, "closed during the handshake");
        if let Progress::Done { leftover } = handshake.push(&buf[..n]).unwrap() {
            assert!(leftover.is_empty());
            break;
        }
    }
    // C2 and the connect command in one write.
    let mut bytes = handshake.take_output();
    let connect = Command::new(
        "connect",
        1.0,
        Amf0Value::object([("app", Amf0Value::string("live"))]),
        vec![],
    );
    ChunkEncoder::new().encode(3, RtmpTime(0), 0, &Message::Command(connect), &mut bytes);
    socket.write_all(&bytes).unwrap();
    let mut client = RawClient::after_handshake(socket, &[]);
    assert_eq!(client.recv_command("_result").transaction_id, 1.0);
}

#[test]
fn garbage_instead_of_a_handshake_closes_only_that_connection() {
    let server = start_server();
    let mut healthy = RawClient::handshake(server.local_addr());
    healthy.connect("live");

    let mut bad = TcpStream::connect(server.local_addr()).unwrap();
    bad.set_read_timeout(Some(WAIT)).unwrap();
    bad.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut buf = [0u8; 16];
    let closed = matches!(bad.read(&mut buf), Ok(0) | Err(_));
    assert!(closed, "the server answered garbage");

    // The first connection still works, and new ones are accepted.
    healthy.call(0, "createStream", 7.0, Amf0Value::Null, vec![]);
    assert_eq!(healthy.recv_command("_result").transaction_id, 7.0);
    RawClient::handshake(server.local_addr()).connect("live");
}

#[test]
fn shutdown_closes_every_connection_and_stops_accepting() {
    let mut server = start_server();
    let addr = server.local_addr();
    let name = unique("bye");
    let mut player = RawClient::handshake(addr);
    player.connect("live");
    player.play(&name);
    // `play` only sends the command: wait until the server has subscribed
    // the player, or shutdown may come first and owe it no StreamEOF.
    wait_for_players(&server, "live", &name, 1);
    let mut idle = TcpStream::connect(addr).unwrap(); // stuck before the handshake
    wait_until("both connections registered", || server.stats().connections == 2);

    let started = Instant::now();
    server.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert_eq!(server.stats().connections, 0);
    player.recv_until("StreamEOF before the close", |m| {
        matches!(m, Message::UserControl(UserControl::StreamEof(1)))
    });
    assert!(player.closed_by_server());
    idle.set_read_timeout(Some(WAIT)).unwrap();
    assert!(matches!(idle.read(&mut [0u8; 1]), Ok(0) | Err(_)));
    assert!(TcpStream::connect(addr).is_err(), "still accepting after shutdown");
}

#[test]
fn set_chunk_size_before_connect_as_obs_sends_it() {
    let server = start_server();
    let mut client = RawClient::handshake(server.local_addr());
    // Sending it switches our encoder to 4096 too.
    client.send(2, 0, 0, &Message::SetChunkSize(4096));
    // A connect far longer than 128 bytes, in one 4096-byte chunk.
    let object = Amf0Value::object([
        ("app", Amf0Value::string("live")),
        ("flashVer", Amf0Value::string("FMLE/3.0 (compatible; FMSc/1.0)")),
        (
            "tcUrl",
            Amf0Value::string(format!("rtmp://127.0.0.1/live/{}", "x".repeat(300))),
        ),
    ]);
    client.call(0, "connect", 1.0, object, vec![]);
    assert_eq!(client.recv_command("_result").transaction_id, 1.0);
}

#[test]
fn acknowledges_each_window_of_received_bytes() {
    let server = start_server();
    let mut client = RawClient::handshake(server.local_addr());
    client.connect("live");
    client.send(2, 0, 0, &Message::WindowAckSize(1000));
    // About 2 KB of notifications: past the 1000-byte window.
    for tx in 0..60 {
        client.call(0, "ping", 0.0, Amf0Value::Null, vec![Amf0Value::Number(tx as f64)]);
    }
    let ack = client.recv_until("an acknowledgement", |m| matches!(m, Message::Acknowledgement(_)));
    let Message::Acknowledgement(sequence) = ack else {
        unreachable!()
    };
    assert!(sequence >= 1000, "acknowledged {sequence} bytes");
}
