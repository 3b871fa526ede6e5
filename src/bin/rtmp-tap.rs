//! `rtmp-tap`: forwards publishers' connections to an RTMP server and
//! logs when each audio and video message went through, so `rtmp-load`
//! can time publish-to-player latency against the moment the server got
//! each message rather than against the publisher's own timestamps (which
//! ffmpeg's muxer releases up to a frame late). Used by `scripts/bench.sh`.
//!
//! Each line of the log is `TYPE TIMESTAMP UNIX_MICROS LENGTH`: the RTMP
//! message type (8 audio, 9 video), its timestamp in ms, when its last byte
//! was handed to the server's socket, and its payload's length (for
//! `rtmp-load` to tell what share of the published payload each player
//! got).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use argh::FromArgs;
use rustic_rtmp::protocol::chunk::{ChunkDecoder, DecoderLimits};
use rustic_rtmp::protocol::handshake::PACKET_SIZE;
use rustic_rtmp::protocol::message::type_id;

/// Forward RTMP connections and log when media messages pass.
#[derive(FromArgs)]
struct Args {
    /// address to accept publishers on, e.g. 127.0.0.1:19350
    #[argh(option)]
    listen: String,
    /// the server's address
    #[argh(option)]
    to: String,
    /// file to append `TYPE TIMESTAMP UNIX_MICROS LENGTH` lines to
    #[argh(option)]
    stamps: String,
}

/// C0 (the version byte), C1 and C2: what a client sends before its first
/// chunk.
const CLIENT_HANDSHAKE_LEN: usize = 1 + 2 * PACKET_SIZE;

fn main() -> ExitCode {
    let args: Args = argh::from_env();
    let (listener, stamps) = match (TcpListener::bind(&args.listen), File::create(&args.stamps)) {
        (Ok(l), Ok(f)) => (l, Arc::new(Mutex::new(BufWriter::new(f)))),
        (Err(e), _) => return fail(&format!("listen on {}: {e}", args.listen)),
        (_, Err(e)) => return fail(&format!("create {}: {e}", args.stamps)),
    };
    for client in listener.incoming() {
        let Ok(client) = client else { continue };
        let (to, stamps) = (args.to.clone(), stamps.clone());
        std::thread::spawn(move || {
            if let Err(e) = forward(client, &to, &stamps) {
                eprintln!("rtmp-tap: {e}");
            }
        });
    }
    ExitCode::SUCCESS
}

fn fail(why: &str) -> ExitCode {
    eprintln!("rtmp-tap: {why}");
    ExitCode::FAILURE
}

fn forward(mut client: TcpStream, to: &str, stamps: &Mutex<BufWriter<File>>) -> io::Result<()> {
    let mut server = TcpStream::connect(to)?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (mut back_from, mut back_to) = (server.try_clone()?, client.try_clone()?);
    std::thread::spawn(move || {
        let _ = io::copy(&mut back_from, &mut back_to);
        let _ = back_to.shutdown(Shutdown::Write);
    });
    let mut decoder = ChunkDecoder::new(DecoderLimits::default());
    let mut handshake_left = CLIENT_HANDSHAKE_LEN;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = client.read(&mut buf)?;
        if n == 0 {
            return server.shutdown(Shutdown::Write);
        }
        server.write_all(&buf[..n])?;
        let sent = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros();
        let skip = handshake_left.min(n);
        handshake_left -= skip;
        decoder.push(&buf[skip..n]);
        let mut stamps = stamps.lock().expect("stamp log");
        while let Some(message) = decoder.next_message().map_err(io::Error::other)? {
            if matches!(message.type_id, type_id::AUDIO | type_id::VIDEO) {
                let (kind, ts, len) = (message.type_id, message.timestamp.0, message.payload.len());
                writeln!(stamps, "{kind} {ts} {sent} {len}")?;
            }
        }
        stamps.flush()?;
    }
}
