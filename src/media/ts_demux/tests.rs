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

// HEVC and Opus: what an Enhanced RTMP publisher (ffmpeg 6+, OBS) sends.

const HEVC_OPUS: &[u8] = include_bytes!("../../../tests/data/ffmpeg-hevc-opus-1s.ts");
/// The hvcC `ffmpeg -i ffmpeg-hevc-opus-1s.ts -c copy -tag:v hvc1` writes.
const HVCC: &[u8] = include_bytes!("../../../tests/data/ffmpeg-hevc-opus-1s.hvcC");
/// The video `ffmpeg -c copy -f hevc` takes out: Annex B access units.
const HEVC_ES: &[u8] = include_bytes!("../../../tests/data/ffmpeg-hevc-opus-1s.hevc");
/// The Opus packets `ffmpeg -c copy -f data` takes out, one after another.
const OPUS_PACKETS: &[u8] = include_bytes!("../../../tests/data/ffmpeg-hevc-opus-1s.opus");

/// Each access unit of an Annex B HEVC stream (an AUD starts each) as
/// length-prefixed NAL units, without the AUD and parameter sets.
fn hevc_samples(es: &[u8]) -> Vec<Vec<u8>> {
    let mut samples: Vec<Vec<u8>> = Vec::new();
    for unit in (annexb::AnnexB { rest: es }) {
        match (unit[0] >> 1) & 0x3F {
            35 => samples.push(Vec::new()),
            32..=34 => {}
            _ => {
                let sample = samples.last_mut().expect("an AUD first");
                sample.extend_from_slice(&(unit.len() as u32).to_be_bytes());
                sample.extend_from_slice(unit);
            }
        }
    }
    samples
}

#[test]
fn an_ffmpeg_hevc_stream_gives_enhanced_rtmp_video() {
    let frames = ok(demuxed(&mut Demuxer::default(), &[HEVC_OPUS]));
    let video = of(FrameKind::Video, &frames);
    // ffprobe: 10 frames, keyframes the 1st and 6th; DTS from 126000 by
    // 9000, PTS − DTS 18000, 45000, 18000, 0, 9000, again.
    assert_eq!(video.len(), 1 + 10);
    assert_eq!(video[0].payload, [b"\x90hvc1".as_slice(), HVCC].concat());
    assert!(video[0].is_sequence_header());
    let samples = hevc_samples(HEVC_ES);
    assert_eq!(samples.len(), 10);
    let composition = [200, 500, 200, 0, 100, 200, 500, 200, 0, 100];
    for (i, f) in video[1..].iter().enumerate() {
        let key = if i % 5 == 0 { 0x10 } else { 0x20 };
        assert_eq!(f.timestamp.0, 100 * i as u32, "frame {i}");
        assert_eq!(f.is_keyframe(), key == 0x10, "frame {i}");
        let cts: i32 = composition[i];
        let header = if cts == 0 {
            [&[0x80 | key | 3][..], b"hvc1"].concat() // CodedFramesX
        } else {
            [&[0x80 | key | 1][..], b"hvc1", &cts.to_be_bytes()[1..]].concat()
        };
        assert_eq!(f.payload[..header.len()], header[..], "frame {i}");
        assert_eq!(f.payload[header.len()..], samples[i][..], "frame {i}");
    }
}

#[test]
fn an_ffmpeg_opus_stream_gives_enhanced_rtmp_audio() {
    let frames = ok(demuxed(&mut Demuxer::default(), &[HEVC_OPUS]));
    let audio = of(FrameKind::Audio, &frames);
    // ffprobe: 51 packets of 20 ms, the first at PTS 143415 (the first
    // video DTS is 126000: 193.5 ms later), 91, 61 and 66 bytes first.
    assert_eq!(audio.len(), 1 + 51);
    // Stereo, mapping family 0; pre-skip 312 from the first packet's
    // start trim, as libopus's own header says.
    let head = b"OpusHead\x01\x02\x38\x01\x80\xBB\x00\x00\x00\x00\x00";
    assert_eq!(audio[0].payload, [b"\x90Opus".as_slice(), head].concat());
    assert!(audio[0].is_sequence_header());
    let mut packets = Vec::new();
    for (i, f) in audio[1..].iter().enumerate() {
        assert_eq!(f.payload[..5], *b"\x91Opus", "packet {i}");
        assert_eq!(f.timestamp.0, (17415 + 1800 * i as u32) / 90, "packet {i}");
        packets.extend_from_slice(&f.payload[5..]);
    }
    let sizes: Vec<usize> = audio[1..4].iter().map(|f| f.payload.len() - 5).collect();
    assert_eq!(sizes, [91, 61, 66]);
    assert_eq!(packets, OPUS_PACKETS);
}

#[test]
fn the_hevc_and_opus_stream_split_anywhere_gives_the_same_frames() {
    let want = ok(demuxed(&mut Demuxer::default(), &[HEVC_OPUS]));
    assert_eq!(want.len(), 11 + 52);
    // Every byte of the first 3 packets (PAT, PMT, the start of the first
    // video PES), then every 7th: every byte of the whole 25 KB is slow
    // unoptimised, and 7 is prime to the packet size.
    let splits = (0..=3 * PACKET).chain((3 * PACKET..=HEVC_OPUS.len()).step_by(7));
    for i in splits {
        let got = ok(demuxed(&mut Demuxer::default(), &[&HEVC_OPUS[..i], &HEVC_OPUS[i..]]));
        assert_same(&got, &want);
    }
    let bytes: Vec<&[u8]> = HEVC_OPUS.chunks(1).collect();
    assert_same(&ok(demuxed(&mut Demuxer::default(), &bytes)), &want);
}

#[test]
fn the_rest_of_the_server_reads_the_hevc_and_opus_sequence_starts() {
    use crate::media::{codec, fmp4};
    let frames = ok(demuxed(&mut Demuxer::default(), &[HEVC_OPUS]));
    let (video, audio) = (of(FrameKind::Video, &frames), of(FrameKind::Audio, &frames));
    let track = fmp4::track(FrameKind::Video, &video[0].payload).unwrap().unwrap();
    assert_eq!(
        (track.codec.as_str(), track.width, track.height),
        ("hvc1.1.6.L30.90", 160, 120)
    );
    let track = fmp4::track(FrameKind::Audio, &audio[0].payload).unwrap().unwrap();
    assert_eq!(track.codec, "opus");
    let description = codec::describe_audio(&audio[0].payload).unwrap();
    assert_eq!((description.sample_rate, description.channels), (48000, 2));
    // Through our own TS muxer (HLS) and back: the same video.
    let mut fragmenter = Fragmenter::new(Muxer::new(Some((Codec::Hevc, HVCC)), None));
    let mut ts = fragmenter.packer.tables();
    for f in &video {
        if let Some(fragment) = fragmenter.push(f.kind, &f.payload, u64::from(f.timestamp.0)) {
            ts.extend_from_slice(&fragment.bytes);
        }
    }
    for fragment in fragmenter.flush() {
        ts.extend_from_slice(&fragment.bytes);
    }
    assert_same(&ok(demuxed(&mut Demuxer::default(), &[&ts])), &video);
}

/// The first access unit of the vector: its AUD, VPS, SPS, PPS, SEI and
/// IDR slices, in Annex B.
fn first_access_unit() -> Vec<u8> {
    let second_aud = HEVC_ES[4..].windows(5).position(|w| w == [0, 0, 1, 0x46, 0x01]);
    HEVC_ES[..4 + second_aud.expect("a second AUD")].to_vec()
}

#[test]
fn a_changed_sps_sends_a_new_sequence_start() {
    let au = first_access_unit();
    let mut hevc = hevc::Hevc::default();
    let mut out = Vec::new();
    hevc.access_unit(0, 0, &au, &mut out).unwrap();
    hevc.access_unit(100, 100, &au, &mut out).unwrap();
    let starts = |out: &[Demuxed]| out.iter().filter(|f| f.as_ref().unwrap().is_sequence_header()).count();
    assert_eq!((out.len(), starts(&out)), (3, 1), "the same parameter sets: one start");
    // The SPS's level_idc, its first 0x1E (after three emulation
    // prevention bytes), from 30 to 60.
    let sps_at = au.windows(5).position(|w| w == [0, 0, 1, 0x42, 0x01]).unwrap() + 3;
    let level_at = sps_at + au[sps_at..].iter().position(|&b| b == 0x1E).unwrap();
    assert_eq!(au[sps_at + 2..level_at + 1], hex("0101600000030090000003000003001e"));
    let mut changed = au.clone();
    changed[level_at] = 60;
    hevc.access_unit(200, 200, &changed, &mut out).unwrap();
    assert_eq!((out.len(), starts(&out)), (5, 2));
    let start = out[3].as_ref().unwrap();
    assert_eq!(start.payload[5 + 12], 60, "the new record's general_level_idc");
    // Frames without parameter sets before any start: dropped.
    let mut fresh = hevc::Hevc::default();
    let slices_only = &au[au.windows(5).position(|w| w == [0, 0, 1, 0x4E, 0x01]).unwrap()..];
    fresh.access_unit(0, 0, slices_only, &mut out).unwrap();
    assert_eq!(out.len(), 5);
}

#[test]
fn opus_control_headers_with_trims_extensions_and_long_sizes() {
    let mut clock = Clock::default();
    clock.unwrap(900);
    // A 300-byte packet (sizes 255 + 45) with end trim and a 2-byte
    // extension, then a 2-byte packet: CELT 20 ms, two frames (40 ms).
    let long = [&[0xF8][..], &[0; 299]].concat();
    let mut pes = vec![0x7F, 0xE0 | 0x08 | 0x04, 0xFF, 45, 0x00, 0x10, 2, 0xAA, 0xBB];
    pes.extend_from_slice(&long);
    pes.extend_from_slice(&[0x7F, 0xE0, 2, 0xF9, 0x00]);
    pes.extend_from_slice(&[0x7F, 0xE0, 1, 0xF8]);
    let mut out = Vec::new();
    let mut opus = opus::Opus::default();
    // 5.1 (channel_config_code 6): mapping family 1, 4 streams, 2 coupled.
    opus.packets(&clock, 6, 900, &pes, &mut out).unwrap();
    let frames = frames_of(out);
    let head = b"OpusHead\x01\x06\x00\x00\x80\xBB\x00\x00\x00\x00\x01\x04\x02\x00\x04\x01\x02\x03\x05";
    assert_eq!(frames[0].payload, [b"\x90Opus".as_slice(), head].concat());
    assert_eq!(frames[1].payload, [b"\x91Opus".as_slice(), &long].concat());
    assert_eq!(frames[2].payload, b"\x91Opus\xF9\x00");
    // 20 ms after the first, then 40 ms after that.
    let ms: Vec<u32> = frames.iter().map(|f| f.timestamp.0).collect();
    assert_eq!(ms, [0, 0, 20, 60]);
    // Cut short: an error, not a panic.
    let mut out = Vec::new();
    assert!(opus.packets(&clock, 6, 900, &pes[..100], &mut out).is_err());
}
