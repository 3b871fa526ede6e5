//! The players' timeline: one for a stream across its publishers
//! (`Timeline`: who may publish after a takeover, and the offset that
//! carries a new publisher's timestamps on from the last ones sent), and
//! where each fMP4 fragment sits on it (`Fragments`).
//!
//! Apart from `live_stream` because it is pure arithmetic on timestamps,
//! under its own lock: a frame is given its players' timestamp before the
//! stream's lock is taken.
//!
//! In scope: rebasing a publisher that follows another, refusing frames
//! from a replaced one, fMP4 sequence numbers, decode times and
//! durations. Out of scope: deciding a takeover (`Stream::start_publish`)
//! and chunking frames (`wire`).

use crate::media::FrameKind;
use crate::media::fmp4::{AUDIO_TRACK, Placement, VIDEO_TRACK};
use crate::protocol::time::RtmpTime;
use crate::server::stream::kind::ConnId;

/// How far ahead of a gap a rebased publisher's first frame goes: about
/// one video frame.
const REBASE_GAP_MS: u32 = 40;

/// One timeline for players across publishers: a publisher that follows
/// another (a republish, a pull failing over, a takeover) has its
/// timestamps offset so that they go on just after the last ones sent.
/// ffmpeg restarts near 0 on every publish, and players whose timestamps
/// jump back log "non monotonically increasing dts", stall or resync.
#[derive(Debug, Default)]
pub(crate) struct Timeline {
    /// Whose frames are taken: after a takeover, the replaced publisher's
    /// are refused.
    pub(crate) publisher: Option<ConnId>,
    /// Added to the publisher's timestamps (wrapping, as RTMP time does).
    offset: u32,
    /// A new publisher started: its first frame sets `offset`.
    rebase: bool,
    /// The latest audio or video timestamp sent, offset included.
    last_out: Option<u32>,
}

impl Timeline {
    /// The players' timestamp for a frame of `kind` at `at` from `from`;
    /// `None` when `from` no longer publishes.
    pub(crate) fn place(&mut self, from: ConnId, kind: FrameKind, at: RtmpTime) -> Option<RtmpTime> {
        if self.publisher != Some(from) {
            return None;
        }
        if std::mem::take(&mut self.rebase)
            && let Some(last) = self.last_out
        {
            self.offset = last.wrapping_add(REBASE_GAP_MS).wrapping_sub(at.0);
        }
        let out = at.0.wrapping_add(self.offset);
        if kind != FrameKind::Metadata {
            self.last_out = Some(self.last_out.map_or(out, |last| last.max(out)));
        }
        Some(RtmpTime(out))
    }

    /// `id` publishes from now on, its first frame rebased.
    pub(crate) fn start(&mut self, id: ConnId) {
        self.publisher = Some(id);
        self.rebase = true;
    }
}

/// Where each fMP4 fragment sits on the players' timeline: its sequence
/// number and decode time, and a duration estimated from the gap before.
#[derive(Debug, Default)]
pub(crate) struct Fragments {
    /// The last fMP4 fragment's sequence number.
    sequence: u32,
    /// Per fMP4 track (video, audio): the last frame's timestamp and the
    /// gap before it, which estimates the next frame's duration.
    last_media: [Option<(u32, u32)>; 2],
}

impl Fragments {
    /// Where a coded audio or video frame's fMP4 fragment sits, and the next
    /// fragment's sequence number taken.
    pub(crate) fn place(&mut self, kind: FrameKind, timestamp: RtmpTime) -> Option<Placement> {
        let (slot, track, usual) = match kind {
            FrameKind::Video => (0, VIDEO_TRACK, 33),
            FrameKind::Audio => (1, AUDIO_TRACK, 21),
            FrameKind::Metadata => return None,
        };
        let ts = timestamp.0;
        // The gap since the previous frame, unless it is none or a jump.
        let duration = match self.last_media[slot] {
            Some((last, gap)) => match ts.wrapping_sub(last) {
                d @ 1..10_000 => d,
                _ => gap,
            },
            None => usual,
        };
        self.last_media[slot] = Some((ts, duration));
        self.sequence = self.sequence.wrapping_add(1);
        Some(Placement {
            sequence: self.sequence,
            track,
            decode_time: u64::from(ts),
            duration,
        })
    }

    /// Forgets the gaps between frames: the next publisher's frame rate
    /// may differ. Sequence numbers go on, as the fragments a player that
    /// stays through a takeover gets must keep counting up.
    pub(crate) fn forget_durations(&mut self) {
        self.last_media = [None; 2];
    }
}

#[cfg(test)]
mod tests {
    use crate::server::stream::live_stream::{publisher, stream, subscribe, video};

    #[test]
    fn a_publisher_after_another_goes_on_where_it_left_off() {
        let stream = stream(1000);
        let player = subscribe(&stream, 9, 64);
        let _turn = player.outlet.turn();
        assert!(stream.try_start_publish(1, publisher()));
        for ms in [1000, 1040, 1080] {
            stream.publish(video(ms, 0x17, 1));
        }
        stream.end_publish(1);
        // The next one starts near 0, as ffmpeg does.
        assert!(stream.try_start_publish(2, publisher()));
        for ms in [0, 40] {
            stream.publish(video(ms, 0x17, 1));
        }
        let times: Vec<u32> = player.queued().iter().map(|(_, ms)| *ms).collect();
        assert_eq!(times, [1000, 1040, 1080, 1120, 1160]);
    }
}
