//! `Output`: what one connection owes its peer, written by the
//! connection's own thread without blocking.
//!
//! Two things are owed: control messages the connection's session
//! produced (replies, acknowledgements, pings), chunked by the one
//! `ChunkEncoder` this connection has beside the shared prechunked csids;
//! and media in the player's queue, which the publishing thread filled
//! when it could not write itself: frames shared by every player, each
//! written in the form this player speaks (`Queued::bytes`). Control goes
//! first: replies produced before a play must reach the player before the
//! cached frames the play queued. Everything is written under the
//! outlet's turn, so the publishing thread never writes between two parts
//! of one message.

use std::io::{self, IoSlice};
use std::net::TcpStream;
use std::time::Instant;

use crossbeam_channel::Receiver;

use crate::protocol::chunk::ChunkEncoder;
use crate::server::stream::outlet::{MAX_BATCH, Outlet, send_now};
use crate::server::stream::wire::Queued;
use crate::session::Outbound;

pub(crate) struct Output {
    encoder: ChunkEncoder,
    /// Chunked control messages not yet written.
    control: Vec<u8>,
    /// Media taken off the queue and not yet all written; the first
    /// `batch_at` bytes of the first item are written.
    batch: Vec<Queued>,
    batch_at: usize,
    media: Receiver<Queued>,
    /// Since when the socket has taken nothing while something was owed.
    stuck_since: Option<Instant>,
}

impl Output {
    pub(crate) fn new(media: Receiver<Queued>) -> Output {
        Output {
            encoder: ChunkEncoder::beside_prechunked(),
            control: Vec::new(),
            batch: Vec::new(),
            batch_at: 0,
            media,
            stuck_since: None,
        }
    }

    /// Chunks a control message to be written before any more media.
    pub(crate) fn control(&mut self, outlet: &Outlet, outbound: &Outbound) {
        // Raised before the bytes exist: from here on the publishing
        // thread queues media instead of writing it.
        outlet.set_owed(true);
        let o = outbound;
        self.encoder
            .encode(o.csid, o.timestamp, o.stream_id, &o.message, &mut self.control);
    }

    /// Bytes to write before any more media, as they are: an HTTP head
    /// or the end of a chunked body.
    pub(crate) fn raw(&mut self, outlet: &Outlet, bytes: &[u8]) {
        outlet.set_owed(true);
        self.control.extend_from_slice(bytes);
    }

    /// The queue has media this has not taken yet.
    pub(crate) fn has_queued(&self) -> bool {
        !self.media.is_empty()
    }

    /// Since when the socket has taken nothing, if something is owed.
    pub(crate) fn stuck_since(&self) -> Option<Instant> {
        self.stuck_since
    }

    /// Writes what is owed until the socket is full; true when nothing
    /// is left.
    pub(crate) fn write(&mut self, socket: &TcpStream, outlet: &Outlet) -> io::Result<bool> {
        let _turn = outlet.turn();
        let form = outlet.form();
        loop {
            if self.batch.is_empty() {
                self.batch.extend(self.media.try_iter().take(MAX_BATCH));
            }
            if self.control.is_empty() && self.batch.is_empty() {
                outlet.set_owed(false);
                self.stuck_since = None;
                // Most players owe nothing most of the time: hold no
                // buffers while idle (issue 11: a kilobyte a player).
                self.control = Vec::new();
                self.batch = Vec::new();
                return Ok(true);
            }
            let mut slices = [IoSlice::new(&[]); MAX_BATCH + 1];
            let mut n = 0;
            if !self.control.is_empty() {
                slices[0] = IoSlice::new(&self.control);
                n = 1;
            }
            for (i, item) in self.batch.iter().enumerate() {
                let from = if i == 0 { self.batch_at } else { 0 };
                slices[n] = IoSlice::new(&item.bytes(form)[from..]);
                n += 1;
            }
            let written = send_now(socket, &slices[..n])?;
            if written == 0 {
                self.stuck_since.get_or_insert_with(Instant::now);
                return Ok(false);
            }
            self.stuck_since = None;
            outlet.count_sent(written);
            self.consume(outlet, written);
        }
    }

    /// Drops the `written` bytes from what is owed and counts the frames
    /// written whole.
    fn consume(&mut self, outlet: &Outlet, mut written: usize) {
        let control = written.min(self.control.len());
        self.control.drain(..control);
        written -= control;
        let (mut frames, mut bytes) = (0, 0);
        for item in &self.batch {
            let len = item.bytes(outlet.form()).len();
            let rest = len - self.batch_at;
            if written < rest {
                self.batch_at += written;
                break;
            }
            written -= rest;
            self.batch_at = 0;
            frames += 1;
            bytes += len;
        }
        self.batch.drain(..frames);
        outlet.media_written(frames, bytes);
    }
}
