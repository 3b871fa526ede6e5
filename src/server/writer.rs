//! The writer thread: control replies and shared media chunks to the socket.
//!
//! It owns the write half and the `ChunkEncoder`. After each wake it drains
//! every ready control message first, then up to [`MAX_BATCH`] media chunks,
//! and hands them to the kernel in one vectored write.

use std::io::{self, IoSlice, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_channel::{Receiver, never, select};

use super::stream::Chunks;
use crate::protocol::chunk::ChunkEncoder;
use crate::session::Outbound;

/// Media chunks per vectored write; well under IOV_MAX (1024).
const MAX_BATCH: usize = 64;

/// Runs until the reader drops the control sender (after the last queued
/// message is written) or a write fails.
/// `hang_up` is set by the stream when this player fell too far behind; the
/// writer then stops (and the caller shuts the socket). With a non-zero
/// `merge`, the writer waits that long after the first media message for
/// more, so one write carries several: fewer wake-ups and system calls per
/// byte, for at most `merge` of added latency.
pub(crate) fn run(
    socket: &TcpStream,
    control: Receiver<Outbound>,
    mut media: Receiver<Chunks>,
    hang_up: &AtomicBool,
    merge: Duration,
) -> io::Result<()> {
    let mut encoder = ChunkEncoder::new();
    let mut control_bytes = Vec::with_capacity(4096);
    let mut batch: Vec<Chunks> = Vec::with_capacity(MAX_BATCH);
    let encode = |encoder: &mut ChunkEncoder, out: &mut Vec<u8>, o: Outbound| {
        encoder.encode(o.csid, o.timestamp, o.stream_id, &o.message, out);
    };
    loop {
        select! {
            recv(control) -> message => match message {
                Ok(o) => encode(&mut encoder, &mut control_bytes, o),
                // The reader is done and everything it queued is written;
                // flush what the stream queued last (a StreamEOF at
                // shutdown) and stop.
                Err(_) => {
                    batch.extend(media.try_iter().take(MAX_BATCH));
                    return write_all(socket, &[], &batch);
                }
            },
            recv(media) -> chunks => match chunks {
                Ok(chunks) => batch.push(chunks),
                // The reader let go of its media sender first; the control
                // queue may still hold a last reply, so keep serving it.
                Err(_) => media = never(),
            },
        }
        // Control first: replies queued before a play must reach the player
        // before the cached frames the play queued.
        while let Ok(o) = control.try_recv() {
            encode(&mut encoder, &mut control_bytes, o);
        }
        while batch.len() < MAX_BATCH {
            match media.try_recv() {
                Ok(chunks) => batch.push(chunks),
                Err(_) => break,
            }
        }
        if !merge.is_zero() && !batch.is_empty() && batch.len() < MAX_BATCH {
            // Sleep rather than wait on the channel: a waiting receiver is
            // woken by every send, which is the cost merging saves.
            std::thread::sleep(merge);
            batch.extend(media.try_iter().take(MAX_BATCH - batch.len()));
        }
        write_all(socket, &control_bytes, &batch)?;
        control_bytes.clear();
        batch.clear();
        if hang_up.load(Ordering::Relaxed) {
            return Err(io::Error::other("too slow a player"));
        }
    }
}

fn write_all(mut socket: &TcpStream, first: &[u8], rest: &[Chunks]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(rest.len() + 1);
    if !first.is_empty() {
        slices.push(IoSlice::new(first));
    }
    slices.extend(rest.iter().map(|c| IoSlice::new(c)));
    let mut slices = &mut slices[..];
    while !slices.is_empty() {
        match socket.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
