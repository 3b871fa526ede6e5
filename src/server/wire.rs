//! `Wire`: one published frame in the form each kind of player reads,
//! built once per frame and form, whatever the number of players.
//!
//! A stream keeps every frame chunked for RTMP (the form most players
//! take). The first player of another form to need a frame builds that
//! form from the RTMP chunks; every other such player shares it.

use std::sync::{Arc, OnceLock};

use super::http::response::chunk;
use crate::media::flv;
use crate::protocol::chunk::unprechunk;

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
}

/// How many forms there are: `Form as usize` indexes arrays of this size.
pub(crate) const FORMS: usize = 3;

impl Form {
    /// Every form, at its index.
    pub(crate) const ALL: [Form; FORMS] = [Form::Rtmp, Form::Flv, Form::FlvChunked];
}

/// One frame, in every form a player has asked for so far.
pub(crate) struct Wire {
    rtmp: Chunks,
    /// The chunk size `rtmp` was chunked at.
    chunk_size: u32,
    flv: OnceLock<Chunks>,
    flv_chunked: OnceLock<Chunks>,
}

impl Wire {
    /// A frame chunked for RTMP by `prechunk` at `chunk_size`.
    pub(crate) fn new(rtmp: Chunks, chunk_size: u32) -> Arc<Wire> {
        Arc::new(Wire {
            rtmp,
            chunk_size,
            flv: OnceLock::new(),
            flv_chunked: OnceLock::new(),
        })
    }

    /// The frame's bytes in `form`, built on first use.
    pub(crate) fn bytes(&self, form: Form) -> &Chunks {
        match form {
            Form::Rtmp => &self.rtmp,
            Form::Flv => self.flv.get_or_init(|| {
                let mut tag = Vec::new();
                // Always Some: the stream made `rtmp` with `prechunk`.
                if let Some(m) = unprechunk(&self.rtmp, self.chunk_size) {
                    flv::put_tag(m.type_id, m.timestamp, &m.payload, &mut tag);
                }
                tag.into()
            }),
            Form::FlvChunked => self.flv_chunked.get_or_init(|| chunk(self.bytes(Form::Flv)).into()),
        }
    }

    /// Bytes of the RTMP form, which the stream's cache budget counts.
    pub(crate) fn len(&self) -> usize {
        self.rtmp.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::chunk::{SharedCsid, prechunk};
    use crate::protocol::time::RtmpTime;

    #[test]
    fn each_form_is_built_once_from_the_rtmp_chunks() {
        let body = [0x17, 0x01, 0, 0, 0, 0xAA];
        let rtmp = prechunk(SharedCsid::Video, RtmpTime(40), 9, 1, &body, 2);
        let wire = Wire::new(rtmp.clone().into(), 2);
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
