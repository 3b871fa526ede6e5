//! Tracks and the init segment (`ftyp` + `moov`): a track per sequence
//! header, with its sample entry (`avc1`, `hvc1`, `av01`, `vp09`, `mp4a`,
//! `Opus`) and the codec string Media Source Extensions take.

use super::boxes::{put_box, put_full_box, put_matrix};
use super::sample::{Codec, Fmp4Error, configuration};
use crate::media::FrameKind;
use crate::media::codec::{self, AudioInfo, CodecError, VideoInfo};

/// The video track's id; audio is `AUDIO_TRACK`, whichever tracks exist.
pub const VIDEO_TRACK: u32 = 1;
/// The audio track's id.
pub const AUDIO_TRACK: u32 = 2;
/// Ticks per second of every track.
pub const TIMESCALE: u32 = 1000;

/// One track of the init segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Track {
    /// `VIDEO_TRACK` or `AUDIO_TRACK`.
    pub id: u32,
    /// The codec string Media Source Extensions take (`avc1.64001f`).
    pub codec: String,
    /// Picture size (video), in pixels.
    pub width: u32,
    /// Picture height (video).
    pub height: u32,
    /// The sample entry box (`avc1`, `mp4a`, ...).
    sample_entry: Vec<u8>,
}

/// The track that a sequence header of `kind` configures. For MP3, which
/// has none, any frame does. `None` for bodies that configure nothing.
pub fn track(kind: FrameKind, body: &[u8]) -> Result<Option<Track>, Fmp4Error> {
    let Some((codec, config)) = configuration(kind, body)? else {
        return Ok(None);
    };
    let track = match codec {
        Codec::Avc => {
            let sps = codec::avc_record_sps(config)?;
            video_track(
                codec::avc_codec_string(sps),
                codec::h264_sps(sps)?,
                *b"avc1",
                *b"avcC",
                config,
            )
        }
        Codec::Hevc => {
            let info = codec::hevc_sps(codec::hevc_record_sps(config)?)?;
            video_track(codec::hevc_codec_string(config), info, *b"hvc1", *b"hvcC", config)
        }
        Codec::Av1 => video_track(
            av1_codec_string(config),
            VideoInfo::unknown(),
            *b"av01",
            *b"av1C",
            config,
        ),
        Codec::Vp9 => {
            // vpcC is a full box (version 1) around the record.
            let mut vpcc = vec![1, 0, 0, 0];
            vpcc.extend_from_slice(config);
            video_track(
                vp9_codec_string(config),
                VideoInfo::unknown(),
                *b"vp09",
                *b"vpcC",
                &vpcc,
            )
        }
        Codec::Aac => {
            let info = codec::aac_config(config)?;
            audio_track(codec::aac_codec_string(&info), info, *b"mp4a", &esds(0x40, config))
        }
        Codec::Opus => {
            let info = codec::opus_head(config)?;
            audio_track("opus".into(), info, *b"Opus", &dops(config))
        }
        Codec::Mp3 => {
            let info = mp3_header(config)?;
            audio_track("mp3".into(), info, *b"mp4a", &esds(0x6B, &[]))
        }
    };
    Ok(Some(track))
}

impl VideoInfo {
    /// A picture whose size the record does not say (AV1, VP9): players
    /// read it from the bitstream.
    fn unknown() -> VideoInfo {
        VideoInfo {
            width: 0,
            height: 0,
            fps: None,
            profile: 0,
            level: 0,
        }
    }
}

fn video_track(codec: String, info: VideoInfo, entry: [u8; 4], config_box: [u8; 4], config: &[u8]) -> Track {
    let mut sample_entry = Vec::new();
    let (w, h) = (info.width.min(0xFFFF) as u16, info.height.min(0xFFFF) as u16);
    put_box(&mut sample_entry, &entry, |out| {
        out.extend_from_slice(&[0; 6]); // reserved
        out.extend_from_slice(&1u16.to_be_bytes()); // data_reference_index
        out.extend_from_slice(&[0; 16]); // pre_defined, reserved
        out.extend_from_slice(&w.to_be_bytes());
        out.extend_from_slice(&h.to_be_bytes());
        out.extend_from_slice(&0x0048_0000u32.to_be_bytes()); // 72 dpi
        out.extend_from_slice(&0x0048_0000u32.to_be_bytes());
        out.extend_from_slice(&[0; 4]); // reserved
        out.extend_from_slice(&1u16.to_be_bytes()); // frame_count
        out.extend_from_slice(&[0; 32]); // compressorname
        out.extend_from_slice(&0x0018u16.to_be_bytes()); // depth
        out.extend_from_slice(&(-1i16).to_be_bytes()); // pre_defined
        put_box(out, &config_box, |out| out.extend_from_slice(config));
    });
    Track {
        id: VIDEO_TRACK,
        codec,
        width: info.width,
        height: info.height,
        sample_entry,
    }
}

fn audio_track(codec: String, info: AudioInfo, entry: [u8; 4], config: &[u8]) -> Track {
    let mut sample_entry = Vec::new();
    // Rates past 16 bits cannot be written here; the configuration says.
    let rate = if info.sample_rate > 0xFFFF { 0 } else { info.sample_rate };
    put_box(&mut sample_entry, &entry, |out| {
        out.extend_from_slice(&[0; 6]);
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&[0; 8]); // reserved
        out.extend_from_slice(&u16::from(info.channels).to_be_bytes());
        out.extend_from_slice(&16u16.to_be_bytes()); // samplesize
        out.extend_from_slice(&[0; 4]); // pre_defined, reserved
        out.extend_from_slice(&(rate << 16).to_be_bytes());
        out.extend_from_slice(config);
    });
    Track {
        id: AUDIO_TRACK,
        codec,
        width: 0,
        height: 0,
        sample_entry,
    }
}

/// An `esds` box (ISO 14496-1 §7.2.6.5) for `object_type` (0x40 AAC,
/// 0x6B MP3) with `specific` as its DecoderSpecificInfo, if any.
fn esds(object_type: u8, specific: &[u8]) -> Vec<u8> {
    fn descriptor(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
        out.push(tag);
        // Sizes in 7-bit groups, high first, every byte but the last
        // flagged 0x80: four bytes always, as most muxers write them.
        let len = body.len() as u32;
        for shift in [21, 14, 7] {
            out.push(0x80 | ((len >> shift) & 0x7F) as u8);
        }
        out.push((len & 0x7F) as u8);
        out.extend_from_slice(body);
    }
    let mut config = vec![object_type, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    if !specific.is_empty() {
        descriptor(&mut config, 0x05, specific);
    }
    let mut es = vec![0, 0, 0]; // ES_ID, flags
    descriptor(&mut es, 0x04, &config);
    descriptor(&mut es, 0x06, &[0x02]);
    let mut out = Vec::new();
    put_full_box(&mut out, b"esds", 0, 0, |out| descriptor(out, 0x03, &es));
    out
}

/// A `dOps` box (Opus in ISO BMFF §4.3.2) from an Opus ID header, whose
/// fields are little-endian where dOps's are big-endian.
fn dops(head: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    put_box(&mut out, b"dOps", |out| {
        out.push(0); // version
        out.push(head[9]); // OutputChannelCount
        out.extend_from_slice(&[head[11], head[10]]); // PreSkip
        out.extend_from_slice(&[head[15], head[14], head[13], head[12]]); // InputSampleRate
        out.extend_from_slice(&[head[17], head[16]]); // OutputGain
        out.push(head[18]); // ChannelMappingFamily
        if head[18] != 0 {
            out.extend_from_slice(head.get(19..21 + head[9] as usize).unwrap_or_default());
        }
    });
    out
}

/// The rate and channels of an MPEG audio frame header.
fn mp3_header(frame: &[u8]) -> Result<AudioInfo, CodecError> {
    let h = frame.get(..4).ok_or(CodecError::Truncated("MP3 frame header"))?;
    if h[0] != 0xFF || h[1] & 0xE0 != 0xE0 {
        return Err(CodecError::Unsupported("MP3 sync", u32::from(h[0])));
    }
    let base = [44100, 48000, 32000]
        .get(((h[2] >> 2) & 3) as usize)
        .ok_or(CodecError::Unsupported("MP3 sample rate index", 3))?;
    let divisor = match (h[1] >> 3) & 3 {
        3 => 1, // MPEG-1
        2 => 2, // MPEG-2
        _ => 4, // MPEG-2.5
    };
    Ok(AudioInfo {
        sample_rate: base / divisor,
        channels: if h[3] >> 6 == 3 { 1 } else { 2 },
        object_type: 0,
    })
}

/// `av01.P.LLT.DD` from an AV1CodecConfigurationRecord.
fn av1_codec_string(record: &[u8]) -> String {
    let Some(r) = record.get(..3) else {
        return "av01".into();
    };
    let (profile, level) = (r[1] >> 5, r[1] & 0x1F);
    let tier = if r[2] & 0x80 != 0 { 'H' } else { 'M' };
    let depth = match (r[2] & 0x40 != 0, r[2] & 0x20 != 0) {
        (true, true) => 12,
        (true, false) => 10,
        _ => 8,
    };
    format!("av01.{profile}.{level:02}{tier}.{depth:02}")
}

/// `vp09.PP.LL.DD` from a VPCodecConfigurationRecord.
fn vp9_codec_string(record: &[u8]) -> String {
    match record.get(..3) {
        Some(r) => format!("vp09.{:02}.{:02}.{:02}", r[0], r[1], r[2] >> 4),
        None => "vp09".into(),
    }
}

/// The init segment for `tracks`: `ftyp` and a `moov` with no samples.
pub fn init_segment(tracks: &[Track]) -> Vec<u8> {
    let mut out = Vec::new();
    put_box(&mut out, b"ftyp", |out| {
        out.extend_from_slice(b"iso5");
        out.extend_from_slice(&0x200u32.to_be_bytes());
        out.extend_from_slice(b"iso5iso6mp41");
    });
    put_box(&mut out, b"moov", |out| {
        put_full_box(out, b"mvhd", 0, 0, |out| {
            out.extend_from_slice(&[0; 8]); // creation, modification
            out.extend_from_slice(&TIMESCALE.to_be_bytes());
            out.extend_from_slice(&[0; 4]); // duration: unknown, live
            out.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
            out.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
            out.extend_from_slice(&[0; 10]);
            put_matrix(out);
            out.extend_from_slice(&[0; 24]); // pre_defined
            out.extend_from_slice(&(AUDIO_TRACK + 1).to_be_bytes()); // next_track_ID
        });
        for track in tracks {
            put_trak(out, track);
        }
        put_box(out, b"mvex", |out| {
            for track in tracks {
                put_full_box(out, b"trex", 0, 0, |out| {
                    out.extend_from_slice(&track.id.to_be_bytes());
                    out.extend_from_slice(&1u32.to_be_bytes()); // sample description
                    out.extend_from_slice(&[0; 12]); // duration, size, flags
                });
            }
        });
    });
    out
}

fn put_trak(out: &mut Vec<u8>, track: &Track) {
    let video = track.id == VIDEO_TRACK;
    put_box(out, b"trak", |out| {
        // Flags: enabled, in movie.
        put_full_box(out, b"tkhd", 0, 3, |out| {
            out.extend_from_slice(&[0; 8]);
            out.extend_from_slice(&track.id.to_be_bytes());
            out.extend_from_slice(&[0; 4]); // reserved
            out.extend_from_slice(&[0; 4]); // duration
            out.extend_from_slice(&[0; 8]); // reserved
            out.extend_from_slice(&[0; 4]); // layer, alternate_group
            out.extend_from_slice(&(if video { 0u16 } else { 0x0100 }).to_be_bytes());
            out.extend_from_slice(&[0; 2]);
            put_matrix(out);
            out.extend_from_slice(&(track.width.min(0xFFFF) << 16).to_be_bytes());
            out.extend_from_slice(&(track.height.min(0xFFFF) << 16).to_be_bytes());
        });
        put_box(out, b"mdia", |out| {
            put_full_box(out, b"mdhd", 0, 0, |out| {
                out.extend_from_slice(&[0; 8]);
                out.extend_from_slice(&TIMESCALE.to_be_bytes());
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&0x55C4u16.to_be_bytes()); // "und"
                out.extend_from_slice(&[0; 2]);
            });
            put_full_box(out, b"hdlr", 0, 0, |out| {
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(if video { b"vide" } else { b"soun" });
                out.extend_from_slice(&[0; 12]);
                out.extend_from_slice(if video { b"VideoHandler\0" } else { b"SoundHandler\0" });
            });
            put_box(out, b"minf", |out| {
                if video {
                    put_full_box(out, b"vmhd", 0, 1, |out| out.extend_from_slice(&[0; 8]));
                } else {
                    put_full_box(out, b"smhd", 0, 0, |out| out.extend_from_slice(&[0; 4]));
                }
                put_box(out, b"dinf", |out| {
                    put_full_box(out, b"dref", 0, 0, |out| {
                        out.extend_from_slice(&1u32.to_be_bytes());
                        // The media is in this file.
                        put_full_box(out, b"url ", 0, 1, |_| {});
                    });
                });
                put_box(out, b"stbl", |out| {
                    put_full_box(out, b"stsd", 0, 0, |out| {
                        out.extend_from_slice(&1u32.to_be_bytes());
                        out.extend_from_slice(&track.sample_entry);
                    });
                    for kind in [b"stts", b"stsc", b"stco"] {
                        put_full_box(out, kind, 0, 0, |out| out.extend_from_slice(&[0; 4]));
                    }
                    put_full_box(out, b"stsz", 0, 0, |out| out.extend_from_slice(&[0; 8]));
                });
            });
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::fmp4::tests::avc_header;

    #[test]
    fn tracks_from_sequence_headers() {
        let video = track(FrameKind::Video, &avc_header()).unwrap().unwrap();
        assert_eq!((video.id, video.codec.as_str()), (VIDEO_TRACK, "avc1.64000d"));
        assert_eq!((video.width, video.height), (320, 240));
        assert_eq!(&video.sample_entry[4..8], b"avc1");
        assert_eq!(&video.sample_entry[86 + 4..86 + 8], b"avcC");
        assert_eq!(&video.sample_entry[86 + 8..], &avc_header()[5..]);
        let audio = track(FrameKind::Audio, &[0xAF, 0, 0x12, 0x10]).unwrap().unwrap();
        assert_eq!((audio.id, audio.codec.as_str()), (AUDIO_TRACK, "mp4a.40.2"));
        // Channels 2, sample size 16, rate 44100 in 16.16.
        assert_eq!(&audio.sample_entry[24..28], &[0, 2, 0, 16]);
        assert_eq!(&audio.sample_entry[32..36], &[0xAC, 0x44, 0, 0]);
        assert_eq!(
            track(FrameKind::Video, &[0x27, 1, 0, 0, 0, 9]).unwrap(),
            None,
            "a frame"
        );
        assert_eq!(
            track(FrameKind::Audio, &[0xB2, 0x00]),
            Err(Fmp4Error::Unsupported("FLV audio codec 11".into())),
            "Speex"
        );
    }

    #[test]
    fn esds_is_byte_exact() {
        let esds = esds(0x40, &[0x12, 0x10]);
        #[rustfmt::skip]
        let expected = [
            0, 0, 0, 0x33, b'e', b's', b'd', b's', 0, 0, 0, 0,
            0x03, 0x80, 0x80, 0x80, 0x22, 0, 0, 0, // ES_Descriptor, ES_ID 0, flags 0
            0x04, 0x80, 0x80, 0x80, 0x14, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0x05, 0x80, 0x80, 0x80, 0x02, 0x12, 0x10,
            0x06, 0x80, 0x80, 0x80, 0x01, 0x02,
        ];
        assert_eq!(esds, expected);
    }

    #[test]
    fn dops_turns_the_opus_header_big_endian() {
        let head = b"OpusHead\x01\x02\x38\x01\x80\xBB\x00\x00\x00\x00\x00";
        assert_eq!(
            dops(head),
            [
                0, 0, 0, 19, b'd', b'O', b'p', b's', 0, 2, 0x01, 0x38, 0, 0, 0xBB, 0x80, 0, 0, 0
            ]
        );
    }
    #[test]
    fn av1_vp9_and_mp3_tracks() {
        // AV1CodecConfigurationRecord: marker/version, profile 0 level 8
        // (4.0), main tier, 8 bits.
        let av1 = track(FrameKind::Video, b"\x90av01\x81\x08\x0C\x00").unwrap().unwrap();
        assert_eq!(av1.codec, "av01.0.08M.08");
        assert_eq!(&av1.sample_entry[4..8], b"av01");
        // VPCodecConfigurationRecord: profile 0, level 31, 8 bits.
        let vp9 = track(FrameKind::Video, b"\x90vp09\x00\x1F\x80\x02\x02\x02\x00\x00")
            .unwrap()
            .unwrap();
        assert_eq!(vp9.codec, "vp09.00.31.08");
        let vpcc = vp9.sample_entry.windows(4).position(|w| w == b"vpcC").unwrap();
        assert_eq!(vp9.sample_entry[vpcc + 4], 1, "vpcC is a version 1 full box");
        // MPEG-1 Layer III, 48 kHz, joint stereo: from the first frame.
        let mp3 = track(FrameKind::Audio, &[0x2F, 0xFF, 0xFB, 0x94, 0x44])
            .unwrap()
            .unwrap();
        assert_eq!((mp3.id, mp3.codec.as_str()), (AUDIO_TRACK, "mp3"));
        assert_eq!(&mp3.sample_entry[24..26], &[0, 2]);
        assert_eq!(&mp3.sample_entry[32..34], &48000u16.to_be_bytes());
        assert!(mp3.sample_entry.windows(4).any(|w| w == b"esds"));
    }

    #[test]
    fn init_segment_holds_each_track() {
        let video = track(FrameKind::Video, &avc_header()).unwrap().unwrap();
        let audio = track(FrameKind::Audio, &[0xAF, 0, 0x12, 0x10]).unwrap().unwrap();
        let init = init_segment(&[video, audio]);
        assert_eq!(&init[4..8], b"ftyp");
        let count = |kind: &[u8]| init.windows(4).filter(|w| *w == kind).count();
        assert_eq!(
            (count(b"trak"), count(b"trex"), count(b"avcC"), count(b"esds")),
            (2, 2, 1, 1)
        );
        assert_eq!(&init[..4], &[0, 0, 0, 28]);
        let moov = u32::from_be_bytes(init[28..32].try_into().unwrap()) as usize;
        assert_eq!(&init[32..36], b"moov");
        assert_eq!(28 + moov, init.len(), "sizes add up");
    }
}
