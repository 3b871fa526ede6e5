//! `Wire`: one published frame in the form each kind of player reads,
//! built once per frame and form, whatever the number of players.
//!
//! A stream keeps every frame chunked for RTMP (the form most players
//! take). The first player of another form to need a frame builds that
//! form from the RTMP chunks; every other such player shares it.

use std::sync::{Arc, OnceLock};

use crate::media::fmp4::{self, Placement};
use crate::media::{FrameKind, flv};
use crate::protocol::chunk::{Prechunked, SharedCsid, prechunk, unprechunk};
use crate::protocol::message::{Message, UserControl, type_id};
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
    rtmp: Chunks,
    /// The chunk size `rtmp` was chunked at.
    chunk_size: u32,
    /// Where the frame's fMP4 fragment goes, for audio and video.
    placement: Option<Placement>,
    /// The other forms, built on first use (`Form as usize - 1`).
    built: [OnceLock<Chunks>; FORMS - 1],
}

impl Wire {
    /// A frame chunked for RTMP by `prechunk` at `chunk_size`; audio and
    /// video have a `placement` among the stream's fMP4 fragments.
    pub(crate) fn new(rtmp: Chunks, chunk_size: u32, placement: Option<Placement>) -> Arc<Wire> {
        Arc::new(Wire {
            rtmp,
            chunk_size,
            placement,
            built: Default::default(),
        })
    }

    /// The message the RTMP chunks carry. Always `Some`: the stream made
    /// them with `prechunk`.
    pub(crate) fn message(&self) -> Option<Prechunked> {
        unprechunk(&self.rtmp, self.chunk_size)
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
        match form {
            Form::Rtmp => self.rtmp.clone(),
            Form::Flv => {
                let mut tag = Vec::new();
                if let Some(m) = self.message() {
                    flv::put_tag(m.type_id, m.timestamp, &m.payload, &mut tag);
                }
                tag.into()
            }
            Form::Fmp4 => {
                let fragment = self.placement.zip(self.message()).and_then(|(at, m)| {
                    let kind = match m.type_id {
                        type_id::VIDEO => FrameKind::Video,
                        _ => FrameKind::Audio,
                    };
                    fmp4::fragment(kind, &m.payload, at)
                });
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

/// A user control event as RTMP chunks, made once for every RTMP player.
pub(crate) fn user_control(event: UserControl) -> Chunks {
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
    .into()
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
    fn each_form_is_built_once_from_the_rtmp_chunks() {
        let body = [0x17, 0x01, 0, 0, 0, 0xAA];
        let rtmp = prechunk(SharedCsid::Video, RtmpTime(40), 9, 1, &body, 2);
        let wire = Wire::new(rtmp.clone().into(), 2, None);
        assert_eq!(&wire.bytes(Form::Rtmp)[..], &rtmp[..]);
        let mut tag = Vec::new();
        flv::put_tag(9, RtmpTime(40), &body, &mut tag);
        assert_eq!(&wire.bytes(Form::Flv)[..], &tag[..]);
        assert!(Arc::ptr_eq(wire.bytes(Form::Flv), wire.bytes(Form::Flv)), "built once");
        let chunked = wire.bytes(Form::FlvChunked);
        assert_eq!(&chunked[..4], b"15\r\n", "21 bytes of tag");
        assert_eq!(&chunked[4..chunked.len() - 2], &tag[..]);
        assert_eq!(&chunked[chunked.len() - 2..], b"\r\n");
    }
}
