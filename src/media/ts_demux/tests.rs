use super::*;
use crate::media::fmp4::{Codec, Fragmenter};
use crate::media::ts::Muxer;

/// An avcC with one SPS and one PPS, 4-byte lengths, as `avc_record`
/// writes it.
const AVCC: &[u8] = &[
    1, 0x64, 0, 0x1F, 0xFF, 0xE1, 0, 4, 0x67, 0x64, 0, 0x1F, 1, 0, 2, 0x68, 0xEE,
];
/// AAC LC, 44.1 kHz, stereo.
const ASC: [u8; 2] = [0x12, 0x10];

fn frame(kind: FrameKind, ms: u32, payload: &[u8]) -> Frame {
    Frame {
        kind,
        timestamp: RtmpTime(ms),
        payload: payload.to_vec(),
    }
}

/// What an RTMP publisher would send: sequence headers, a keyframe with a
/// composition time, inter frames and audio.
fn published() -> Vec<Frame> {
    use FrameKind::{Audio, Video};
    vec![
        frame(Video, 0, &[[0x17, 0, 0, 0, 0].as_slice(), AVCC].concat()),
        frame(Audio, 0, &[0xAF, 0, ASC[0], ASC[1]]),
        frame(Video, 0, &[0x17, 1, 0, 0, 40, 0, 0, 0, 3, 0x65, 0x88, 0x84]),
        frame(Audio, 0, &[0xAF, 1, 0x21, 0x10, 0x04]),
        frame(Audio, 23, &[0xAF, 1, 0x21, 0x10, 0x05, 0x06]),
        frame(Video, 33, &[0x27, 1, 0, 0, 0, 0, 0, 0, 2, 0x41, 0x9A]),
        frame(Audio, 46, &[0xAF, 1, 0x21, 0x10, 0x07]),
        frame(
            Video,
            67,
            &[0x27, 1, 0, 0, 33, 0, 0, 0, 2, 0x41, 0x9B, 0, 0, 0, 1, 0x01],
        ),
        frame(Audio, 69, &[0xAF, 1, 0x21]),
    ]
}

/// `frames` through our own muxer, as HLS's TS segments get them.
fn muxed(frames: &[Frame]) -> Vec<u8> {
    let mut fragmenter = Fragmenter::new(Muxer::new(Some((Codec::Avc, AVCC)), Some((Codec::Aac, &ASC))));
    let mut out = fragmenter.packer.tables();
    for f in frames {
        if let Some(fragment) = fragmenter.push(f.kind, &f.payload, u64::from(f.timestamp.0)) {
            out.extend_from_slice(&fragment.bytes);
        }
    }
    for fragment in fragmenter.flush() {
        out.extend_from_slice(&fragment.bytes);
    }
    out
}

/// Everything a demuxer gives for `pieces` fed one after another.
fn demuxed(demuxer: &mut Demuxer, pieces: &[&[u8]]) -> Vec<Demuxed> {
    let mut out = Vec::new();
    for piece in pieces {
        out.extend(demuxer.push(piece));
    }
    out.extend(demuxer.finish());
    out
}

fn ok(results: Vec<Demuxed>) -> Vec<Frame> {
    results.into_iter().map(|r| r.expect("no error")).collect()
}

fn of(kind: FrameKind, frames: &[Frame]) -> Vec<Frame> {
    frames.iter().filter(|f| f.kind == kind).cloned().collect()
}

/// Frames of each kind equal, in order (the kinds interleave as the
/// muxer's PES came).
fn assert_same(got: &[Frame], want: &[Frame]) {
    for kind in [FrameKind::Video, FrameKind::Audio] {
        assert_eq!(of(kind, got), of(kind, want), "{kind:?}");
    }
    assert_eq!(got.len(), want.len());
}

#[test]
fn our_muxers_stream_gives_back_the_frames_it_took() {
    let want = published();
    let got = ok(demuxed(&mut Demuxer::default(), &[&muxed(&want)]));
    assert_same(&got, &want);
}

#[test]
fn a_stream_split_at_any_byte_gives_the_same_frames() {
    let want = published();
    let ts = muxed(&want);
    assert!(ts.len() > 5 * PACKET);
    for i in 0..=ts.len() {
        let got = ok(demuxed(&mut Demuxer::default(), &[&ts[..i], &ts[i..]]));
        assert_same(&got, &want);
    }
    // And a byte at a time.
    let bytes: Vec<&[u8]> = ts.chunks(1).collect();
    assert_same(&ok(demuxed(&mut Demuxer::default(), &bytes)), &want);
}

#[test]
fn timestamps_go_on_across_the_33_bit_wrap() {
    let mut clock = Clock::default();
    let first = clock.unwrap(CLOCK_WRAP as u64 - 900);
    let after = clock.unwrap(900);
    assert_eq!((clock.ms(first), clock.ms(after)), (0, 20));
    let before = clock.unwrap(CLOCK_WRAP as u64 - 1800);
    assert_eq!(clock.ms(before), 0, "before the first is 0");
}

const FFMPEG: &[u8] = include_bytes!("../../../tests/data/ffmpeg-1s.ts");

#[test]
fn an_ffmpeg_stream_gives_what_ffprobe_sees() {
    let frames = ok(demuxed(&mut Demuxer::default(), &[FFMPEG]));
    let video = of(FrameKind::Video, &frames);
    let audio = of(FrameKind::Audio, &frames);
    // ffprobe: 10 video frames, 1 keyframe; 45 AAC frames.
    assert_eq!(video.iter().filter(|f| f.is_sequence_header()).count(), 1);
    assert!(video[0].is_sequence_header());
    assert_eq!(video.iter().filter(|f| f.is_keyframe()).count(), 1);
    assert!(video[1].is_keyframe());
    assert_eq!(video.len(), 1 + 10);
    assert_eq!(audio.len(), 1 + 45);
    // The SPS and PPS `ffmpeg -c copy -f h264` shows.
    let sps = hex("67f4000a919682847e27011000000300100000030140f1226a");
    let pps = hex("68ce0f1920");
    let mut record = vec![1, 0xF4, 0, 0x0A, 0xFF, 0xE1, 0, sps.len() as u8];
    record.extend_from_slice(&sps);
    record.extend_from_slice(&[1, 0, pps.len() as u8]);
    record.extend_from_slice(&pps);
    assert_eq!(video[0].payload, [[0x17, 0, 0, 0, 0].as_slice(), &record].concat());
    // AAC LC, 44.1 kHz, mono.
    assert_eq!(audio[0].payload, [0xAF, 0, 0x12, 0x08]);
    // ffprobe's first video DTS 128090 is the origin; audio began at
    // 126000 (before it: 0) and ended at 217952; video ended at 209090.
    let ms = |f: &Frame| f.timestamp.0;
    assert_eq!((ms(&video[1]), ms(&video[10])), (0, 900));
    assert_eq!(
        (ms(&audio[1]), ms(&audio[2]), ms(&audio[3]), ms(&audio[45])),
        (0, 0, 23, 998)
    );
    for kind in [video, audio] {
        assert!(kind.windows(2).all(|w| ms(&w[0]) <= ms(&w[1])), "monotonic");
    }
    // No delimiter, SPS or PPS left in the frames: each unit is a slice.
    for f in of(FrameKind::Video, &frames).iter().skip(1) {
        assert!(matches!(f.payload[9] & 0x1F, 1 | 5 | 6), "{:02X}", f.payload[9]);
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn errors(results: &[Demuxed]) -> Vec<DemuxError> {
    results.iter().filter_map(|r| r.clone().err()).collect()
}

fn frames_of(results: Vec<Demuxed>) -> Vec<Frame> {
    results.into_iter().filter_map(Result::ok).collect()
}

#[test]
fn a_pes_over_the_limit_is_dropped_and_the_next_comes_through() {
    let mut want = published();
    // A keyframe of 3000 bytes: over a 1000-byte limit.
    let big = [&[0x17, 1, 0, 0, 0, 0, 0, 0x0B, 0xB3, 0x65][..], &[0x88; 2994]].concat();
    want.insert(5, frame(FrameKind::Video, 20, &big));
    let results = demuxed(&mut Demuxer::new(1000), &[&muxed(&want)]);
    assert_eq!(
        errors(&results),
        [DemuxError::PesTooLarge {
            pid: 0x100,
            limit: 1000
        }]
    );
    want.remove(5);
    assert_same(&frames_of(results), &want);
}

#[test]
fn a_bad_sync_byte_and_a_truncated_packet_are_named_and_passed_over() {
    let want = published();
    let ts = muxed(&want);
    // After the PAT and PMT: a packet without its sync byte, then the
    // first 100 bytes of a PAT packet.
    let mut broken = ts[..2 * PACKET].to_vec();
    broken.extend_from_slice(&[0x00; PACKET]);
    broken.extend_from_slice(&ts[..100]);
    broken.extend_from_slice(&ts[2 * PACKET..]);
    let results = demuxed(&mut Demuxer::default(), &[&broken]);
    assert_eq!(
        errors(&results),
        [
            DemuxError::SyncLost {
                offset: 2 * PACKET as u64,
                byte: 0
            },
            DemuxError::Truncated {
                offset: 3 * PACKET as u64,
                pid: 0,
                len: 100
            },
        ]
    );
    assert_same(&frames_of(results), &want);
}

#[test]
fn a_lost_packet_is_a_discontinuity_and_its_pes_is_dropped() {
    let mut want = published();
    let big = [&[0x27, 1, 0, 0, 0, 0, 0, 0x01, 0xF5, 0x41][..], &[0x9C; 500]].concat();
    want.insert(5, frame(FrameKind::Video, 20, &big));
    let ts = muxed(&want);
    // The big frame's second packet: the third of PID 0x100 to start
    // with 0x47 0x01 0x00 (no unit start).
    let lost = (0..ts.len() / PACKET)
        .map(|i| i * PACKET)
        .find(|&at| ts[at + 1] == 0x01 && ts[at + 2] == 0x00)
        .expect("a continuation packet");
    let cut = [&ts[..lost], &ts[lost + PACKET..]].concat();
    let results = demuxed(&mut Demuxer::default(), &[&cut]);
    assert!(
        matches!(errors(&results)[..], [DemuxError::Discontinuity { pid: 0x100, .. }]),
        "{:?}",
        errors(&results)
    );
    want.remove(5);
    assert_same(&frames_of(results), &want);
}

#[test]
fn a_section_start_with_no_room_for_its_pointer_is_refused() {
    // PAT, unit start, an adaptation field filling the packet, yet a
    // payload flag: no byte is left for the pointer field.
    let mut packet = vec![0x47, 0x40, 0x00, 0x30, 183, 0];
    packet.resize(PACKET, 0xFF);
    let results = demuxed(&mut Demuxer::default(), &[&packet]);
    assert_eq!(
        errors(&results),
        [DemuxError::BadSection {
            pid: 0,
            what: "the pointer field runs past the packet"
        }]
    );
}

#[test]
fn errors_name_the_value() {
    let e = DemuxError::BadPes {
        offset: 376,
        pid: 256,
        stream_type: 0x1B,
        what: "it has no PTS",
    };
    assert_eq!(
        e.to_string(),
        "the PES of PID 256 (stream type 0x1B) at offset 376: it has no PTS"
    );
    let e = DemuxError::SyncLost { offset: 7, byte: 0x12 };
    assert_eq!(e.to_string(), "no sync byte at offset 7: 0x12 instead of 0x47");
}
