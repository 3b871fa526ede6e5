//! The writer thread: control replies, and media the publishing thread
//! could not write itself, to the socket.
//!
//! It owns the `ChunkEncoder` for control messages. It sleeps until either
//! queue has something, takes the socket's turn (see `outlet`), drains
//! every ready control message first, then up to [`MAX_BATCH`] media
//! chunks, and hands them to the kernel in one blocking vectored write.

use std::io::{self, IoSlice, Write};
use std::net::TcpStream;

use crossbeam_channel::{Receiver, Select, TryRecvError};

use super::outlet::{MAX_BATCH, Outlet};
use super::stream::Chunks;
use crate::protocol::chunk::ChunkEncoder;
use crate::session::Outbound;

/// Runs until the reader drops the control sender (after the last queued
/// message is written) or a write fails. The writer stops, and the caller
/// shuts the socket, when the stream hangs up on this player for falling
/// too far behind.
pub(crate) fn run(outlet: &Outlet, control: Receiver<Box<Outbound>>, media: Receiver<Chunks>) -> io::Result<()> {
    let socket = outlet.socket();
    let mut encoder = ChunkEncoder::beside_prechunked();
    let mut control_bytes = Vec::new();
    let mut batch: Vec<Chunks> = Vec::new();
    let mut ready = Select::new();
    ready.recv(&control);
    ready.recv(&media);
    loop {
        // Wait without taking anything, so that whatever is taken is taken
        // under the turn and written before the publisher may write again.
        ready.ready();
        let turn = outlet.writer_turn();
        // Control first: replies queued before a play must reach the player
        // before the cached frames the play queued.
        let mut controls = 0;
        let control_open = loop {
            match control.try_recv() {
                Ok(o) => {
                    encoder.encode(o.csid, o.timestamp, o.stream_id, &o.message, &mut control_bytes);
                    controls += 1;
                }
                Err(TryRecvError::Empty) => break true,
                Err(TryRecvError::Disconnected) => break false,
            }
        };
        batch.extend(media.try_iter().take(MAX_BATCH));
        write_all(socket, &control_bytes, &batch)?;
        outlet.control_written(controls);
        outlet.media_written(batch.len(), batch.iter().map(|c| c.len()).sum());
        drop(turn);
        // The reader is done and everything it queued is written; what the
        // stream queued last (a StreamEOF at shutdown) went out with it. The
        // media queue never disconnects while this runs: its sender is in
        // the outlet this thread holds.
        if !control_open {
            return Ok(());
        }
        control_bytes.clear();
        batch.clear();
        if outlet.is_hung_up() {
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
