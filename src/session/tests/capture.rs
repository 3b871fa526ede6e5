//! Captured client streams run through decoder and session.

use super::*;
use crate::media::{FrameKind, StreamKey};
use crate::protocol::chunk::{ChunkDecoder, DecoderLimits};

/// Feeds a capture through a decoder and a session that accepts every
/// publish; returns all actions.
fn run(bytes: &[u8]) -> Vec<Action> {
    let mut decoder = ChunkDecoder::new(DecoderLimits::default());
    let mut session = ServerSession::new(SessionConfig::default());
    decoder.push(bytes);
    let mut actions = Vec::new();
    while let Some(raw) = decoder.next_message().unwrap() {
        for action in session.handle(raw).unwrap() {
            let answer = match action {
                Action::Connect { .. } => session.accept_connect(),
                Action::Publish(..) => session.accept_publish(),
                Action::Play(..) => session.accept_play(),
                _ => Vec::new(),
            };
            actions.push(action);
            actions.extend(answer);
        }
    }
    actions
}

fn frames(actions: &[Action], kind: FrameKind) -> usize {
    actions
        .iter()
        .filter(|a| matches!(a, Action::Media(f) if f.kind == kind))
        .count()
}

#[test]
fn ffmpeg_publish_reaches_publish_start_and_every_frame_comes_out() {
    let actions = run(include_bytes!("../../../tests/data/ffmpeg-publish.bin"));
    assert!(actions.contains(&Action::Publish(StreamKey::new("live", "key"), String::new())));
    assert_eq!(status_codes(&actions)[0], "NetStream.Publish.Start");
    assert_eq!(frames(&actions, FrameKind::Metadata), 1);
    assert_eq!(frames(&actions, FrameKind::Video), 27);
    assert_eq!(frames(&actions, FrameKind::Audio), 46);
    let first_video = actions.iter().find_map(|a| match a {
        Action::Media(f) if f.kind == FrameKind::Video => Some(f),
        _ => None,
    });
    assert!(first_video.unwrap().is_sequence_header());
    assert_eq!(actions.last(), Some(&Action::Unpublish));
}

#[test]
fn gstreamer_publish_metadata_repeats_are_all_forwarded() {
    let actions = run(include_bytes!("../../../tests/data/gst-publish.bin"));
    assert!(actions.contains(&Action::Publish(StreamKey::new("live", "gstkey"), String::new())));
    assert_eq!(frames(&actions, FrameKind::Metadata), 14);
    assert_eq!(frames(&actions, FrameKind::Video), 27);
}

#[test]
fn ffmpeg_play_gets_play_start() {
    let actions = run(include_bytes!("../../../tests/data/ffmpeg-play.bin"));
    assert!(actions.contains(&Action::Play(StreamKey::new("live", "key"), String::new())));
    assert!(status_codes(&actions).contains(&"NetStream.Play.Start".to_owned()));
}
