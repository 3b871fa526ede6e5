//! Media the tests make with ffmpeg and send as Enhanced RTMP frames:
//! HEVC and Opus, which Debian's ffmpeg cannot publish.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustic_rtmp::media::{Frame, FrameKind};
use rustic_rtmp::protocol::time::RtmpTime;

use super::{ffmpeg, run, stderr};

/// HEVC (25 fps, a keyframe a second, no B-frames) and Opus (20 ms
/// packets) made once by ffmpeg under target/, as raw Annex B and Ogg.
pub fn hevc_and_opus() -> (PathBuf, PathBuf) {
    static MAKING: Mutex<()> = Mutex::new(());
    let _one = MAKING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("samples");
    fs::create_dir_all(&dir).unwrap();
    let (hevc, opus) = (dir.join("hevc-v1.hevc"), dir.join("opus-v1.ogg"));
    for (path, args) in [
        (
            &hevc,
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=25",
                "-t",
                "3",
                "-c:v",
                "libx265",
                "-x265-params",
                "bframes=0:keyint=25:log-level=error",
                "-pix_fmt",
                "yuv420p",
                "-f",
                "hevc",
            ][..],
        ),
        (
            &opus,
            &[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
                "-t",
                "3",
                "-c:a",
                "libopus",
                "-f",
                "ogg",
            ][..],
        ),
    ] {
        if path.exists() {
            continue;
        }
        let partial = path.with_extension("partial");
        let out = run(ffmpeg().args(["-y", "-loglevel", "error"]).args(args).arg(&partial));
        assert!(out.status.success(), "ffmpeg could not make {path:?}: {}", stderr(&out));
        fs::rename(&partial, path).unwrap();
    }
    (hevc, opus)
}

/// The NAL units of an Annex B stream.
pub fn nal_units(annex_b: &[u8]) -> Vec<&[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= annex_b.len() {
        if annex_b[i..i + 3] == [0, 0, 1] {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let mut units = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let mut end = starts.get(k + 1).map_or(annex_b.len(), |&next| next - 3);
        while end > start && annex_b[end - 1] == 0 {
            end -= 1; // the extra zero of a 4-byte start code
        }
        units.push(&annex_b[start..end]);
    }
    units
}

/// The packets of an Ogg stream (RFC 3533), in order.
pub fn ogg_packets(ogg: &[u8]) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut packet = Vec::new();
    let mut at = 0;
    while at + 27 <= ogg.len() {
        assert_eq!(&ogg[at..at + 4], b"OggS");
        let segments = ogg[at + 26] as usize;
        let lacing = &ogg[at + 27..at + 27 + segments];
        let mut data = at + 27 + segments;
        for &len in lacing {
            packet.extend_from_slice(&ogg[data..data + len as usize]);
            data += len as usize;
            if len < 255 {
                packets.push(std::mem::take(&mut packet));
            }
        }
        at = data;
    }
    packets
}

/// Enhanced RTMP frames of HEVC and Opus, in timestamp order.
pub fn hevc_opus_frames() -> Vec<Frame> {
    let (hevc, opus) = hevc_and_opus();
    let annex_b = fs::read(hevc).unwrap();
    let units = nal_units(&annex_b);
    let nal_type = |u: &[u8]| (u[0] >> 1) & 0x3F;
    let find = |t: u8| *units.iter().find(|u| nal_type(u) == t).expect("VPS, SPS and PPS");
    let (vps, sps, pps) = (find(32), find(33), find(34));
    // HEVCDecoderConfigurationRecord: the SPS's profile_tier_level gives
    // bytes 1-12; 4:2:0, 8 bits, 4-byte lengths, then the three arrays.
    let mut record = vec![1];
    record.extend_from_slice(&sps[3..15]);
    record.extend_from_slice(&[0xF0, 0x00, 0xFC, 0xFD, 0xF8, 0xF8, 0, 0, 0x0F, 3]);
    for unit in [vps, sps, pps] {
        record.push(0x80 | nal_type(unit));
        record.extend_from_slice(&1u16.to_be_bytes());
        record.extend_from_slice(&(unit.len() as u16).to_be_bytes());
        record.extend_from_slice(unit);
    }
    let frame = |kind, ms: u32, payload: Vec<u8>| Frame {
        kind,
        timestamp: RtmpTime(ms),
        payload,
    };
    let mut video = vec![frame(FrameKind::Video, 0, [b"\x90hvc1", &record[..]].concat())];
    for (picture, unit) in units.iter().filter(|u| nal_type(u) < 32).enumerate() {
        // One slice a picture (x265's default); IRAP pictures are keyframes.
        let key = (16..=23).contains(&nal_type(unit));
        let mut body = if key {
            b"\x93hvc1".to_vec()
        } else {
            b"\xA3hvc1".to_vec()
        };
        body.extend_from_slice(&(unit.len() as u32).to_be_bytes());
        body.extend_from_slice(unit);
        video.push(frame(FrameKind::Video, picture as u32 * 40, body));
    }
    let packets = ogg_packets(&fs::read(opus).unwrap());
    assert!(packets[0].starts_with(b"OpusHead") && packets[1].starts_with(b"OpusTags"));
    let mut audio = vec![frame(FrameKind::Audio, 0, [b"\x90Opus", &packets[0][..]].concat())];
    for (i, packet) in packets[2..].iter().enumerate() {
        audio.push(frame(
            FrameKind::Audio,
            i as u32 * 20,
            [b"\x91Opus", &packet[..]].concat(),
        ));
    }
    let mut frames: Vec<Frame> = video.into_iter().chain(audio).collect();
    // Configuration first, then by timestamp, video before audio at a tie.
    frames.sort_by_key(|f| (f.payload[0] & 0x0F != 0, f.timestamp.0, f.kind != FrameKind::Video));
    frames
}
