//! The sending half of a live-mode SRT connection: each payload numbered
//! and kept until the peer acknowledges it, sent again when the peer
//! reports it lost (NAK), and given up once the peer could no longer play
//! it in time (draft-sharabayko-srt §4.5, §4.6).
//!
//! Bounded in bytes: past `max_bytes` kept, the oldest are given up, as
//! they would be for their age.

use std::collections::VecDeque;

use super::seq;
use crate::protocol::srt::{DataPacket, KeyFlags, LossRange, Position, SocketId};

/// The message number field's bits (26).
const MSG_NO_MAX: u32 = (1 << 26) - 1;

/// What the sender counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendStats {
    /// Data packets sent the first time.
    pub packets: u64,
    /// Payload bytes sent the first time.
    pub bytes: u64,
    /// Packets sent again after a NAK.
    pub retransmitted: u64,
    /// Packets given up unacknowledged: too old, or past the byte bound.
    pub dropped: u64,
    /// Bytes kept now, waiting for their ACK.
    pub held_bytes: usize,
}

struct Kept {
    seq: u32,
    msg_no: u32,
    timestamp: u32,
    payload: Vec<u8>,
    sent_at: u64,
}

/// The sending half.
pub(crate) struct Sender {
    peer: SocketId,
    next_seq: u32,
    next_msg: u32,
    kept: VecDeque<Kept>,
    max_bytes: usize,
    /// How long a packet is worth sending: the peer plays it by then.
    keep_us: u64,
    stats: SendStats,
}

impl Sender {
    pub(crate) fn new(peer: SocketId, initial_seq: u32, latency_us: u64, max_bytes: usize) -> Sender {
        Sender {
            peer,
            next_seq: initial_seq,
            next_msg: 1,
            kept: VecDeque::new(),
            max_bytes,
            // libsrt's sender drop threshold: the latency and a margin
            // for the round trip, never under a second.
            keep_us: (latency_us * 5 / 4 + 20_000).max(1_000_000),
            stats: SendStats::default(),
        }
    }

    pub(crate) fn stats(&self) -> SendStats {
        self.stats
    }

    /// The sequence number the next `send` gives.
    pub(crate) fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// Numbers `payload`, keeps it, and gives the packet to send.
    pub(crate) fn send(&mut self, now: u64, payload: Vec<u8>, key: KeyFlags) -> DataPacket {
        let packet = DataPacket {
            seq: self.next_seq,
            position: Position::Only,
            in_order: false,
            key,
            retransmitted: false,
            msg_no: self.next_msg,
            timestamp: now as u32,
            dest: self.peer,
            payload,
        };
        self.next_seq = seq::add(self.next_seq, 1);
        self.next_msg = if self.next_msg == MSG_NO_MAX {
            1
        } else {
            self.next_msg + 1
        };
        self.stats.packets += 1;
        self.stats.bytes += packet.payload.len() as u64;
        self.stats.held_bytes += packet.payload.len();
        self.kept.push_back(Kept {
            seq: packet.seq,
            msg_no: packet.msg_no,
            timestamp: packet.timestamp,
            payload: packet.payload.clone(),
            sent_at: now,
        });
        while self.stats.held_bytes > self.max_bytes {
            self.give_up_oldest();
        }
        packet
    }

    /// The peer has everything before `last_acked`.
    pub(crate) fn acked(&mut self, last_acked: u32) {
        while let Some(kept) = self.kept.front() {
            if seq::diff(kept.seq, last_acked) >= 0 {
                return;
            }
            let kept = self.kept.pop_front().expect("the front is there");
            self.stats.held_bytes -= kept.payload.len();
        }
    }

    /// The packets of `lost` still kept, to send again.
    pub(crate) fn lost(&mut self, lost: &[LossRange], key: KeyFlags, out: &mut Vec<DataPacket>) {
        let Some(first_kept) = self.kept.front().map(|kept| kept.seq) else {
            return;
        };
        for range in lost {
            let from = seq::diff(range.first, first_kept).max(0) as usize;
            let to = seq::diff(range.last, first_kept);
            if to < 0 {
                continue;
            }
            for kept in self
                .kept
                .range(from.min(self.kept.len())..)
                .take_while(|kept| seq::diff(kept.seq, range.last) <= 0)
            {
                self.stats.retransmitted += 1;
                out.push(DataPacket {
                    seq: kept.seq,
                    position: Position::Only,
                    in_order: false,
                    key,
                    retransmitted: true,
                    msg_no: kept.msg_no,
                    timestamp: kept.timestamp,
                    dest: self.peer,
                    payload: kept.payload.clone(),
                });
            }
        }
    }

    /// Gives up packets too old for the peer to play.
    pub(crate) fn expire(&mut self, now: u64) {
        while self
            .kept
            .front()
            .is_some_and(|kept| now.saturating_sub(kept.sent_at) > self.keep_us)
        {
            self.give_up_oldest();
        }
    }

    fn give_up_oldest(&mut self) {
        if let Some(kept) = self.kept.pop_front() {
            self.stats.held_bytes -= kept.payload.len();
            self.stats.dropped += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Sender {
        Sender::new(SocketId(9), seq::MAX - 1, 120_000, 1000)
    }

    #[test]
    fn packets_are_numbered_across_the_wrap_and_freed_by_acks() {
        let mut s = sender();
        let seqs: Vec<u32> = (0..3)
            .map(|i| s.send(i * 1000, vec![i as u8; 100], KeyFlags::Clear).seq)
            .collect();
        assert_eq!(seqs, [seq::MAX - 1, seq::MAX, 0]);
        assert_eq!(s.stats().held_bytes, 300);
        s.acked(0);
        assert_eq!(s.stats().held_bytes, 100, "everything before 0 is acknowledged");
    }

    #[test]
    fn lost_packets_go_again_marked_retransmitted() {
        let mut s = sender();
        for i in 0..5 {
            s.send(i * 1000, vec![i as u8; 10], KeyFlags::Clear);
        }
        let mut out = Vec::new();
        s.lost(
            &[LossRange {
                first: seq::MAX,
                last: 1,
            }],
            KeyFlags::Clear,
            &mut out,
        );
        let again: Vec<(u32, u8, bool)> = out.iter().map(|p| (p.seq, p.payload[0], p.retransmitted)).collect();
        assert_eq!(again, [(seq::MAX, 1, true), (0, 2, true), (1, 3, true)]);
        assert_eq!(out[0].timestamp, 1000, "the original timestamp");
        out.clear();
        s.acked(2);
        s.lost(&[LossRange { first: 0, last: 0 }], KeyFlags::Clear, &mut out);
        assert!(out.is_empty(), "acknowledged since: {out:?}");
        assert_eq!(s.stats().retransmitted, 3);
    }

    #[test]
    fn old_and_excess_packets_are_given_up() {
        let mut s = sender();
        for i in 0..12 {
            s.send(0, vec![i as u8; 100], KeyFlags::Clear);
        }
        assert_eq!((s.stats().held_bytes, s.stats().dropped), (1000, 2));
        s.expire(999_999);
        assert_eq!(s.stats().held_bytes, 1000);
        s.expire(1_000_001);
        assert_eq!((s.stats().held_bytes, s.stats().dropped), (0, 12));
    }
}
