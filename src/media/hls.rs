//! HLS with fMP4 segments and Low-Latency HLS parts (RFC 8216bis): a
//! stream's fragments cut into parts and segments, the playlists, and when
//! a blocking request can be answered. Pure: fragments and times in,
//! bytes and decisions out; `server/hls/muxer.rs` keeps one per stream and
//! answers the requests.
//!
//! The segmenter does not look inside the fragments, so it cuts fMP4
//! (`moof` + `mdat` per frame) and MPEG-TS (a PES per frame, in `ts`)
//! alike; the variant only names the segments and says which tags the
//! playlist may use. MPEG-TS is plain HLS, for older players: no parts,
//! no init segment, and each segment opens with the program tables, which
//! the muxer adds to the fragment `starts_segment` picks.
//!
//! A segment starts at a video keyframe (any audio frame for a stream
//! without video) once the one before has lasted the target; within it,
//! parts are cut before the frame that would take them past the part
//! target, so no part is longer than `PART-TARGET`. Durations are those of
//! the lead track: video, or audio without video. Segments and parts are
//! kept as their bytes, shared (`Arc`), for the connection threads to
//! write without a copy.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use super::fmp4::{AUDIO_TRACK, Fragment, VIDEO_TRACK};

/// How far past the newest part a blocking request may ask before it is
/// refused (the RFC's Advance Part Limit is 3 parts past the last).
const PART_ADVANCE: usize = 3;

/// The segments' container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Variant {
    /// Fragmented MP4 (`.m4s` after an `init.mp4`), with LL-HLS parts.
    #[default]
    Fmp4,
    /// MPEG-2 transport stream (`.ts`), plain HLS.
    MpegTs,
}

impl Variant {
    /// A segment's file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Variant::Fmp4 => "m4s",
            Variant::MpegTs => "ts",
        }
    }

    /// `EXT-X-VERSION`: 9 for fMP4 with LL-HLS, 3 (decimal durations)
    /// for what the oldest players take.
    fn version(self) -> u8 {
        match self {
            Variant::Fmp4 => 9,
            Variant::MpegTs => 3,
        }
    }
}

/// Segment and part targets, how many segments are kept and how large one
/// may grow: what a `Segmenter` is made with (`Config::hls.timing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// A segment ends at the first keyframe past this.
    pub segment: Duration,
    /// Low-Latency HLS parts last at most this; zero for plain HLS. MPEG-TS
    /// segments have no parts, whatever this says.
    pub part: Duration,
    /// Complete segments kept (and listed).
    pub segments: usize,
    /// A segment ends once it holds this many bytes, keyframe or not (a
    /// publisher whose keyframes stop coming would grow it without end);
    /// the frames after it wait for the next keyframe.
    pub max_segment_bytes: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            segment: Duration::from_secs(1),
            part: Duration::from_millis(200),
            segments: 7,
            max_segment_bytes: 64 * 1024 * 1024,
        }
    }
}

impl Timing {
    /// The segment target in ms, as the lead track's durations are counted.
    fn segment_ms(&self) -> u32 {
        u32::try_from(self.segment.as_millis()).unwrap_or(u32::MAX)
    }

    /// The part target in ms; 0 for no parts.
    fn part_ms(&self) -> u32 {
        u32::try_from(self.part.as_millis()).unwrap_or(u32::MAX)
    }
}

/// A partial segment.
#[derive(Debug, Clone)]
pub struct Part {
    /// Its fragments' bytes.
    pub bytes: Arc<[u8]>,
    /// Its length in ms of the lead track.
    pub duration_ms: u32,
    /// It starts at a keyframe.
    pub independent: bool,
    /// When it was complete, in seconds since 1970 (`Last-Modified`).
    pub made: u64,
}

/// A media segment: its parts, complete or still growing.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Its media sequence number.
    pub msn: u64,
    /// Its parts so far (one, the whole, without LL-HLS).
    pub parts: Vec<Part>,
    /// Whether it has ended (the next keyframe came).
    pub complete: bool,
}

impl Segment {
    /// Its length in ms: its parts'.
    pub fn duration_ms(&self) -> u32 {
        self.parts.iter().map(|p| p.duration_ms).sum()
    }

    /// When its last part was complete, in seconds since 1970.
    pub fn made(&self) -> u64 {
        self.parts.last().map_or(0, |p| p.made)
    }

    /// How many bytes its parts hold.
    pub fn byte_len(&self) -> usize {
        self.parts.iter().map(|p| p.bytes.len()).sum()
    }

    /// Its bytes: its parts' bytes one after the other, shared, not
    /// copied.
    pub fn pieces(&self) -> Vec<Arc<[u8]>> {
        self.parts.iter().map(|p| p.bytes.clone()).collect()
    }
}

/// Whether what a request asks for is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// Answer now.
    Now,
    /// Not yet: hold the request.
    Later,
    /// Further ahead than a client may ask (400), or gone (404).
    Never,
}

/// One stream's segments and parts.
#[derive(Debug)]
pub struct Segmenter {
    timing: Timing,
    variant: Variant,
    /// The lead track: `VIDEO_TRACK`, or `AUDIO_TRACK` without video.
    lead: u32,
    /// Complete segments, oldest first, then the one growing (if any).
    segments: VecDeque<Segment>,
    next_msn: u64,
    /// The part being filled: its bytes, lead-track ms, independence.
    open: Vec<u8>,
    open_ms: u32,
    open_independent: bool,
    /// The longest segment so far, for `EXT-X-TARGETDURATION`.
    longest_ms: u32,
    /// Bytes of the segments kept, the growing one's included, and of
    /// the growing one alone.
    held: usize,
    growing_bytes: usize,
    /// The time of the fragment being taken, in seconds since 1970.
    now: u64,
}

impl Segmenter {
    /// A segmenter for a stream with video (`has_video`) or audio only,
    /// whose first segment is number `first_msn`. (A muxer started again
    /// later starts higher, so no URL an HTTP cache keeps comes back with
    /// other bytes.)
    pub fn new(timing: Timing, variant: Variant, has_video: bool, first_msn: u64) -> Segmenter {
        // Parts are fMP4's: MPEG-TS is plain HLS.
        let timing = match variant {
            Variant::Fmp4 => timing,
            Variant::MpegTs => Timing {
                part: Duration::ZERO,
                ..timing
            },
        };
        Segmenter {
            timing,
            variant,
            lead: if has_video { VIDEO_TRACK } else { AUDIO_TRACK },
            segments: VecDeque::new(),
            next_msn: first_msn,
            open: Vec::new(),
            open_ms: 0,
            open_independent: false,
            longest_ms: 0,
            held: 0,
            growing_bytes: 0,
            now: 0,
        }
    }

    /// Starts again after a change of codecs (a new init segment): the
    /// numbers go on, the segments go.
    pub fn restart(&mut self, has_video: bool) {
        *self = Segmenter::new(self.timing, self.variant, has_video, self.next_msn);
    }

    /// Takes the next fragment, at `now` (seconds since 1970); true when a
    /// part or a segment was completed (waiting requests may now be
    /// answered).
    pub fn push(&mut self, fragment: Fragment, now: u64) -> bool {
        self.now = now;
        let lead = fragment.track == self.lead;
        let independent = self.independent(&fragment);
        let mut completed = false;
        let growing = self.segments.back().is_some_and(|s| !s.complete);
        if self.starts_segment(&fragment) {
            if growing {
                self.close_segment();
                completed = true;
            }
            self.open_segment();
        } else if !growing {
            return false; // nothing to start from yet
        } else if lead
            && self.timing.part_ms() > 0
            && self.open_ms > 0
            && self.open_ms + fragment.duration > self.timing.part_ms()
        {
            self.close_part();
            completed = true;
        }
        if self.open.is_empty() {
            self.open_independent = independent;
        }
        self.open.extend_from_slice(&fragment.bytes);
        self.held += fragment.bytes.len();
        self.growing_bytes += fragment.bytes.len();
        if lead {
            self.open_ms += fragment.duration;
        }
        if self.growing_bytes >= self.timing.max_segment_bytes {
            self.close_segment();
            completed = true;
        }
        completed
    }

    /// Bytes of the segments kept (the growing one included).
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// Gives up the oldest segment (ending the growing one first if it is
    /// the only one): the muxers together hold more than they may. The
    /// bytes freed; 0 when nothing is held.
    pub fn shed(&mut self) -> usize {
        if !self.segments.iter().any(|s| s.complete) {
            self.finish();
        }
        match self.segments.front() {
            Some(oldest) if oldest.complete => self.drop_oldest(),
            _ => 0,
        }
    }

    /// Drops the oldest segment; the bytes it held.
    fn drop_oldest(&mut self) -> usize {
        let freed = self.segments.pop_front().map_or(0, |gone| gone.byte_len());
        self.held -= freed;
        freed
    }

    /// Whether a decoder can start at `fragment`: a keyframe of the lead
    /// track, or any frame of a lead audio track.
    fn independent(&self, fragment: &Fragment) -> bool {
        fragment.track == self.lead && (fragment.keyframe || self.lead == AUDIO_TRACK)
    }

    /// Whether `fragment`, pushed next, starts a segment: it is where a
    /// decoder can start, and no segment grows or the growing one has
    /// lasted the target.
    pub fn starts_segment(&self, fragment: &Fragment) -> bool {
        let growing = self.segments.back().is_some_and(|s| !s.complete);
        self.independent(fragment) && (!growing || self.current_ms() >= self.timing.segment_ms())
    }

    /// The growing segment's length so far, its open part included.
    fn current_ms(&self) -> u32 {
        self.segments.back().map_or(0, |s| s.duration_ms()) + self.open_ms
    }

    fn open_segment(&mut self) {
        self.segments.push_back(Segment {
            msn: self.next_msn,
            parts: Vec::new(),
            complete: false,
        });
        self.next_msn += 1;
        self.growing_bytes = 0;
        // Complete segments past the count go, oldest first.
        while self.segments.iter().filter(|s| s.complete).count() > self.timing.segments {
            self.drop_oldest();
        }
    }

    fn close_part(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let part = Part {
            bytes: std::mem::take(&mut self.open).into(),
            duration_ms: std::mem::take(&mut self.open_ms),
            independent: self.open_independent,
            made: self.now,
        };
        if let Some(segment) = self.segments.back_mut() {
            segment.parts.push(part);
        }
    }

    fn close_segment(&mut self) {
        self.close_part();
        if let Some(segment) = self.segments.back_mut() {
            segment.complete = true;
            self.longest_ms = self.longest_ms.max(segment.duration_ms());
        }
    }

    /// Ends the growing segment where it is (the stream ended); true if
    /// there was one.
    pub fn finish(&mut self) -> bool {
        let growing = self.segments.back().is_some_and(|s| !s.complete);
        if growing {
            self.close_segment();
        }
        growing
    }

    /// The complete segments, oldest first.
    pub fn segments(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter().filter(|s| s.complete)
    }

    /// A complete segment.
    pub fn segment(&self, msn: u64) -> Option<&Segment> {
        self.segments.iter().find(|s| s.msn == msn && s.complete)
    }

    /// A part, complete.
    pub fn part(&self, msn: u64, index: usize) -> Option<&Part> {
        self.segments.iter().find(|s| s.msn == msn)?.parts.get(index)
    }

    /// The most bits per second a complete segment took (the playlist's
    /// `BANDWIDTH`).
    pub fn peak_bandwidth(&self) -> u64 {
        (self.segments.iter().filter(|s| s.complete))
            .map(|s| s.byte_len() as u64 * 8 * 1000 / u64::from(s.duration_ms().max(1)))
            .max()
            .unwrap_or(0)
    }

    /// Whether any segment is complete: a playlist can be given.
    pub fn has_segment(&self) -> bool {
        self.segments.iter().any(|s| s.complete)
    }

    /// The newest segment (growing or not) and how many parts it has.
    fn newest(&self) -> Option<(u64, usize)> {
        self.segments.back().map(|s| (s.msn, s.parts.len()))
    }

    /// Whether a playlist asked for with `_HLS_msn=msn` (and `_HLS_part`)
    /// can be given: the segment is complete, or that part exists.
    pub fn playlist_ready(&self, msn: u64, part: Option<usize>) -> Ready {
        let Some((newest, parts)) = self.newest() else {
            // Nothing yet, or all given up: the next segment may come.
            return if msn <= self.next_msn + 1 {
                Ready::Later
            } else {
                Ready::Never
            };
        };
        let growing = self.segments.back().is_some_and(|s| !s.complete);
        let last_complete = if growing { newest.checked_sub(1) } else { Some(newest) };
        // The RFC: more than two segments past the last is a bad request.
        if msn > newest + 2 {
            return Ready::Never;
        }
        match part {
            None if last_complete.is_some_and(|c| msn <= c) => Ready::Now,
            None => Ready::Later,
            Some(index) if msn < newest || (msn == newest && index < parts) => Ready::Now,
            Some(index) if msn == newest && index > parts + PART_ADVANCE => Ready::Never,
            Some(_) => Ready::Later,
        }
    }

    /// Whether part `index` of segment `msn` can be given: it exists, it is
    /// the next to come (a preload hint), or neither.
    pub fn part_ready(&self, msn: u64, index: usize) -> Ready {
        if self.part(msn, index).is_some() {
            return Ready::Now;
        }
        match self.newest() {
            Some((newest, parts)) if msn == newest && index == parts => Ready::Later,
            Some((newest, _)) if msn == newest + 1 && index == 0 => Ready::Later,
            _ => Ready::Never,
        }
    }

    /// The media playlist. `init` is the init segment's URI (fMP4 only),
    /// `query` what every URI carries (the viewer's key), empty or
    /// starting with `?`.
    pub fn media_playlist(&self, init: &str, query: &str) -> String {
        self.playlist(init, query, self.timing)
    }

    /// The media playlist without LL-HLS parts, for files a web server
    /// serves as they are (it cannot hold a blocking request).
    pub fn plain_playlist(&self, init: &str) -> String {
        self.playlist(
            init,
            "",
            Timing {
                part: Duration::ZERO,
                ..self.timing
            },
        )
    }

    fn playlist(&self, init: &str, query: &str, timing: Timing) -> String {
        let t = &timing;
        let target = self.longest_ms.max(t.segment_ms()).div_ceil(1000).max(1);
        let mut out = String::with_capacity(1024);
        let first = self.segments.front().map_or(0, |s| s.msn);
        let version = self.variant.version();
        let _ = writeln!(out, "#EXTM3U\n#EXT-X-VERSION:{version}\n#EXT-X-TARGETDURATION:{target}");
        if t.part_ms() > 0 {
            let _ = writeln!(
                out,
                "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={}\n#EXT-X-PART-INF:PART-TARGET={}",
                Seconds(t.part_ms().saturating_mul(3)),
                Seconds(t.part_ms())
            );
        }
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{first}");
        if self.variant == Variant::Fmp4 {
            let _ = writeln!(out, "#EXT-X-MAP:URI=\"{init}{query}\"");
        }
        let extension = self.variant.extension();
        // Parts are listed for the last segments only, as the RFC asks.
        let with_parts = self.segments.len().saturating_sub(3);
        for (i, segment) in self.segments.iter().enumerate() {
            if t.part_ms() > 0 && i >= with_parts {
                for (index, part) in segment.parts.iter().enumerate() {
                    let independent = if part.independent { ",INDEPENDENT=YES" } else { "" };
                    let _ = writeln!(
                        out,
                        "#EXT-X-PART:DURATION={},URI=\"part{}.{index}.m4s{query}\"{independent}",
                        Seconds(part.duration_ms),
                        segment.msn
                    );
                }
            }
            if segment.complete {
                let seconds = Seconds(segment.duration_ms());
                let _ = writeln!(out, "#EXTINF:{seconds},\nseg{}.{extension}{query}", segment.msn);
            }
        }
        if t.part_ms() > 0
            && let Some((newest, parts)) = self.newest()
        {
            let growing = self.segments.back().is_some_and(|s| !s.complete);
            let (msn, index) = if growing { (newest, parts) } else { (newest + 1, 0) };
            let _ = writeln!(
                out,
                "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part{msn}.{index}.m4s{query}\""
            );
        }
        out
    }
}

/// Milliseconds shown as seconds with three decimals (`1.040`), without
/// going through a float: playlists are written for every request.
struct Seconds(u32);

impl std::fmt::Display for Seconds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// The multivariant playlist: one variant, its codecs, its playlist's URI.
pub fn multivariant_playlist(variant: Variant, bandwidth: u64, codecs: &str, media: &str) -> String {
    format!(
        "#EXTM3U\n#EXT-X-VERSION:{}\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-STREAM-INF:BANDWIDTH={},CODECS=\"{codecs}\"\n{media}\n",
        variant.version(),
        bandwidth.max(1)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(at: u64, keyframe: bool) -> Fragment {
        Fragment {
            bytes: vec![at as u8],
            track: VIDEO_TRACK,
            decode_time: at,
            duration: 40,
            keyframe,
        }
    }

    fn audio(at: u64) -> Fragment {
        Fragment {
            bytes: vec![0xA0],
            track: AUDIO_TRACK,
            decode_time: at,
            duration: 23,
            keyframe: false,
        }
    }

    fn timing() -> Timing {
        Timing {
            segment: Duration::from_secs(1),
            part: Duration::from_millis(200),
            segments: 3,
            max_segment_bytes: 1 << 20,
        }
    }

    /// A 25 fps stream with a keyframe every `gop` frames, `n` frames.
    fn feed(segmenter: &mut Segmenter, n: u64, gop: u64) {
        for i in 0..n {
            segmenter.push(video(i * 40, i % gop == 0), 7);
            segmenter.push(audio(i * 40 + 5), 7);
        }
    }

    #[test]
    fn segments_start_at_keyframes_and_parts_stay_within_the_target() {
        let mut s = Segmenter::new(timing(), Variant::Fmp4, true, 0);
        assert!(!s.push(audio(0), 7), "audio before the first keyframe is dropped");
        feed(&mut s, 100, 25);
        // Keyframes each second: segments 0, 1, 2 complete, 3 growing.
        let complete: Vec<u64> = s.segments.iter().filter(|s| s.complete).map(|s| s.msn).collect();
        assert_eq!(complete, [0, 1, 2]);
        for segment in s.segments.iter().filter(|s| s.complete) {
            assert_eq!(segment.duration_ms(), 1000);
            assert!(segment.parts.iter().all(|p| p.duration_ms <= 200));
            assert!(segment.parts[0].independent && !segment.parts[1].independent);
            assert_eq!(segment.made(), 7);
            assert_eq!(
                segment.pieces()[0][0] as u64,
                (segment.msn * 1000) as u8 as u64,
                "starts at its keyframe"
            );
        }
    }

    #[test]
    fn a_long_gop_makes_long_segments_and_the_target_duration_follows() {
        let mut s = Segmenter::new(timing(), Variant::Fmp4, true, 0);
        feed(&mut s, 200, 50); // a keyframe every 2 s
        assert!(
            s.segments
                .iter()
                .filter(|s| s.complete)
                .all(|s| s.duration_ms() == 2000)
        );
        assert!(s.media_playlist("init.mp4", "").contains("#EXT-X-TARGETDURATION:2\n"));
    }

    #[test]
    fn only_so_many_segments_are_kept() {
        let mut s = Segmenter::new(timing(), Variant::Fmp4, true, 0);
        feed(&mut s, 25 * 10, 25);
        assert_eq!(s.segments.iter().filter(|s| s.complete).count(), 3);
        assert_eq!(s.segments.front().map(|s| s.msn), Some(6));
        assert!(s.segment(5).is_none() && s.segment(8).is_some());
    }

    #[test]
    fn the_playlist_lists_parts_segments_and_the_next_part() {
        let mut s = Segmenter::new(timing(), Variant::Fmp4, true, 0);
        feed(&mut s, 62, 25); // two segments and 12 frames of a third
        let text = s.media_playlist("init1.mp4", "?key=k");
        let expected_start = "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n\
            #EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600\n\
            #EXT-X-PART-INF:PART-TARGET=0.200\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-MAP:URI=\"init1.mp4?key=k\"\n\
            #EXT-X-PART:DURATION=0.200,URI=\"part0.0.m4s?key=k\",INDEPENDENT=YES\n\
            #EXT-X-PART:DURATION=0.200,URI=\"part0.1.m4s?key=k\"\n";
        assert!(text.starts_with(expected_start), "{text}");
        assert!(text.contains("#EXTINF:1.000,\nseg1.m4s?key=k\n"), "{text}");
        // Segment 2 has two parts (10 frames), the third part is next.
        assert!(
            text.contains("URI=\"part2.1.m4s?key=k\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part2.2.m4s?key=k\"\n"),
            "{text}"
        );
        let plain = Segmenter {
            timing: Timing {
                part: Duration::ZERO,
                ..timing()
            },
            ..Segmenter::new(timing(), Variant::Fmp4, true, 0)
        };
        assert!(!plain.media_playlist("init1.mp4", "").contains("PART"));
    }

    #[test]
    fn the_files_playlist_has_no_parts_and_the_end_closes_the_last_segment() {
        let mut s = Segmenter::new(timing(), Variant::Fmp4, true, 0);
        feed(&mut s, 40, 25); // segment 0 complete, 15 frames of segment 1
        let plain = s.plain_playlist("init1.mp4");
        assert_eq!(
            plain,
            "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n\
             #EXT-X-MAP:URI=\"init1.mp4\"\n#EXTINF:1.000,\nseg0.m4s\n"
        );
        assert!(s.finish(), "segment 1 ends early");
        assert!(!s.finish(), "nothing grows now");
        let lengths: Vec<(u64, u32)> = s.segments().map(|s| (s.msn, s.duration_ms())).collect();
        assert_eq!(lengths, [(0, 1000), (1, 600)]);
    }

    #[test]
    fn blocking_requests_are_ready_now_later_or_never() {
        let mut s = Segmenter::new(timing(), Variant::Fmp4, true, 0);
        assert_eq!(s.playlist_ready(0, None), Ready::Later);
        feed(&mut s, 31, 25); // segment 0 complete, segment 1 with one part
        assert_eq!(s.playlist_ready(0, None), Ready::Now);
        assert_eq!(s.playlist_ready(1, None), Ready::Later, "segment 1 grows");
        assert_eq!(s.playlist_ready(1, Some(0)), Ready::Now);
        assert_eq!(s.playlist_ready(1, Some(1)), Ready::Later);
        assert_eq!(s.playlist_ready(1, Some(9)), Ready::Never, "past the advance limit");
        assert_eq!(s.playlist_ready(3, None), Ready::Later);
        assert_eq!(s.playlist_ready(4, None), Ready::Never, "more than two ahead");
        assert_eq!(s.part_ready(1, 0), Ready::Now);
        assert_eq!(s.part_ready(1, 1), Ready::Later, "the preload hint");
        assert_eq!(s.part_ready(1, 2), Ready::Never);
        assert_eq!(s.part_ready(2, 0), Ready::Later);
        assert_eq!(s.part_ready(7, 0), Ready::Never);
    }

    #[test]
    fn mpegts_is_plain_hls_of_ts_segments_and_says_where_they_start() {
        let plain = Timing {
            part: Duration::ZERO,
            ..timing()
        };
        let mut s = Segmenter::new(plain, Variant::MpegTs, true, 0);
        assert!(s.starts_segment(&video(0, true)) && !s.starts_segment(&audio(0)));
        feed(&mut s, 30, 25); // segment 0 complete, 5 frames of segment 1
        assert!(!s.starts_segment(&video(1200, true)), "segment 1 lasted 200 ms");
        assert!(!s.starts_segment(&video(1200, false)));
        let mut s = Segmenter::new(plain, Variant::MpegTs, true, 0);
        feed(&mut s, 60, 25);
        let text = s.media_playlist("init1.mp4", "");
        let expected = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n\
            #EXTINF:1.000,\nseg0.ts\n#EXTINF:1.000,\nseg1.ts\n";
        assert_eq!(text, expected);
        assert!(
            multivariant_playlist(Variant::MpegTs, 8, "avc1.64001f", "s.m3u8")
                .starts_with("#EXTM3U\n#EXT-X-VERSION:3\n")
        );
    }

    #[test]
    fn a_segment_ends_at_its_byte_limit_and_the_rest_waits_for_a_keyframe() {
        // Each fragment is one byte: ten bytes are five frames and their audio.
        let mut s = Segmenter::new(
            Timing {
                max_segment_bytes: 10,
                ..timing()
            },
            Variant::Fmp4,
            true,
            0,
        );
        for i in 0..40 {
            s.push(video(i * 40, i == 0 || i == 30), 7);
            s.push(audio(i * 40 + 5), 7);
        }
        let kept: Vec<(u64, bool, u32)> = s
            .segments
            .iter()
            .map(|s| (s.msn, s.complete, s.duration_ms()))
            .collect();
        // Segment 0 ends at ten bytes; frames 5 to 29 wait; the keyframe at
        // frame 30 starts segment 1, which ends at ten bytes too.
        assert_eq!(kept, [(0, true, 200), (1, true, 200)]);
        assert_eq!(s.held_bytes(), 20);
    }

    #[test]
    fn shedding_gives_up_the_oldest_segment_and_the_sequence_goes_on() {
        let mut s = Segmenter::new(timing(), Variant::Fmp4, true, 0);
        feed(&mut s, 62, 25); // segments 0 and 1 complete, 2 growing
        let held = s.held_bytes();
        let freed = s.shed();
        assert!(freed > 0 && s.held_bytes() == held - freed);
        assert!(s.media_playlist("i.mp4", "").contains("#EXT-X-MEDIA-SEQUENCE:1\n"));
        assert!(s.shed() > 0, "segment 1");
        // Only the growing one is left: it ends, then goes.
        assert!(s.shed() > 0);
        assert_eq!((s.held_bytes(), s.shed()), (0, 0));
        assert_eq!(s.playlist_ready(3, None), Ready::Later, "numbers go on from 3");
    }

    #[test]
    fn audio_alone_cuts_at_any_audio_frame() {
        let mut s = Segmenter::new(timing(), Variant::Fmp4, false, 0);
        for i in 0..200 {
            s.push(audio(i * 23), 7);
        }
        let complete: Vec<u32> = s
            .segments
            .iter()
            .filter(|s| s.complete)
            .map(|s| s.duration_ms())
            .collect();
        assert!(
            !complete.is_empty() && complete.iter().all(|d| (1000..1023).contains(d)),
            "{complete:?}"
        );
    }
}
