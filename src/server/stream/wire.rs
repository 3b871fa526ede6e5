//! `Wire`: one published frame in the form each kind of player reads,
//! built once per frame and form, whatever the number of players.
//!
//! A wire keeps the frame itself, which players inside the process (HLS,
//! the recorder, relays, the embedding program) take as it is, and its
//! RTMP chunks, made before the stream's lock is taken: the form most
//! players take. The first player of another form to need a frame builds
//! that form from the frame; every other such player shares it.

use std::sync::{Arc, OnceLock};

use crate::media::fmp4::{self, Placement};
use crate::media::{Frame, FrameKind, flv};
use crate::protocol::chunk::{SharedCsid, prechunk};
use crate::protocol::message::{MEDIA_STREAM_ID, Message, UserControl, type_id};
use crate::protocol::time::RtmpTime;
use crate::server::stream::kind::ClientKind;

/// Bytes ready for a player's socket, shared by every player of a form.
pub(crate) type Chunks = Arc<[u8]>;

/// How a player takes its frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// RTMP chunks.
    Rtmp = 0,
    /// FLV tags, for an HTTP/1.0 body that ends when the connection does.
    Flv = 1,
    /// FLV tags, each one HTTP/1.1 chunk.
    FlvChunked = 2,
    /// fMP4 fragments, for an HTTP/1.0 body.
    Fmp4 = 3,
    /// fMP4 fragments, each one HTTP/1.1 chunk.
    Fmp4Chunked = 4,
}

/// How many forms there are: `Form as usize` indexes arrays of this size.
pub(crate) const FORMS: usize = 5;

impl Form {
    /// Every form, at its index.
    pub(crate) const ALL: [Form; FORMS] = [Form::Rtmp, Form::Flv, Form::FlvChunked, Form::Fmp4, Form::Fmp4Chunked];

    /// What the API calls a player of this form.
    pub(crate) fn player_kind(self) -> ClientKind {
        match self {
            Form::Rtmp => ClientKind::RtmpPlay,
            Form::Flv | Form::FlvChunked => ClientKind::FlvPlay,
            Form::Fmp4 | Form::Fmp4Chunked => ClientKind::Mp4Play,
        }
    }

    /// Whether a body of this form starts with an FLV header.
    pub(crate) fn is_flv(self) -> bool {
        matches!(self, Form::Flv | Form::FlvChunked)
    }

    /// Whether a body of this form starts with an fMP4 init segment.
    pub(crate) fn is_fmp4(self) -> bool {
        matches!(self, Form::Fmp4 | Form::Fmp4Chunked)
    }

    /// Whether each piece goes out as one HTTP/1.1 chunk.
    pub(crate) fn is_chunked(self) -> bool {
        matches!(self, Form::FlvChunked | Form::Fmp4Chunked)
    }
}

/// One frame, in every form a player has asked for so far.
pub(crate) struct Wire {
    /// The frame, with the timestamp the stream's players see.
    frame: Frame,
    rtmp: Chunks,
    /// Where the frame's fMP4 fragment goes, for audio and video.
    placement: Option<Placement>,
    /// The other forms, built on first use (`Form as usize - 1`).
    built: [OnceLock<Chunks>; FORMS - 1],
}

impl Wire {
    /// `frame`, whose RTMP chunks `rtmp_chunks` made; audio and video
    /// have a `placement` among the stream's fMP4 fragments.
    pub(crate) fn new(frame: Frame, rtmp: Chunks, placement: Option<Placement>) -> Arc<Wire> {
        Arc::new(Wire {
            frame,
            rtmp,
            placement,
            built: Default::default(),
        })
    }

    /// The frame, for a player inside the process.
    pub(crate) fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The fMP4 track the frame belongs to, if it is audio or video.
    pub(crate) fn fmp4_track(&self) -> Option<u32> {
        self.placement.map(|p| p.track)
    }

    /// The frame's bytes in `form`, built on first use; empty when the
    /// form has nothing for this frame (an fMP4 player gets no metadata
    /// and no sequence headers: its init segment carries them).
    pub(crate) fn bytes(&self, form: Form) -> &Chunks {
        match form {
            Form::Rtmp => &self.rtmp,
            other => self.built[other as usize - 1].get_or_init(|| self.build(other)),
        }
    }

    fn build(&self, form: Form) -> Chunks {
        let frame = &self.frame;
        match form {
            Form::Rtmp => self.rtmp.clone(),
            Form::Flv => {
                let mut tag = Vec::new();
                flv::put_tag(type_id_of(frame.kind), frame.timestamp, &frame.payload, &mut tag);
                tag.into()
            }
            Form::Fmp4 => {
                let fragment = match frame.kind {
                    FrameKind::Metadata => None,
                    kind => self.placement.and_then(|at| fmp4::fragment(kind, &frame.payload, at)),
                };
                fragment.unwrap_or_default().into()
            }
            Form::FlvChunked | Form::Fmp4Chunked => {
                let plain = self.bytes(if form == Form::FlvChunked {
                    Form::Flv
                } else {
                    Form::Fmp4
                });
                match plain.is_empty() {
                    true => plain.clone(),
                    false => chunk(plain).into(),
                }
            }
        }
    }

    /// Bytes of the RTMP form, which the stream's cache budget counts.
    pub(crate) fn len(&self) -> usize {
        self.rtmp.len()
    }
}

/// `frame` chunked once for every RTMP player, on the media stream at
/// `chunk_size`.
pub(crate) fn rtmp_chunks(frame: &Frame, chunk_size: u32) -> Chunks {
    let csid = match frame.kind {
        FrameKind::Audio => SharedCsid::Audio,
        FrameKind::Video => SharedCsid::Video,
        FrameKind::Metadata => SharedCsid::Data,
    };
    let type_id = type_id_of(frame.kind);
    prechunk(
        csid,
        frame.timestamp,
        type_id,
        MEDIA_STREAM_ID,
        &frame.payload,
        chunk_size,
    )
    .into()
}

/// The RTMP message type (and FLV tag type) of a frame of `kind`.
pub(crate) fn type_id_of(kind: FrameKind) -> u8 {
    match kind {
        FrameKind::Audio => type_id::AUDIO,
        FrameKind::Video => type_id::VIDEO,
        FrameKind::Metadata => type_id::DATA_AMF0,
    }
}

/// `bytes` as one chunk of a chunked body (RFC 9112 §7.1).
pub(crate) fn chunk(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 12);
    out.extend_from_slice(format!("{:x}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
    out
}

/// The last chunk of a chunked body, with no trailers.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// What a player's queue holds: one frame, shared by every player, or
/// a few bytes of its own, or news of the stream.
#[derive(Clone)]
pub(crate) enum Queued {
    /// A frame: a socket takes the form it speaks, a player inside the
    /// process the frame itself.
    Frame(Arc<Wire>),
    /// Bytes for this player alone: its FLV header or fMP4 init segment,
    /// or the rest of a frame its socket took part of. Boxed twice to keep
    /// an item two words: every player's channel keeps a block of 31
    /// slots once anything was queued to it.
    #[allow(clippy::box_collection)]
    Own(Box<Vec<u8>>),
    /// A publisher started: StreamBegin, for an RTMP player.
    Begin,
    /// The publisher stopped, or the server is stopping: StreamEOF for an
    /// RTMP player, the end of the stream for one inside the process.
    End,
}

impl Queued {
    /// The bytes a player of `form` writes for it; empty when it has none
    /// in that form.
    pub(crate) fn bytes(&self, form: Form) -> &[u8] {
        match (self, form) {
            (Queued::Frame(wire), _) => wire.bytes(form),
            (Queued::Own(bytes), _) => bytes,
            (Queued::Begin, Form::Rtmp) => {
                STREAM_BEGIN.get_or_init(|| user_control(UserControl::StreamBegin(MEDIA_STREAM_ID)))
            }
            (Queued::End, Form::Rtmp) => {
                STREAM_EOF.get_or_init(|| user_control(UserControl::StreamEof(MEDIA_STREAM_ID)))
            }
            (Queued::Begin | Queued::End, _) => &[],
        }
    }
}

/// StreamBegin and StreamEOF as RTMP chunks, made once for every player.
static STREAM_BEGIN: OnceLock<Vec<u8>> = OnceLock::new();
static STREAM_EOF: OnceLock<Vec<u8>> = OnceLock::new();

/// A user control event as RTMP chunks.
fn user_control(event: UserControl) -> Vec<u8> {
    let mut payload = Vec::new();
    Message::UserControl(event).encode(&mut payload);
    prechunk(
        SharedCsid::Control,
        RtmpTime::ZERO,
        type_id::USER_CONTROL,
        0,
        &payload,
        u32::MAX,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_framed_in_hex() {
        assert_eq!(chunk(&[7; 26]), [b"1a\r\n".as_slice(), &[7; 26], b"\r\n"].concat());
        assert_eq!(chunk(&[]), b"0\r\n\r\n", "an empty chunk would end the body");
    }

    #[test]
    fn each_form_is_built_once_from_the_frame() {
        let body = vec![0x17, 0x01, 0, 0, 0, 0xAA];
        let frame = Frame {
            kind: FrameKind::Video,
            timestamp: RtmpTime(40),
            payload: body.clone(),
        };
        let rtmp = prechunk(SharedCsid::Video, RtmpTime(40), 9, MEDIA_STREAM_ID, &body, 2);
        assert_eq!(&rtmp_chunks(&frame, 2)[..], &rtmp[..]);
        let wire = Wire::new(frame.clone(), rtmp_chunks(&frame, 2), None);
        assert_eq!(wire.frame(), &frame);
        assert_eq!(&wire.bytes(Form::Rtmp)[..], &rtmp[..]);
        let mut tag = Vec::new();
        flv::put_tag(9, RtmpTime(40), &body, &mut tag);
        assert_eq!(&wire.bytes(Form::Flv)[..], &tag[..]);
        assert!(Arc::ptr_eq(wire.bytes(Form::Flv), wire.bytes(Form::Flv)), "built once");
        let chunked = wire.bytes(Form::FlvChunked);
        assert_eq!(&chunked[..4], b"15\r\n", "21 bytes of tag");
        assert_eq!(&chunked[4..chunked.len() - 2], &tag[..]);
        assert_eq!(&chunked[chunked.len() - 2..], b"\r\n");
        assert!(wire.bytes(Form::Fmp4).is_empty(), "no placement: no fragment");
    }

    #[test]
    fn a_queued_item_is_two_words_and_news_is_rtmp_only() {
        // As the `Chunks` queues held before: every player's channel keeps
        // a block of 31 of them.
        assert_eq!(std::mem::size_of::<Queued>(), 2 * std::mem::size_of::<usize>());
        let eof = prechunk(SharedCsid::Control, RtmpTime::ZERO, 4, 0, &[0, 1, 0, 0, 0, 1], u32::MAX);
        assert_eq!(Queued::End.bytes(Form::Rtmp), &eof[..], "StreamEOF of the media stream");
        assert_eq!(Queued::Begin.bytes(Form::Rtmp)[13], 0, "StreamBegin");
        assert!(Queued::End.bytes(Form::FlvChunked).is_empty());
    }
}
