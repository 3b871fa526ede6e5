//! Codec configuration records: what a player needs to know before the
//! first frame. H.264 and HEVC sequence parameter sets (picture size,
//! frame rate, profile and level), AAC's AudioSpecificConfig, Opus's ID
//! header, and the codec strings browsers' Media Source Extensions take.

use std::fmt;

use super::FrameKind;
use super::tag::Codec;

/// Why a configuration record could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The record ended before a field.
    Truncated(&'static str),
    /// A field holds a value this reader does not handle.
    Unsupported(&'static str, u32),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Truncated(what) => write!(f, "{what} is cut short"),
            CodecError::Unsupported(what, value) => write!(f, "{what} {value} is not supported"),
        }
    }
}

/// What a video sequence header says about the picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VideoInfo {
    /// Width in pixels, after cropping.
    pub width: u32,
    /// Height in pixels, after cropping.
    pub height: u32,
    /// Frames per second, when the stream says (H.264 VUI timing).
    pub fps: Option<f64>,
    /// `profile_idc`.
    pub profile: u8,
    /// `level_idc`.
    pub level: u8,
}

/// What an audio configuration says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioInfo {
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u8,
    /// AAC's audio object type (2 for AAC-LC); 0 for other codecs.
    pub object_type: u8,
}

/// Reads bits most significant first, with Exp-Golomb codes (H.264
/// §9.1), over a NAL unit's payload with emulation prevention removed.
struct Bits {
    bytes: Vec<u8>,
    at: usize,
}

impl Bits {
    /// The RBSP of a NAL unit: every `00 00 03` becomes `00 00`.
    fn rbsp(nal: &[u8]) -> Bits {
        let mut bytes = Vec::with_capacity(nal.len());
        let mut zeros = 0;
        for &b in nal {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            bytes.push(b);
        }
        Bits { bytes, at: 0 }
    }

    fn bit(&mut self, what: &'static str) -> Result<u32, CodecError> {
        let byte = self.bytes.get(self.at / 8).ok_or(CodecError::Truncated(what))?;
        let bit = (byte >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Ok(bit as u32)
    }

    fn bits(&mut self, n: u32, what: &'static str) -> Result<u32, CodecError> {
        (0..n).try_fold(0, |v, _| Ok((v << 1) | self.bit(what)?))
    }

    fn skip(&mut self, n: usize, what: &'static str) -> Result<(), CodecError> {
        self.at += n;
        match self.at <= self.bytes.len() * 8 {
            true => Ok(()),
            false => Err(CodecError::Truncated(what)),
        }
    }

    /// ue(v); values past 32 bits are refused.
    fn ue(&mut self, what: &'static str) -> Result<u32, CodecError> {
        let mut zeros = 0;
        while self.bit(what)? == 0 {
            zeros += 1;
            if zeros > 31 {
                return Err(CodecError::Unsupported(what, zeros));
            }
        }
        Ok(((1u64 << zeros) - 1 + self.bits(zeros, what)? as u64) as u32)
    }

    /// se(v).
    fn se(&mut self, what: &'static str) -> Result<i32, CodecError> {
        let k = self.ue(what)? as i64;
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) } as i32)
    }
}

/// The first SPS of an AVCDecoderConfigurationRecord (ISO 14496-15
/// §5.3.3.1), the body of an H.264 sequence header after its 5-byte tag
/// header.
pub fn avc_record_sps(record: &[u8]) -> Result<&[u8], CodecError> {
    let count = record.get(5).ok_or(CodecError::Truncated("avcC"))? & 0x1F;
    if count == 0 {
        return Err(CodecError::Unsupported("avcC with SPS count", 0));
    }
    let len = record
        .get(6..8)
        .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
        .ok_or(CodecError::Truncated("avcC"))?;
    record.get(8..8 + len).ok_or(CodecError::Truncated("avcC SPS"))
}

/// Reads an H.264 SPS NAL unit (§7.3.2.1.1), header byte included.
pub fn h264_sps(nal: &[u8]) -> Result<VideoInfo, CodecError> {
    let mut b = Bits::rbsp(nal.get(1..).ok_or(CodecError::Truncated("SPS"))?);
    let profile = b.bits(8, "profile_idc")? as u8;
    b.skip(8, "constraint flags")?;
    let level = b.bits(8, "level_idc")? as u8;
    b.ue("seq_parameter_set_id")?;
    let mut chroma_format = 1;
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format = b.ue("chroma_format_idc")?;
        if chroma_format == 3 {
            b.skip(1, "separate_colour_plane_flag")?;
        }
        b.ue("bit_depth_luma")?;
        b.ue("bit_depth_chroma")?;
        b.skip(1, "qpprime_y_zero_transform_bypass_flag")?;
        if b.bit("seq_scaling_matrix_present_flag")? == 1 {
            for i in 0..if chroma_format == 3 { 12 } else { 8 } {
                if b.bit("seq_scaling_list_present_flag")? == 1 {
                    skip_scaling_list(&mut b, if i < 6 { 16 } else { 64 })?;
                }
            }
        }
    }
    b.ue("log2_max_frame_num_minus4")?;
    match b.ue("pic_order_cnt_type")? {
        0 => {
            b.ue("log2_max_pic_order_cnt_lsb_minus4")?;
        }
        1 => {
            b.skip(1, "delta_pic_order_always_zero_flag")?;
            b.se("offset_for_non_ref_pic")?;
            b.se("offset_for_top_to_bottom_field")?;
            let cycle = b.ue("num_ref_frames_in_pic_order_cnt_cycle")?;
            if cycle > 255 {
                return Err(CodecError::Unsupported("num_ref_frames_in_pic_order_cnt_cycle", cycle));
            }
            for _ in 0..cycle {
                b.se("offset_for_ref_frame")?;
            }
        }
        _ => {}
    }
    b.ue("max_num_ref_frames")?;
    b.skip(1, "gaps_in_frame_num_value_allowed_flag")?;
    let width_mbs = b.ue("pic_width_in_mbs_minus1")? as u64 + 1;
    let height_units = b.ue("pic_height_in_map_units_minus1")? as u64 + 1;
    let frame_mbs_only = b.bit("frame_mbs_only_flag")? as u64;
    if frame_mbs_only == 0 {
        b.skip(1, "mb_adaptive_frame_field_flag")?;
    }
    b.skip(1, "direct_8x8_inference_flag")?;
    let mut crop = [0u64; 4];
    if b.bit("frame_cropping_flag")? == 1 {
        for c in &mut crop {
            *c = b.ue("frame_crop_offset")? as u64;
        }
    }
    let (unit_x, unit_y) = crop_units(chroma_format);
    let unit_y = unit_y * (2 - frame_mbs_only);
    let width = (width_mbs * 16).saturating_sub(unit_x * (crop[0] + crop[1]));
    let height = ((2 - frame_mbs_only) * height_units * 16).saturating_sub(unit_y * (crop[2] + crop[3]));
    let fps = if b.bit("vui_parameters_present_flag")? == 1 {
        vui_fps(&mut b)?
    } else {
        None
    };
    Ok(VideoInfo {
        width: width.min(u32::MAX as u64) as u32,
        height: height.min(u32::MAX as u64) as u32,
        fps,
        profile,
        level,
    })
}

/// The crop offsets' units, across and down, for a `chroma_format_idc`
/// (H.264 Table 6-1, H.265 Table 6-1 alike): chroma samples for 4:2:0 and
/// 4:2:2, luma samples for monochrome and 4:4:4.
fn crop_units(chroma_format: u32) -> (u64, u64) {
    match chroma_format {
        1 => (2, 2),
        2 => (2, 1),
        _ => (1, 1),
    }
}

/// Skips a scaling list of `size` entries (§7.3.2.1.1.1).
fn skip_scaling_list(b: &mut Bits, size: usize) -> Result<(), CodecError> {
    let (mut last, mut next) = (8i32, 8i32);
    for _ in 0..size {
        if next != 0 {
            next = (last + b.se("delta_scale")? + 256) % 256;
        }
        if next != 0 {
            last = next;
        }
    }
    Ok(())
}

/// The frame rate the VUI's timing info gives (§E.1.1), if present.
fn vui_fps(b: &mut Bits) -> Result<Option<f64>, CodecError> {
    if b.bit("aspect_ratio_info_present_flag")? == 1 && b.bits(8, "aspect_ratio_idc")? == 255 {
        b.skip(32, "sar")?;
    }
    if b.bit("overscan_info_present_flag")? == 1 {
        b.skip(1, "overscan_appropriate_flag")?;
    }
    if b.bit("video_signal_type_present_flag")? == 1 {
        b.skip(4, "video_format, video_full_range_flag")?;
        if b.bit("colour_description_present_flag")? == 1 {
            b.skip(24, "colour description")?;
        }
    }
    if b.bit("chroma_loc_info_present_flag")? == 1 {
        b.ue("chroma_sample_loc_type_top_field")?;
        b.ue("chroma_sample_loc_type_bottom_field")?;
    }
    if b.bit("timing_info_present_flag")? == 0 {
        return Ok(None);
    }
    let units = b.bits(32, "num_units_in_tick")?;
    let scale = b.bits(32, "time_scale")?;
    // A frame is two ticks (field-based timing).
    Ok((units > 0).then(|| scale as f64 / (2.0 * units as f64)))
}

/// The first SPS of an HEVCDecoderConfigurationRecord (ISO 14496-15
/// §8.3.3.1).
pub fn hevc_record_sps(record: &[u8]) -> Result<&[u8], CodecError> {
    const SPS: u8 = 33;
    let arrays = *record.get(22).ok_or(CodecError::Truncated("hvcC"))?;
    let mut at = 23;
    for _ in 0..arrays {
        let t = record.get(at..at + 3).ok_or(CodecError::Truncated("hvcC array"))?;
        let (nal_type, count) = (t[0] & 0x3F, u16::from_be_bytes([t[1], t[2]]));
        at += 3;
        for _ in 0..count {
            let len = record
                .get(at..at + 2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
                .ok_or(CodecError::Truncated("hvcC NAL unit"))?;
            let nal = record
                .get(at + 2..at + 2 + len)
                .ok_or(CodecError::Truncated("hvcC NAL unit"))?;
            if nal_type == SPS {
                return Ok(nal);
            }
            at += 2 + len;
        }
    }
    Err(CodecError::Unsupported("hvcC with SPS count", 0))
}

/// What an HEVCDecoderConfigurationRecord (ISO 14496-15 §8.3.3.1) takes
/// from an SPS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HevcSpsFields {
    /// The general profile_tier_level as the SPS holds it: profile space,
    /// tier and profile idc, 32 compatibility flags, 48 constraint bits,
    /// level idc; the record's bytes 1 to 12.
    pub profile_tier_level: [u8; 12],
    /// `chroma_format_idc`.
    pub chroma_format: u8,
    /// `bit_depth_luma_minus8`.
    pub bit_depth_luma_minus8: u8,
    /// `bit_depth_chroma_minus8`.
    pub bit_depth_chroma_minus8: u8,
    /// `sps_max_sub_layers_minus1` + 1.
    pub sub_layers: u8,
    /// `sps_temporal_id_nesting_flag`.
    pub temporal_id_nesting: bool,
}

/// Reads the picture size of an HEVC SPS NAL unit (H.265 §7.3.2.2), its
/// 2-byte header included.
pub fn hevc_sps(nal: &[u8]) -> Result<VideoInfo, CodecError> {
    read_hevc_sps(nal).map(|(info, _)| info)
}

/// Reads what an HEVC SPS NAL unit (H.265 §7.3.2.2, its 2-byte header
/// included) gives a decoder configuration record.
pub fn hevc_sps_fields(nal: &[u8]) -> Result<HevcSpsFields, CodecError> {
    read_hevc_sps(nal).map(|(_, fields)| fields)
}

/// An HEVC SPS up to its bit depths.
fn read_hevc_sps(nal: &[u8]) -> Result<(VideoInfo, HevcSpsFields), CodecError> {
    let mut b = Bits::rbsp(nal.get(2..).ok_or(CodecError::Truncated("SPS"))?);
    b.skip(4, "sps_video_parameter_set_id")?;
    let sub_layers = b.bits(3, "sps_max_sub_layers_minus1")?;
    let temporal_id_nesting = b.bit("sps_temporal_id_nesting_flag")? == 1;
    // profile_tier_level(1, sub_layers): general profile space, tier and
    // idc, 32 compatibility flags, 48 constraint bits, level.
    let mut profile_tier_level = [0; 12];
    for byte in &mut profile_tier_level {
        *byte = b.bits(8, "general profile_tier_level")? as u8;
    }
    let profile = profile_tier_level[0] & 0x1F;
    let level = profile_tier_level[11];
    let mut present = Vec::new();
    for _ in 0..sub_layers {
        present.push((
            b.bit("sub_layer_profile_present_flag")?,
            b.bit("sub_layer_level_present_flag")?,
        ));
    }
    if sub_layers > 0 {
        b.skip(2 * (8 - sub_layers as usize), "reserved_zero_2bits")?;
    }
    for (profile_present, level_present) in present {
        b.skip(
            88 * profile_present as usize + 8 * level_present as usize,
            "sub-layer profile",
        )?;
    }
    b.ue("sps_seq_parameter_set_id")?;
    let chroma_format = b.ue("chroma_format_idc")?;
    if chroma_format > 3 {
        return Err(CodecError::Unsupported("chroma_format_idc", chroma_format));
    }
    if chroma_format == 3 {
        b.skip(1, "separate_colour_plane_flag")?;
    }
    let width = b.ue("pic_width_in_luma_samples")? as u64;
    let height = b.ue("pic_height_in_luma_samples")? as u64;
    let mut crop = [0u64; 4];
    if b.bit("conformance_window_flag")? == 1 {
        for c in &mut crop {
            *c = b.ue("conf_win_offset")? as u64;
        }
    }
    let mut depth = |what| match b.ue(what)? {
        // The record holds each in 3 bits (8 to 15 bits a sample).
        minus8 @ 0..=7 => Ok(minus8 as u8),
        other => Err(CodecError::Unsupported(what, other)),
    };
    let bit_depth_luma_minus8 = depth("bit_depth_luma_minus8")?;
    let bit_depth_chroma_minus8 = depth("bit_depth_chroma_minus8")?;
    let (unit_x, unit_y) = crop_units(chroma_format);
    let info = VideoInfo {
        width: width.saturating_sub(unit_x * (crop[0] + crop[1])).min(u32::MAX as u64) as u32,
        height: height.saturating_sub(unit_y * (crop[2] + crop[3])).min(u32::MAX as u64) as u32,
        fps: None,
        profile,
        level,
    };
    let fields = HevcSpsFields {
        profile_tier_level,
        chroma_format: chroma_format as u8,
        bit_depth_luma_minus8,
        bit_depth_chroma_minus8,
        sub_layers: sub_layers as u8 + 1,
        temporal_id_nesting,
    };
    Ok((info, fields))
}

/// Reads an AAC AudioSpecificConfig (ISO 14496-3 §1.6.2.1).
pub fn aac_config(asc: &[u8]) -> Result<AudioInfo, CodecError> {
    const RATES: [u32; 13] = [
        96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
    ];
    let mut b = Bits {
        bytes: asc.to_vec(),
        at: 0,
    };
    let mut object_type = b.bits(5, "audioObjectType")?;
    if object_type == 31 {
        object_type = 32 + b.bits(6, "audioObjectTypeExt")?;
    }
    let index = b.bits(4, "samplingFrequencyIndex")?;
    let sample_rate = match index {
        15 => b.bits(24, "samplingFrequency")?,
        i => *RATES
            .get(i as usize)
            .ok_or(CodecError::Unsupported("samplingFrequencyIndex", i))?,
    };
    let channels = b.bits(4, "channelConfiguration")?;
    Ok(AudioInfo {
        sample_rate,
        // Configuration 7 is 7.1: eight channels.
        channels: if channels == 7 { 8 } else { channels as u8 },
        object_type: object_type.min(255) as u8,
    })
}

/// Reads an Opus ID header (RFC 7845 §5.1, `OpusHead`).
pub fn opus_head(head: &[u8]) -> Result<AudioInfo, CodecError> {
    if head.get(..8) != Some(b"OpusHead") || head.len() < 19 {
        return Err(CodecError::Truncated("OpusHead"));
    }
    Ok(AudioInfo {
        sample_rate: u32::from_le_bytes([head[12], head[13], head[14], head[15]]),
        channels: head[9],
        object_type: 0,
    })
}

/// The MSE codec string of an AVC SPS: `avc1.PPCCLL` (RFC 6381 §3.3).
pub fn avc_codec_string(sps: &[u8]) -> String {
    match sps.get(1..4) {
        Some(p) => format!("avc1.{:02x}{:02x}{:02x}", p[0], p[1], p[2]),
        None => "avc1".into(),
    }
}

/// The MSE codec string of an HEVCDecoderConfigurationRecord:
/// `hvc1.P.C.TL.B` (ISO 14496-15 §E.3).
pub fn hevc_codec_string(record: &[u8]) -> String {
    let Some(r) = record.get(..13) else {
        return "hvc1".into();
    };
    let space = ["", "A", "B", "C"][(r[1] >> 6) as usize];
    let tier = if r[1] & 0x20 != 0 { 'H' } else { 'L' };
    let compat = u32::from_be_bytes([r[2], r[3], r[4], r[5]]).reverse_bits();
    let mut s = format!("hvc1.{space}{}.{compat:x}.{tier}{}", r[1] & 0x1F, r[12]);
    let constraints = &r[6..12];
    let used = constraints.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    for b in &constraints[..used] {
        s.push_str(&format!(".{b:x}"));
    }
    s
}

/// The MSE codec string of AAC: `mp4a.40.N`.
pub fn aac_codec_string(info: &AudioInfo) -> String {
    format!("mp4a.40.{}", info.object_type)
}

/// What a dashboard shows of a video track.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoDescription {
    /// `H264`, `HEVC`, `AV1`, `VP9`, or the FLV codec's name.
    pub codec: String,
    /// `High`, `Main`, ... when the configuration says.
    pub profile: Option<String>,
    /// `3.1`, ... when the configuration says.
    pub level: Option<String>,
    /// Width in pixels; 0 when unknown.
    pub width: u32,
    /// Height in pixels; 0 when unknown.
    pub height: u32,
    /// Frames per second, when the stream says.
    pub fps: Option<f64>,
    /// H.264's constraint flags byte (`profile_compatibility`), as
    /// nginx-rtmp's `/stat` shows it; 0 for other codecs.
    pub compat: u8,
}

/// What a dashboard shows of an audio track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioDescription {
    /// `AAC`, `Opus`, `MP3`, ...
    pub codec: String,
    /// `LC`, `HE`, ... for AAC.
    pub profile: Option<String>,
    /// Samples per second; 0 when unknown.
    pub sample_rate: u32,
    /// Channels; 0 when unknown.
    pub channels: u8,
}

/// Describes the video a tag body configures or carries: the sequence
/// header of a codec with one, or any frame of a legacy codec without.
pub fn describe_video(body: &[u8]) -> Option<VideoDescription> {
    let b0 = *body.first()?;
    let (codec, config) = if b0 & 0x80 == 0 {
        let config = match b0 & 0x0F {
            7 | 12 if body.get(1) == Some(&0) => body.get(5..),
            _ => None,
        };
        (legacy_video_name(b0 & 0x0F), config)
    } else {
        let name = fourcc_name(body.get(1..5)?);
        // SequenceStart, single track, no ModEx.
        (name, (b0 & 0x0F == 0).then(|| body.get(5..)).flatten())
    };
    let mut description = VideoDescription {
        codec: codec.into(),
        profile: None,
        level: None,
        width: 0,
        height: 0,
        fps: None,
        compat: 0,
    };
    let info = match (codec, config) {
        ("H264", Some(record)) => avc_record_sps(record).and_then(h264_sps).ok(),
        ("HEVC", Some(record)) => hevc_record_sps(record).and_then(hevc_sps).ok(),
        _ => None,
    };
    if codec == "H264" {
        let sps = config.and_then(|record| avc_record_sps(record).ok());
        description.compat = sps.and_then(|sps| sps.get(2)).copied().unwrap_or(0);
    }
    if let Some(info) = info {
        description.width = info.width;
        description.height = info.height;
        description.fps = info.fps;
        let (profile, level) = match codec {
            "H264" => (
                match info.profile {
                    66 => "Baseline",
                    77 => "Main",
                    88 => "Extended",
                    100 => "High",
                    110 => "High 10",
                    122 => "High 4:2:2",
                    244 => "High 4:4:4",
                    _ => "other",
                },
                format!("{}.{}", info.level / 10, info.level % 10),
            ),
            _ => (
                match info.profile {
                    1 => "Main",
                    2 => "Main 10",
                    3 => "Main Still Picture",
                    4 => "Range Extensions",
                    _ => "other",
                },
                // HEVC's level_idc is 30 times the level.
                format!("{}.{}", info.level / 30, info.level % 30 / 3),
            ),
        };
        description.profile = Some(profile.into());
        description.level = Some(level);
    }
    Some(description)
}

/// Describes the audio a tag body configures or carries: the sequence
/// header of AAC or Opus, or any frame of a codec without one (the FLV
/// header bits give its rate and channels).
pub fn describe_audio(body: &[u8]) -> Option<AudioDescription> {
    let b0 = *body.first()?;
    let format = b0 >> 4;
    if format != 9 {
        // FLV 10.1 §E.4.2.1: rate 5.5, 11, 22 or 44 kHz; mono or stereo.
        let rate = [5512, 11025, 22050, 44100][((b0 >> 2) & 3) as usize];
        let channels = if b0 & 1 == 1 { 2 } else { 1 };
        let name = legacy_audio_name(format);
        let mut description = AudioDescription {
            codec: name.into(),
            profile: None,
            sample_rate: rate,
            channels,
        };
        if format == 10 {
            // The FLV bits are fixed for AAC; the configuration says.
            let config = (body.get(1) == Some(&0)).then(|| body.get(2..)).flatten()?;
            let info = aac_config(config).ok()?;
            description.sample_rate = info.sample_rate;
            description.channels = info.channels;
            description.profile = aac_profile(info.object_type);
        }
        return Some(description);
    }
    let name = fourcc_name(body.get(1..5)?);
    let config = (b0 & 0x0F == 0).then(|| body.get(5..)).flatten();
    let info = match (name, config) {
        ("AAC", Some(config)) => aac_config(config).ok(),
        ("Opus", Some(config)) => opus_head(config).ok(),
        _ => None,
    };
    Some(AudioDescription {
        codec: name.into(),
        profile: info.and_then(|i| aac_profile(i.object_type)),
        sample_rate: info.map_or(0, |i| i.sample_rate),
        channels: info.map_or(0, |i| i.channels),
    })
}

/// The name the API gives the codec a tag header names: `H264`, `AAC`,
/// ...; `multiple` for a multitrack packet whose tracks each name theirs.
pub fn codec_name(kind: FrameKind, codec: Codec) -> &'static str {
    match (kind, codec) {
        (_, Codec::FourCc(fourcc)) => fourcc_name(&fourcc),
        (_, Codec::Many) => "multiple",
        (FrameKind::Audio, Codec::Legacy(format)) => legacy_audio_name(format),
        (_, Codec::Legacy(id)) => legacy_video_name(id),
    }
}

/// FLV 10.1's video codec ids (and 12, which encoders use for HEVC).
fn legacy_video_name(id: u8) -> &'static str {
    match id {
        2 => "H263",
        3 => "ScreenVideo",
        4 | 5 => "VP6",
        6 => "ScreenVideo2",
        7 => "H264",
        12 => "HEVC",
        _ => "unknown",
    }
}

/// FLV 10.1's sound formats.
fn legacy_audio_name(format: u8) -> &'static str {
    match format {
        0 | 3 => "PCM",
        1 => "ADPCM",
        2 | 14 => "MP3",
        4..=6 => "Nellymoser",
        7 => "G711A",
        8 => "G711U",
        10 => "AAC",
        11 => "Speex",
        _ => "unknown",
    }
}

/// Enhanced RTMP's FourCCs, audio and video.
fn fourcc_name(fourcc: &[u8]) -> &'static str {
    match fourcc {
        b"avc1" => "H264",
        b"hvc1" => "HEVC",
        b"av01" => "AV1",
        b"vp09" => "VP9",
        b"mp4a" => "AAC",
        b"Opus" => "Opus",
        b".mp3" => "MP3",
        b"fLaC" => "FLAC",
        b"ac-3" => "AC3",
        b"ec-3" => "EAC3",
        _ => "unknown",
    }
}

fn aac_profile(object_type: u8) -> Option<String> {
    let name = match object_type {
        1 => "Main",
        2 => "LC",
        3 => "SSR",
        4 => "LTP",
        5 => "HE",
        29 => "HEv2",
        _ => return None,
    };
    Some(name.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// x264's SPS for 320x240, High profile, level 1.3, 25 fps in VUI
    /// (from ffmpeg -f lavfi -i testsrc=size=320x240:rate=25 -c:v libx264).
    const SPS_320X240: &[u8] = &[
        0x67, 0x64, 0x00, 0x0D, 0xAC, 0xD9, 0x41, 0x41, 0xFB, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00,
        0x03, 0x03, 0x20, 0xF1, 0x42, 0x99, 0x60,
    ];

    #[test]
    fn h264_sps_gives_size_rate_profile_and_level() {
        let info = h264_sps(SPS_320X240).unwrap();
        assert_eq!((info.width, info.height), (320, 240));
        assert_eq!((info.profile, info.level), (100, 13));
        assert_eq!(info.fps, Some(25.0));
        assert_eq!(avc_codec_string(SPS_320X240), "avc1.64000d");
    }

    #[test]
    fn h264_sps_cut_anywhere_is_an_error_not_a_panic() {
        for cut in 0..SPS_320X240.len() - 4 {
            assert!(h264_sps(&SPS_320X240[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn emulation_prevention_bytes_are_removed() {
        let b = Bits::rbsp(&[0, 0, 3, 1, 0, 0, 3, 0, 0, 3]);
        assert_eq!(b.bytes, [0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn avc_record_gives_its_sps() {
        let mut record = vec![1, 0x64, 0, 0x0D, 0xFF, 0xE1, 0, SPS_320X240.len() as u8];
        record.extend_from_slice(SPS_320X240);
        record.extend_from_slice(&[1, 0, 4, 0x68, 0xEB, 0xE3, 0xCB]);
        assert_eq!(avc_record_sps(&record).unwrap(), SPS_320X240);
        assert!(avc_record_sps(&record[..10]).is_err());
    }

    #[test]
    fn descriptions_for_a_dashboard() {
        let mut avc = vec![
            0x17,
            0,
            0,
            0,
            0,
            1,
            0x64,
            0,
            0x0D,
            0xFF,
            0xE1,
            0,
            SPS_320X240.len() as u8,
        ];
        avc.extend_from_slice(SPS_320X240);
        avc.extend_from_slice(&[1, 0, 4, 0x68, 0xEB, 0xE3, 0xCB]);
        let video = describe_video(&avc).unwrap();
        assert_eq!(video.codec, "H264");
        assert_eq!(
            (video.profile.as_deref(), video.level.as_deref()),
            (Some("High"), Some("1.3"))
        );
        assert_eq!((video.width, video.height, video.fps), (320, 240, Some(25.0)));
        assert_eq!(describe_video(&[0x22, 0]).unwrap().codec, "H263");
        let aac = describe_audio(&[0xAF, 0, 0x12, 0x10]).unwrap();
        assert_eq!(
            aac,
            AudioDescription {
                codec: "AAC".into(),
                profile: Some("LC".into()),
                sample_rate: 44100,
                channels: 2
            }
        );
        let mp3 = describe_audio(&[0x2F, 0xFF, 0xFB]).unwrap();
        assert_eq!((mp3.codec.as_str(), mp3.sample_rate, mp3.channels), ("MP3", 44100, 2));
        let opus = describe_audio(b"\x90OpusOpusHead\x01\x02\x38\x01\x80\xBB\x00\x00\x00\x00\x00").unwrap();
        assert_eq!(
            (opus.codec.as_str(), opus.sample_rate, opus.channels),
            ("Opus", 48000, 2)
        );
        assert_eq!(describe_audio(&[]), None);
    }

    #[test]
    fn aac_config_gives_rate_and_channels() {
        // AAC-LC, 44100 Hz (index 4), stereo: 0x12 0x10.
        let lc = aac_config(&[0x12, 0x10]).unwrap();
        assert_eq!(
            lc,
            AudioInfo {
                sample_rate: 44100,
                channels: 2,
                object_type: 2
            }
        );
        assert_eq!(aac_codec_string(&lc), "mp4a.40.2");
        // AAC-LC, 48000 Hz (index 3), mono: 0x11 0x88.
        assert_eq!(aac_config(&[0x11, 0x88]).unwrap().sample_rate, 48000);
        assert!(aac_config(&[0x12]).is_err());
    }

    #[test]
    fn opus_head_gives_rate_and_channels() {
        let head = b"OpusHead\x01\x02\x38\x01\x80\xBB\x00\x00\x00\x00\x00";
        let info = opus_head(head).unwrap();
        assert_eq!((info.sample_rate, info.channels), (48000, 2));
        assert!(opus_head(b"OpusTags").is_err());
    }

    /// x265's SPS for 1920x1080 (Main, level 4: 1088 lines coded, 8
    /// cropped), from ffmpeg -f lavfi -i testsrc -c:v libx265.
    const HEVC_SPS_1080P: &[u8] = &[
        0x42, 0x01, 0x01, 0x01, 0x60, 0x00, 0x00, 0x03, 0x00, 0x90, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x78,
        0xA0, 0x03, 0xC0, 0x80, 0x10, 0xE5, 0x96, 0x56, 0x69, 0x24, 0xCA, 0xF0, 0x16, 0x80, 0x80, 0x00, 0x00, 0x03,
        0x00, 0x80, 0x00, 0x00, 0x0F, 0x04,
    ];

    #[test]
    fn hevc_sps_gives_the_cropped_size() {
        let info = hevc_sps(HEVC_SPS_1080P).unwrap();
        assert_eq!((info.width, info.height), (1920, 1080));
        assert_eq!((info.profile, info.level), (1, 120));
        let fields = hevc_sps_fields(HEVC_SPS_1080P).unwrap();
        // The bytes after the header, emulation prevention removed.
        assert_eq!(
            fields.profile_tier_level,
            [0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 0x78]
        );
        assert_eq!(
            (
                fields.chroma_format,
                fields.bit_depth_luma_minus8,
                fields.bit_depth_chroma_minus8
            ),
            (1, 0, 0)
        );
        assert_eq!((fields.sub_layers, fields.temporal_id_nesting), (1, true));
        // The bit depths end in the 25th byte.
        for cut in 0..25 {
            assert!(hevc_sps_fields(&HEVC_SPS_1080P[..cut]).is_err(), "cut at {cut}");
        }
        assert!(hevc_sps_fields(&HEVC_SPS_1080P[..25]).is_ok());
    }

    #[test]
    fn hevc_codec_string_follows_the_record() {
        // Main profile (1), compatibility flag 1 and 2, tier L, level 123,
        // constraint byte 0x90.
        let mut record = vec![1, 0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 123];
        record.extend_from_slice(&[0; 10]);
        assert_eq!(hevc_codec_string(&record), "hvc1.1.6.L123.90");
    }
}
