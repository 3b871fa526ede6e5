//! The receiving half of a live-mode SRT connection: packets held by
//! sequence number until their time to play (TSBPD), losses asked again
//! (NAK, at once and then in periodic reports), acknowledgements every
//! 10 ms with the round-trip time from the ACKACKs, and packets given up
//! when their time has passed (too-late drop), so one loss never stalls
//! the stream (draft-sharabayko-srt §4.5-§4.8).
//!
//! Bounded: at most `max_packets` sequence numbers ahead of the next to
//! deliver, and `max_bytes` of payload held; a packet past either is
//! dropped and counted, and its sender sends it again after our NAK.

use std::collections::VecDeque;

use super::seq;
use crate::protocol::srt::{Ack, AckStats, Control, DataPacket, LossRange};

/// How often a full ACK goes out while packets come (§4.8.1).
pub(crate) const ACK_INTERVAL_US: u64 = 10_000;
/// The shortest wait between periodic loss reports.
const MIN_NAK_INTERVAL_US: u64 = 20_000;
/// The most loss ranges one NAK carries: 8 bytes each within one MTU.
const MAX_NAK_RANGES: usize = 150;
/// ACKs remembered for their ACKACK.
const ACK_HISTORY: usize = 64;

/// What the receiver counted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveStats {
    /// Data packets taken (first copies).
    pub packets: u64,
    /// Payload bytes taken.
    pub bytes: u64,
    /// Sequence numbers found missing (each counted once).
    pub lost: u64,
    /// Packets that came as retransmissions and filled a hole.
    pub recovered: u64,
    /// Packets given up: too late to play, or past the buffer's bounds.
    pub dropped: u64,
    /// Copies of packets already held or played.
    pub duplicates: u64,
    /// Round-trip time, microseconds.
    pub rtt_us: u32,
    /// Bytes held now.
    pub held_bytes: usize,
}

struct Held {
    payload: Vec<u8>,
    /// When it plays: the peer's clock mapped to ours, plus the latency.
    due_us: u64,
}

/// The receiving half.
pub(crate) struct Receiver {
    /// The sequence number of `slots[0]`: the next to deliver.
    head: u32,
    slots: VecDeque<Option<Held>>,
    max_packets: usize,
    max_bytes: usize,
    latency_us: u64,
    /// Our time at the peer's timestamp 0, from the first packet.
    base_us: Option<u64>,
    /// The peer's timestamps, unwrapped past 2^32 µs (71 minutes).
    clock: Unwrap,
    ack_no: u32,
    acks: VecDeque<(u32, u64)>,
    last_ack_at: u64,
    last_acked: u32,
    last_nak_at: u64,
    rtt_var_us: u32,
    /// Packets and bytes since the last full ACK, for its rates.
    window: (u32, u32, u64),
    stats: ReceiveStats,
}

impl Receiver {
    pub(crate) fn new(initial_seq: u32, latency_us: u64, max_packets: usize, max_bytes: usize) -> Receiver {
        Receiver {
            head: initial_seq,
            slots: VecDeque::new(),
            max_packets,
            max_bytes,
            latency_us,
            base_us: None,
            clock: Unwrap::default(),
            ack_no: 0,
            acks: VecDeque::new(),
            last_ack_at: 0,
            last_acked: initial_seq,
            last_nak_at: 0,
            rtt_var_us: 50_000,
            window: (0, 0, 0),
            stats: ReceiveStats {
                rtt_us: 100_000,
                ..ReceiveStats::default()
            },
        }
    }

    pub(crate) fn stats(&self) -> ReceiveStats {
        self.stats
    }

    /// Takes a data packet; a NAK to send at once when it shows a gap.
    pub(crate) fn take(&mut self, now: u64, packet: DataPacket) -> Option<Control> {
        let offset = seq::diff(packet.seq, self.head);
        if offset < 0 {
            self.stats.duplicates += 1;
            return None;
        }
        let offset = offset as usize;
        if offset >= self.max_packets || self.stats.held_bytes + packet.payload.len() > self.max_bytes {
            self.stats.dropped += 1;
            return None;
        }
        let timestamp = self.clock.extend(packet.timestamp);
        let base = *self.base_us.get_or_insert(now.saturating_sub(timestamp));
        let due_us = base + timestamp + self.latency_us;
        let expected = self.slots.len();
        if offset < expected {
            let slot = &mut self.slots[offset];
            if slot.is_some() {
                self.stats.duplicates += 1;
                return None;
            }
            self.stats.recovered += 1;
        }
        self.stats.packets += 1;
        self.stats.bytes += packet.payload.len() as u64;
        self.stats.held_bytes += packet.payload.len();
        self.window.0 += 1;
        self.window.1 += packet.payload.len() as u32;
        let held = Held {
            payload: packet.payload,
            due_us,
        };
        if offset < expected {
            self.slots[offset] = Some(held);
            return None;
        }
        self.slots.resize_with(offset, || None);
        self.slots.push_back(Some(held));
        if offset == expected {
            return None;
        }
        // A gap: those between were lost on the way, or overtaken.
        self.stats.lost += (offset - expected) as u64;
        Some(Control::Nak(vec![LossRange {
            first: seq::add(self.head, expected as i32),
            last: seq::add(self.head, offset as i32 - 1),
        }]))
    }

    /// The payloads whose time has come, in order. A hole whose time has
    /// passed is given up: what follows it plays.
    pub(crate) fn deliver(&mut self, now: u64, out: &mut Vec<Vec<u8>>) {
        loop {
            match self.slots.front() {
                Some(Some(held)) if held.due_us <= now => {
                    let held = self.pop().expect("the front is held");
                    out.push(held.payload);
                }
                Some(None) => {
                    // Too late for the hole if a packet after it is due.
                    let due = self.slots.iter().find_map(|slot| slot.as_ref().map(|held| held.due_us));
                    if due.is_none_or(|due| due > now) {
                        return;
                    }
                    while let Some(None) = self.slots.front() {
                        self.pop();
                        self.stats.dropped += 1;
                    }
                }
                _ => return,
            }
        }
    }

    fn pop(&mut self) -> Option<Held> {
        let held = self.slots.pop_front()?;
        self.head = seq::add(self.head, 1);
        if let Some(held) = &held {
            self.stats.held_bytes -= held.payload.len();
        }
        held
    }

    /// The sequence number after the last one received in order.
    fn ack_point(&self) -> u32 {
        let received = self.slots.iter().take_while(|slot| slot.is_some()).count();
        seq::add(self.head, received as i32)
    }

    /// A full ACK when one is due: every 10 ms while something new came.
    pub(crate) fn ack(&mut self, now: u64) -> Option<Control> {
        if now < self.last_ack_at + ACK_INTERVAL_US {
            return None;
        }
        let point = self.ack_point();
        if point == self.last_acked && self.window.0 == 0 {
            return None;
        }
        let elapsed = now.saturating_sub(self.last_ack_at).max(1);
        let (packets, bytes, _) = self.window;
        self.window = (0, 0, now);
        self.last_ack_at = now;
        self.last_acked = point;
        self.ack_no = self.ack_no.wrapping_add(1).max(1);
        if self.acks.len() == ACK_HISTORY {
            self.acks.pop_front();
        }
        self.acks.push_back((self.ack_no, now));
        let per_second = |n: u32| (u64::from(n) * 1_000_000 / elapsed) as u32;
        Some(Control::Ack(Ack {
            ack_no: self.ack_no,
            last_acked: point,
            stats: AckStats::Full {
                rtt_us: self.stats.rtt_us,
                rtt_var_us: self.rtt_var_us,
                buffer_packets: self.max_packets.saturating_sub(self.slots.len()).max(2) as u32,
                receiving_rate_packets: per_second(packets),
                link_capacity_packets: per_second(packets),
                receiving_rate_bytes: per_second(bytes),
            },
        }))
    }

    /// An ACKACK for our ACK `ack_no`: a round-trip time sample (§4.10).
    pub(crate) fn ack_acked(&mut self, now: u64, ack_no: u32) {
        let Some(&(_, sent)) = self.acks.iter().find(|(no, _)| *no == ack_no) else {
            return;
        };
        let sample = now.saturating_sub(sent).min(u64::from(u32::MAX)) as u32;
        let rtt = self.stats.rtt_us;
        self.rtt_var_us = (3 * self.rtt_var_us + rtt.abs_diff(sample)) / 4;
        self.stats.rtt_us = (7 * rtt + sample) / 8;
    }

    /// The periodic loss report: every hole still open, once per
    /// round trip (§4.8.2, NAKREPORT).
    pub(crate) fn loss_report(&mut self, now: u64) -> Option<Control> {
        // libsrt's interval: half of RTT + 4 × its variance.
        let interval = ((u64::from(self.stats.rtt_us) + 4 * u64::from(self.rtt_var_us)) / 2).max(MIN_NAK_INTERVAL_US);
        if now < self.last_nak_at + interval {
            return None;
        }
        let mut ranges: Vec<LossRange> = Vec::new();
        for (offset, slot) in self.slots.iter().enumerate() {
            if slot.is_some() {
                continue;
            }
            let at = seq::add(self.head, offset as i32);
            if let Some(range) = ranges.last_mut().filter(|range| seq::add(range.last, 1) == at) {
                range.last = at;
            } else if ranges.len() == MAX_NAK_RANGES {
                break;
            } else {
                ranges.push(LossRange { first: at, last: at });
            }
        }
        if ranges.is_empty() {
            return None;
        }
        self.last_nak_at = now;
        Some(Control::Nak(ranges))
    }

    /// The peer gave up on `first..=last` (DROPREQ): stop waiting for them.
    pub(crate) fn forget(&mut self, first: u32, last: u32) {
        while let Some(None) = self.slots.front() {
            let at = self.head;
            if seq::diff(at, first) < 0 || seq::diff(at, last) > 0 {
                return;
            }
            self.pop();
            self.stats.dropped += 1;
        }
    }
}

/// Unwraps the peer's 32-bit microsecond timestamps into a 64-bit clock.
#[derive(Default)]
struct Unwrap {
    /// The latest timestamp seen, none before the first.
    last: Option<u32>,
    epoch: u64,
}

impl Unwrap {
    fn extend(&mut self, timestamp: u32) -> u64 {
        let last = *self.last.get_or_insert(timestamp);
        if timestamp.wrapping_sub(last) < 1 << 31 {
            if timestamp < last {
                self.epoch += 1 << 32;
            }
            self.last = Some(timestamp);
            self.epoch + u64::from(timestamp)
        } else if timestamp > last {
            // Late, from before the last wrap.
            (self.epoch + u64::from(timestamp)).saturating_sub(1 << 32)
        } else {
            self.epoch + u64::from(timestamp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::srt::{KeyFlags, Position, SocketId};

    fn data(seq: u32, timestamp: u32, byte: u8) -> DataPacket {
        DataPacket {
            seq,
            position: Position::Only,
            in_order: false,
            key: KeyFlags::Clear,
            retransmitted: false,
            msg_no: 1,
            timestamp,
            dest: SocketId(1),
            payload: vec![byte; 100],
        }
    }

    fn delivered(receiver: &mut Receiver, now: u64) -> Vec<u8> {
        let mut out = Vec::new();
        receiver.deliver(now, &mut out);
        out.iter().map(|payload| payload[0]).collect()
    }

    #[test]
    fn packets_play_after_the_latency_in_order() {
        let mut r = Receiver::new(seq::MAX - 1, 120_000, 8192, 1 << 20);
        // Across the sequence number's wrap.
        assert_eq!(r.take(1_000, data(seq::MAX - 1, 0, 1)), None);
        assert_eq!(r.take(2_000, data(seq::MAX, 1_000, 2)), None);
        assert_eq!(r.take(3_000, data(0, 2_000, 3)), None);
        assert_eq!(delivered(&mut r, 120_999), Vec::<u8>::new());
        assert_eq!(delivered(&mut r, 121_000), [1]);
        assert_eq!(delivered(&mut r, 200_000), [2, 3]);
        assert_eq!(r.stats().held_bytes, 0);
    }

    #[test]
    fn a_gap_is_asked_at_once_and_filled_by_the_retransmission() {
        let mut r = Receiver::new(100, 120_000, 8192, 1 << 20);
        r.take(0, data(100, 0, 1));
        let nak = r.take(10, data(103, 30, 4));
        assert_eq!(nak, Some(Control::Nak(vec![LossRange { first: 101, last: 102 }])));
        assert_eq!(r.stats().lost, 2);
        let mut again = data(101, 10, 2);
        again.retransmitted = true;
        assert_eq!(r.take(50_000, again), None);
        assert_eq!(r.loss_report(100_000), None, "not before half of RTT + 4 × variance");
        assert_eq!(
            r.loss_report(150_000),
            Some(Control::Nak(vec![LossRange { first: 102, last: 102 }]))
        );
        assert_eq!(r.loss_report(151_000), None, "once per interval");
        r.take(152_000, data(102, 20, 3));
        assert_eq!(delivered(&mut r, 200_000), [1, 2, 3, 4]);
        assert_eq!((r.stats().recovered, r.stats().dropped), (2, 0));
    }

    #[test]
    fn a_hole_past_its_time_is_dropped_and_the_rest_plays() {
        let mut r = Receiver::new(0, 120_000, 8192, 1 << 20);
        r.take(0, data(0, 0, 1));
        r.take(2_000, data(2, 2_000, 3));
        assert_eq!(delivered(&mut r, 121_000), [1], "the hole's successor is not due");
        assert_eq!(delivered(&mut r, 122_000), [3]);
        assert_eq!(r.stats().dropped, 1);
        // The late copy is a duplicate now.
        r.take(123_000, data(1, 1_000, 2));
        assert_eq!(r.stats().duplicates, 1);
    }

    #[test]
    fn bounds_in_packets_and_bytes() {
        let mut r = Receiver::new(0, 120_000, 10, 250);
        assert_eq!(r.take(0, data(10, 0, 1)), None, "past the window");
        r.take(0, data(0, 0, 1));
        r.take(0, data(1, 0, 1));
        r.take(0, data(2, 0, 1));
        assert_eq!(r.stats().dropped, 2, "the window, then the bytes");
        assert_eq!(r.stats().held_bytes, 200);
    }

    #[test]
    fn acks_carry_the_point_and_rtt_comes_from_ackacks() {
        let mut r = Receiver::new(0, 120_000, 8192, 1 << 20);
        r.take(0, data(0, 0, 1));
        r.take(0, data(1, 0, 1));
        r.take(0, data(3, 0, 1));
        let Some(Control::Ack(ack)) = r.ack(10_000) else {
            panic!("no ack")
        };
        assert_eq!(ack.last_acked, 2);
        assert_eq!(r.ack(15_000), None, "10 ms apart");
        assert_eq!(r.ack(25_000), None, "nothing new");
        r.ack_acked(10_000 + 2_000, ack.ack_no);
        assert_eq!(r.stats().rtt_us, (7 * 100_000 + 2_000) / 8);
    }

    #[test]
    fn timestamps_unwrap_past_32_bits() {
        let mut clock = Unwrap::default();
        assert_eq!(clock.extend(u32::MAX - 10), u64::from(u32::MAX - 10));
        assert_eq!(clock.extend(5), (1 << 32) + 5);
        assert_eq!(
            clock.extend(u32::MAX - 1),
            u64::from(u32::MAX - 1),
            "late from before the wrap"
        );
    }
}
