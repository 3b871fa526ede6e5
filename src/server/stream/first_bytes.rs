//! What a joining HTTP player gets before its first frame: an FLV header
//! naming the tracks seen so far, or an fMP4 init segment made from the
//! cached sequence headers (and the first frame, for MP3, which has
//! none), framed in HTTP chunks when its response is.
//!
//! Apart from `live_stream` because it is made once per player, from the
//! caches, and never on a frame's way to the players that already have
//! it; and because the fMP4 tracks it finds also decide which frames an
//! fMP4 player may take (`track_bit`) and the MSE codecs the API reports.
//!
//! In scope: the FLV header, the fMP4 init segment and its tracks, why a
//! stream cannot be played as fMP4. Out of scope: queueing the bytes and
//! what happens when a queue is full (`live_stream`'s `send`), the
//! muxers themselves (`media::flv`, `media::fmp4`).

use std::sync::Arc;

use crate::media::FrameKind;
use crate::media::flv::{self, Tracks};
use crate::media::fmp4;
use crate::server::stream::wire::{Form, Wire, chunk};

/// The bytes a player of `form` gets before its first frame `first`: an
/// FLV header for `tracks`, or an fMP4 init segment for the tracks
/// `headers` configure, with those tracks as bits (none for FLV);
/// nothing for RTMP. An error says why there is no init segment.
pub(crate) fn first_bytes(
    form: Form,
    tracks: Tracks,
    headers: &[((FrameKind, u8), Arc<Wire>)],
    first: &Wire,
) -> Result<(Vec<u8>, u8), String> {
    let (header, fmp4_tracks) = match form {
        Form::Rtmp => (Vec::new(), 0),
        Form::Flv | Form::FlvChunked => (flv::header(tracks).to_vec(), 0),
        Form::Fmp4 | Form::Fmp4Chunked => fmp4_init(headers, Some(first))?,
    };
    let header = match form.is_chunked() {
        true => chunk(&header),
        false => header,
    };
    Ok((header, fmp4_tracks))
}

/// The bit of fMP4 track `id` in a set of tracks.
pub(crate) fn track_bit(id: u32) -> u8 {
    1 << (id - 1)
}

/// An fMP4 init segment for the tracks `headers` configure (and, for MP3,
/// which has no configuration, the track of `first`), with those tracks as
/// bits; an error says why there is none.
pub(crate) fn fmp4_init(
    headers: &[((FrameKind, u8), Arc<Wire>)],
    first: Option<&Wire>,
) -> Result<(Vec<u8>, u8), String> {
    let (tracks, unsupported) = fmp4_tracks(headers, first);
    if tracks.is_empty() {
        return Err(unsupported.unwrap_or_else(|| "no audio or video configuration".into()));
    }
    let bits = tracks.iter().fold(0, |bits, t| bits | track_bit(t.id));
    Ok((fmp4::init_segment(&tracks), bits))
}

/// The fMP4 tracks `headers` (and `first`, see `fmp4_init`) configure, and
/// why one could not be made, if one could not.
pub(crate) fn fmp4_tracks(
    headers: &[((FrameKind, u8), Arc<Wire>)],
    first: Option<&Wire>,
) -> (Vec<fmp4::Track>, Option<String>) {
    let mut tracks: Vec<fmp4::Track> = Vec::new();
    let mut unsupported = None;
    let main_tracks = headers.iter().filter(|((_, track), _)| *track == 0);
    let configs = main_tracks.map(|((kind, _), wire)| (*kind, wire.as_ref()));
    for (kind, wire) in configs.chain(first.map(|w| (FrameKind::Audio, w))) {
        let frame = wire.frame();
        if kind == FrameKind::Audio && frame.kind != FrameKind::Audio {
            continue;
        }
        match fmp4::track(kind, &frame.payload) {
            Ok(Some(track)) if !tracks.iter().any(|t| t.id == track.id) => tracks.push(track),
            Ok(_) => {}
            Err(e) => {
                unsupported.get_or_insert(e.to_string());
            }
        }
    }
    (tracks, unsupported)
}
