//! A recording's files, made from a stream's frames: FLV, or fragmented
//! MP4 that still plays up to its last fragment when cut off. Pure: frames
//! go in, and out come the writes a recorder makes (open a file, append
//! bytes, patch and close it); `server/record.rs` does the I/O.
//!
//! A file starts at a keyframe (or, without video, at any audio frame)
//! with the stream's configuration, so it plays from its first byte;
//! timestamps are rebased so that it starts at 0. An FLV file opens with
//! an `onMetaData` that holds the publisher's fields plus `duration` and
//! `filesize`, patched when the file closes. An MP4 file writes each frame
//! as one fragment once the next frame of its track gives its duration.

use super::flv::{self, Tracks};
use super::fmp4::{self, Fragmenter};
use super::{Configuration, Frame, FrameKind};
use crate::protocol::amf0::{self, Amf0Value};
use crate::protocol::message::type_id;
use crate::protocol::time::RtmpTime;

/// The file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// FLV, with `duration` and `filesize` patched in at the end.
    Flv,
    /// Fragmented MP4: a fragment per frame.
    Mp4,
}

impl Container {
    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Container::Flv => "flv",
            Container::Mp4 => "mp4",
        }
    }
}

/// Which tracks are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Audio and video.
    All,
    /// Video only.
    Video,
    /// Audio only.
    Audio,
}

/// When a file gives way to the next, at the next place one can start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Once the file holds this many ms of the stream.
    pub max_ms: Option<u32>,
    /// Once the file holds this many bytes.
    pub max_bytes: Option<u64>,
}

/// What the recorder does with its files, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Start a new file.
    Open,
    /// Append bytes to the open file.
    Append(Vec<u8>),
    /// Overwrite the open file at each offset, then close it; it holds
    /// `duration_ms` of the stream.
    Close {
        /// `(offset, bytes)` to write over.
        patches: Vec<(u64, Vec<u8>)>,
        /// The stream time the file covers.
        duration_ms: u32,
    },
}

/// A recording of one stream, possibly over several files.
#[derive(Debug)]
pub struct Recording {
    container: Container,
    keep: Keep,
    rotation: Rotation,
    /// The publisher's latest metadata and sequence headers.
    configuration: Configuration,
    file: Option<File>,
}

/// The file being written.
#[derive(Debug)]
struct File {
    /// The publisher's timestamp that is 0 in the file.
    base: u32,
    /// The latest timestamp written, rebased.
    last: u32,
    bytes: u64,
    /// Where `duration` and `filesize` sit (FLV).
    duration_at: u64,
    filesize_at: u64,
    /// An MP4 file's fragments.
    fragmenter: Fragmenter,
}

impl Recording {
    /// A recording that opens its first file at the first place it can.
    pub fn new(container: Container, keep: Keep, rotation: Rotation) -> Recording {
        Recording {
            container,
            keep,
            rotation,
            configuration: Configuration::default(),
            file: None,
        }
    }

    /// Whether a file is open.
    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// What to write for the next frame of the stream.
    pub fn push(&mut self, frame: Frame) -> Vec<Write> {
        let mut writes = Vec::new();
        let kept = match frame.kind {
            FrameKind::Metadata => true,
            FrameKind::Video => self.keep != Keep::Audio,
            FrameKind::Audio => self.keep != Keep::Video,
        };
        if !kept {
            return writes;
        }
        if self.configuration.keep(&frame) {
            if frame.kind == FrameKind::Metadata {
                return writes; // written at the start of each file, with duration and size
            }
            // A new configuration mid-file: FLV carries it on; an MP4's
            // init segment cannot change, so the file ends here.
            match (&self.file, self.container) {
                (Some(_), Container::Flv) => self.append(frame, &mut writes),
                (Some(_), Container::Mp4) => self.close(&mut writes),
                (None, _) => {}
            }
            return writes;
        }
        let starts = match frame.kind {
            FrameKind::Video => frame.is_keyframe(),
            _ => !self.has_video(),
        };
        if self
            .file
            .as_ref()
            .is_some_and(|f| starts && self.rotation_due(f, frame.timestamp))
        {
            self.close(&mut writes);
        }
        if self.file.is_none() {
            if !starts {
                return writes; // nothing to start from yet
            }
            self.open(frame.timestamp, &mut writes);
            if self.file.is_none() {
                return writes;
            }
        }
        self.append(frame, &mut writes);
        writes
    }

    /// Ends the open file, if any.
    pub fn finish(&mut self) -> Vec<Write> {
        let mut writes = Vec::new();
        self.close(&mut writes);
        writes
    }

    /// Whether the stream has video this recording keeps.
    fn has_video(&self) -> bool {
        self.keep != Keep::Audio && self.tracks().video
    }

    /// The tracks the recording holds, from the configuration and the
    /// metadata seen so far.
    fn tracks(&self) -> Tracks {
        let all = self.configuration.tracks;
        Tracks {
            audio: all.audio && self.keep != Keep::Video,
            video: all.video && self.keep != Keep::Audio,
        }
    }

    fn rotation_due(&self, file: &File, at: RtmpTime) -> bool {
        let ms = at.0.saturating_sub(file.base);
        self.rotation.max_ms.is_some_and(|max| ms >= max)
            || self.rotation.max_bytes.is_some_and(|max| file.bytes >= max)
    }

    /// Opens a file whose time 0 is `base`: its header, then the
    /// configuration every decoder needs first. An MP4 file needs a track
    /// fMP4 carries; without one nothing opens.
    fn open(&mut self, base: RtmpTime, writes: &mut Vec<Write>) {
        let mut file = File {
            base: base.0,
            last: 0,
            bytes: 0,
            duration_at: 0,
            filesize_at: 0,
            fragmenter: Fragmenter::default(),
        };
        let mut head = Vec::new();
        match self.container {
            Container::Flv => {
                head.extend_from_slice(&flv::header(self.tracks()));
                let publisher = self.configuration.metadata.as_ref().map(|m| m.payload.as_slice());
                let (body, duration_at, filesize_at) = metadata(publisher);
                let tag_start = (head.len() + flv::TAG_HEADER_LEN) as u64;
                file.duration_at = tag_start + duration_at as u64;
                file.filesize_at = tag_start + filesize_at as u64;
                flv::put_tag(type_id::DATA_AMF0, RtmpTime::ZERO, &body, &mut head);
                for header in &self.configuration.headers {
                    flv::put_tag(type_of(header.kind), RtmpTime::ZERO, &header.payload, &mut head);
                }
            }
            Container::Mp4 => {
                let main = self.configuration.headers.iter().filter(|h| h.track() == 0);
                let tracks: Vec<fmp4::Track> = main
                    .filter_map(|h| fmp4::track(h.kind, &h.payload).ok().flatten())
                    .collect();
                if tracks.is_empty() {
                    return;
                }
                head = fmp4::init_segment(&tracks);
            }
        }
        file.bytes = head.len() as u64;
        self.file = Some(file);
        writes.push(Write::Open);
        writes.push(Write::Append(head));
    }

    /// Writes `frame` to the open file.
    fn append(&mut self, frame: Frame, writes: &mut Vec<Write>) {
        let Some(file) = &mut self.file else { return };
        let at = frame.timestamp.0.saturating_sub(file.base);
        file.last = file.last.max(at);
        let mut out = Vec::new();
        match self.container {
            Container::Flv => flv::put_tag(type_of(frame.kind), RtmpTime(at), &frame.payload, &mut out),
            Container::Mp4 => {
                if frame.track() != 0 {
                    return; // fMP4 carries the main track of each kind
                }
                if let Some(fragment) = file.fragmenter.push(frame.kind, &frame.payload, u64::from(at)) {
                    out = fragment.bytes;
                }
            }
        }
        file.bytes += out.len() as u64;
        if !out.is_empty() {
            writes.push(Write::Append(out));
        }
    }

    /// Closes the open file: MP4's held frames go out, FLV's duration and
    /// size are patched in.
    fn close(&mut self, writes: &mut Vec<Write>) {
        let Some(mut file) = self.file.take() else { return };
        let mut out = Vec::new();
        for fragment in file.fragmenter.flush() {
            out.extend(fragment.bytes);
        }
        if !out.is_empty() {
            file.bytes += out.len() as u64;
            writes.push(Write::Append(out));
        }
        let patches = match self.container {
            Container::Flv => vec![
                (file.duration_at, (f64::from(file.last) / 1000.0).to_be_bytes().to_vec()),
                (file.filesize_at, (file.bytes as f64).to_be_bytes().to_vec()),
            ],
            Container::Mp4 => Vec::new(),
        };
        writes.push(Write::Close {
            patches,
            duration_ms: file.last,
        });
    }
}

fn type_of(kind: FrameKind) -> u8 {
    match kind {
        FrameKind::Audio => type_id::AUDIO,
        FrameKind::Video => type_id::VIDEO,
        FrameKind::Metadata => type_id::DATA_AMF0,
    }
}

/// An `onMetaData` body: the publisher's fields (from its own
/// `onMetaData`, if it sent one) but `duration` and `filesize`, then those
/// two as numbers to patch; returns the body and where each number's 8
/// bytes start in it.
fn metadata(publisher: Option<&[u8]>) -> (Vec<u8>, usize, usize) {
    const OURS: [&str; 2] = ["duration", "filesize"];
    let values = publisher.and_then(|body| amf0::decode_all_limited(body, 8).ok());
    let fields = values
        .as_deref()
        .and_then(|v| match v {
            [name, object, ..] if name.as_str() == Some("onMetaData") => object.properties(),
            _ => None,
        })
        .map(|p| p.iter().filter(|(k, _)| !OURS.contains(&k.as_str())).cloned().collect())
        .unwrap_or_default();
    let mut body = Vec::new();
    amf0::encode(&Amf0Value::string("onMetaData"), &mut body);
    // An ECMA array written by hand, so that the two numbers' places are
    // known: marker, count, the fields, ours, the end marker.
    let fields: Vec<(String, Amf0Value)> = fields;
    body.push(0x08);
    body.extend_from_slice(&(fields.len() as u32 + 2).to_be_bytes());
    for (key, value) in &fields {
        put_key(key, &mut body);
        amf0::encode(value, &mut body);
    }
    let mut at = [0; 2];
    for (i, key) in OURS.iter().enumerate() {
        put_key(key, &mut body);
        body.push(0x00); // number marker
        at[i] = body.len();
        body.extend_from_slice(&0f64.to_be_bytes());
    }
    body.extend_from_slice(&[0, 0, 9]);
    (body, at[0], at[1])
}

/// An object key: a 16-bit length, then UTF-8 (cut to what fits).
fn put_key(key: &str, out: &mut Vec<u8>) {
    let bytes = &key.as_bytes()[..key.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::fmp4::{AUDIO_TRACK, Placement};

    fn frame(kind: FrameKind, ms: u32, payload: &[u8]) -> Frame {
        Frame {
            kind,
            timestamp: RtmpTime(ms),
            payload: payload.to_vec(),
        }
    }

    fn onmetadata(pairs: Vec<(&str, Amf0Value)>) -> Vec<u8> {
        let mut body = Vec::new();
        amf0::encode(&Amf0Value::string("onMetaData"), &mut body);
        amf0::encode(
            &Amf0Value::EcmaArray(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()),
            &mut body,
        );
        body
    }

    /// Applies `writes` to files kept in memory.
    fn apply(files: &mut Vec<Vec<u8>>, writes: Vec<Write>) {
        for write in writes {
            match write {
                Write::Open => files.push(Vec::new()),
                Write::Append(bytes) => files.last_mut().unwrap().extend_from_slice(&bytes),
                Write::Close { patches, .. } => {
                    let file = files.last_mut().unwrap();
                    for (at, bytes) in patches {
                        file[at as usize..at as usize + bytes.len()].copy_from_slice(&bytes);
                    }
                }
            }
        }
    }

    /// The tags of an FLV file as (type, timestamp, body).
    fn tags(file: &[u8]) -> Vec<(u8, u32, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = flv::HEADER_LEN;
        while let Some((frame, len)) = flv::read_tag(&file[at..]) {
            out.push((type_of(frame.kind), frame.timestamp.0, frame.payload));
            at += len;
        }
        assert_eq!(at, file.len(), "whole tags to the end");
        out
    }

    #[test]
    fn an_flv_file_starts_at_a_keyframe_at_zero_with_its_configuration_and_patched_metadata() {
        let mut recording = Recording::new(Container::Flv, Keep::All, Rotation::default());
        let mut files = Vec::new();
        let meta = onmetadata(vec![
            ("duration", Amf0Value::Number(0.0)),
            ("width", Amf0Value::Number(320.0)),
        ]);
        for f in [
            frame(FrameKind::Metadata, 1000, &meta),
            frame(FrameKind::Video, 1000, &[0x17, 0, 0, 0, 0, 1]), // AVC sequence header
            frame(FrameKind::Audio, 1000, &[0xAF, 0, 0x12, 0x10]), // AAC sequence header
            frame(FrameKind::Video, 1010, &[0x27, 1, 0, 0, 0, 9]), // inter: no start yet
            frame(FrameKind::Video, 1040, &[0x17, 1, 0, 0, 0, 7]), // keyframe: the file starts
            frame(FrameKind::Audio, 1063, &[0xAF, 1, 5]),
            frame(FrameKind::Video, 2540, &[0x27, 1, 0, 0, 0, 8]),
        ] {
            apply(&mut files, recording.push(f));
        }
        apply(&mut files, recording.finish());
        assert_eq!(files.len(), 1);
        let file = &files[0];
        assert_eq!(
            &file[..13],
            &flv::header(Tracks {
                audio: true,
                video: true
            })
        );
        let got = tags(file);
        let kinds_and_times: Vec<(u8, u32)> = got.iter().map(|(t, ts, _)| (*t, *ts)).collect();
        assert_eq!(kinds_and_times, [(18, 0), (9, 0), (8, 0), (9, 0), (8, 23), (9, 1500)]);
        let values = amf0::decode_all(&got[0].2).unwrap();
        assert_eq!(values[1].property("width").and_then(Amf0Value::as_number), Some(320.0));
        assert_eq!(values[1].property("duration").and_then(Amf0Value::as_number), Some(1.5));
        assert_eq!(
            values[1].property("filesize").and_then(Amf0Value::as_number),
            Some(file.len() as f64)
        );
    }

    #[test]
    fn rotation_waits_for_a_keyframe_and_each_file_begins_with_the_headers() {
        let rotation = Rotation {
            max_ms: Some(1000),
            max_bytes: None,
        };
        let mut recording = Recording::new(Container::Flv, Keep::Video, rotation);
        let mut files = Vec::new();
        let header = frame(FrameKind::Video, 0, &[0x17, 0, 0, 0, 0, 1]);
        apply(&mut files, recording.push(header.clone()));
        for ms in (0..3000).step_by(500) {
            let key = ms % 1500 == 0;
            apply(
                &mut files,
                recording.push(frame(FrameKind::Video, ms, &[if key { 0x17 } else { 0x27 }, 1])),
            );
            apply(&mut files, recording.push(frame(FrameKind::Audio, ms, &[0xAF, 1, 5])));
        }
        apply(&mut files, recording.finish());
        // Keyframes at 0 and 1500: the second file starts at 1500, not 1000.
        assert_eq!(files.len(), 2);
        for file in &files {
            assert_eq!(file[4], 0x01, "video only");
            let got = tags(file);
            assert_eq!(
                (got[1].0, got[1].2.clone()),
                (9, header.payload.clone()),
                "the header first"
            );
            assert_eq!((got[2].1, got[2].2[0]), (0, 0x17), "then a keyframe at 0");
            assert!(got.iter().all(|t| t.0 != 8), "no audio");
        }
        assert_eq!(tags(&files[0]).last().unwrap().1, 1000);
    }

    #[test]
    fn an_mp4_file_holds_each_frame_until_the_next_gives_its_duration() {
        let mut recording = Recording::new(Container::Mp4, Keep::All, Rotation::default());
        // An AAC-only stream: any audio frame starts the file.
        let mut writes = recording.push(frame(FrameKind::Audio, 500, &[0xAF, 0, 0x12, 0x10]));
        assert!(writes.is_empty(), "configuration alone opens nothing");
        writes = recording.push(frame(FrameKind::Audio, 500, &[0xAF, 1, 1, 2]));
        assert!(matches!(&writes[..], [Write::Open, Write::Append(init)] if init[4..8] == *b"ftyp"));
        writes = recording.push(frame(FrameKind::Audio, 523, &[0xAF, 1, 3, 4]));
        let [Write::Append(first)] = &writes[..] else {
            panic!("{writes:?}")
        };
        let expected = fmp4::fragment(
            FrameKind::Audio,
            &[0xAF, 1, 1, 2],
            Placement {
                sequence: 1,
                track: AUDIO_TRACK,
                decode_time: 0,
                duration: 23,
            },
        )
        .unwrap();
        assert_eq!(first, &expected);
        writes = recording.finish();
        assert!(matches!(
            &writes[..],
            [Write::Append(_), Write::Close { duration_ms: 23, .. }]
        ));
    }
}
