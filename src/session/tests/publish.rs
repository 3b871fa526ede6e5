use super::*;
use crate::media::{FrameKind, StreamKey};
use crate::protocol::amf0;
use crate::protocol::message::MessageError;
use crate::session::SessionError;

#[test]
fn fmle_sequence_reaches_publish_start() {
    // Interop: OBS and ffmpeg send releaseStream, FCPublish and createStream
    // back to back, then publish.
    let mut session = connected("live");
    let release = call(&mut session, "releaseStream", 2.0, vec![Amf0Value::string("key")]);
    assert_eq!(sent_commands(&release)[0].transaction_id, 2.0);
    let fc = call(&mut session, "FCPublish", 3.0, vec![Amf0Value::string("key")]);
    let fc = sent_commands(&fc);
    assert_eq!((fc[0].name.as_str(), fc[0].transaction_id), ("_result", 3.0));
    assert_eq!((fc[1].name.as_str(), fc[1].transaction_id), ("onFCPublish", 3.0));
    let create = call(&mut session, "createStream", 4.0, vec![]);
    assert_eq!(sent_commands(&create)[0].args, vec![Amf0Value::Number(1.0)]);

    let publish = session
        .handle(raw(
            20,
            1,
            &Message::Command(Command::new(
                "publish",
                5.0,
                Amf0Value::Null,
                vec![Amf0Value::string("key?token=abc"), Amf0Value::string("live")],
            )),
        ))
        .unwrap();
    assert_eq!(
        publish,
        vec![Action::Publish(StreamKey::new("live", "key"), "token=abc".into())]
    );
    let accepted = session.accept_publish();
    assert_eq!(status_codes(&accepted), vec!["NetStream.Publish.Start"]);
}

#[test]
fn rejected_publish_gets_bad_name_then_close() {
    let mut session = connected("live");
    call(&mut session, "publish", 5.0, vec![Amf0Value::string("taken")]);
    let rejected = session.reject_publish("NetStream.Publish.BadName", "taken is already published");
    assert_eq!(status_codes(&rejected), vec!["NetStream.Publish.BadName"]);
    assert!(matches!(rejected.last(), Some(Action::Close(_))));
}

#[test]
fn empty_stream_name_is_refused_with_a_status() {
    let mut session = connected("live");
    let actions = call(&mut session, "publish", 5.0, vec![Amf0Value::string("?key=1")]);
    assert_eq!(status_codes(&actions), vec!["NetStream.Publish.BadName"]);
    assert!(matches!(actions.last(), Some(Action::Close(_))));
}

fn publishing() -> ServerSession {
    let mut session = connected("live");
    call(&mut session, "publish", 5.0, vec![Amf0Value::string("s")]);
    session.accept_publish();
    session
}

#[test]
fn set_data_frame_becomes_on_metadata() {
    let mut session = publishing();
    let meta = Message::Data(vec![
        Amf0Value::string("@setDataFrame"),
        Amf0Value::string("onMetaData"),
        Amf0Value::EcmaArray(vec![("width".into(), Amf0Value::Number(320.0))]),
    ]);
    let actions = session.handle(raw(18, 1, &meta)).unwrap();
    let [Action::Media(frame)] = &actions[..] else {
        panic!("{actions:?}")
    };
    assert_eq!(frame.kind, FrameKind::Metadata);
    let values = amf0::decode_all(&frame.payload).unwrap();
    assert_eq!(values[0].as_str(), Some("onMetaData"));
    assert_eq!(values[1].property("width").and_then(Amf0Value::as_number), Some(320.0));
    // Other data messages are not forwarded.
    let other = Message::Data(vec![Amf0Value::string("onTextData")]);
    assert!(session.handle(raw(18, 1, &other)).unwrap().is_empty());
}

#[test]
fn media_flows_only_while_publishing() {
    let mut session = connected("live");
    assert_eq!(
        session.handle(raw(9, 1, &Message::Video(vec![0x17, 1]))),
        Err(SessionError::NotPublishing { kind: FrameKind::Video })
    );
    let mut session = publishing();
    let actions = session.handle(raw(9, 1, &Message::Video(vec![0x17, 1]))).unwrap();
    assert!(matches!(&actions[..], [Action::Media(f)] if f.is_keyframe()));
    let stop = call(&mut session, "deleteStream", 0.0, vec![Amf0Value::Number(1.0)]);
    assert_eq!(stop.last(), Some(&Action::Unpublish));
    assert_eq!(
        session.handle(raw(9, 1, &Message::Video(vec![0x17, 1]))),
        Err(SessionError::NotPublishing { kind: FrameKind::Video })
    );
}

#[test]
fn aggregate_parts_become_frames() {
    let mut session = publishing();
    let mut payload = Vec::new();
    for (type_id, ts, body) in [(8u8, 100u32, vec![0xAF, 1, 7]), (9, 120, vec![0x27, 1, 8])] {
        payload.push(type_id);
        payload.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        payload.extend_from_slice(&ts.to_be_bytes()[1..]);
        payload.extend_from_slice(&[0, 0, 0, 0]);
        payload.extend_from_slice(&body);
        payload.extend_from_slice(&(11 + body.len() as u32).to_be_bytes());
    }
    let mut aggregate = raw(22, 1, &Message::Aggregate(payload));
    aggregate.timestamp = RtmpTime(1000);
    assert!(
        session.handle(aggregate).unwrap().is_empty(),
        "parts come from next_parts"
    );
    let mut actions = Vec::new();
    while let Some(more) = session.next_parts() {
        actions.extend(more.unwrap());
    }
    let frames: Vec<_> = actions
        .iter()
        .map(|a| match a {
            Action::Media(f) => (f.kind, f.timestamp.0),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(frames, vec![(FrameKind::Audio, 1000), (FrameKind::Video, 1020)]);
}

/// An aggregate part `type_id` holding `body`, as an FLV tag.
fn aggregate_part(type_id: u8, body: &[u8]) -> Vec<u8> {
    let mut part = vec![type_id];
    part.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    part.extend_from_slice(&[0; 7]);
    part.extend_from_slice(body);
    part.extend_from_slice(&(11 + body.len() as u32).to_be_bytes());
    part
}

#[test]
fn a_nested_aggregate_is_refused_without_recursion() {
    let mut session = publishing();
    // 10 000 levels: each an aggregate whose one part is the next level.
    let mut nested = aggregate_part(9, &[0x17, 1]);
    for _ in 0..10_000 {
        nested = aggregate_part(22, &nested);
    }
    let payload = nested[11..nested.len() - 4].to_vec();
    assert!(
        session
            .handle(raw(22, 1, &Message::Aggregate(payload)))
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        session.next_parts(),
        Some(Err(SessionError::BadMessage(MessageError::BadAggregatePart {
            type_id: 22
        })))
    ));
    assert!(session.next_parts().is_none());
}

#[test]
fn a_million_empty_parts_come_a_few_at_a_time() {
    let mut session = publishing();
    let payload = aggregate_part(9, &[]).repeat(1_000_000);
    assert!(
        session
            .handle(raw(22, 1, &Message::Aggregate(payload)))
            .unwrap()
            .is_empty()
    );
    let (mut calls, mut frames, mut largest) = (0, 0, 0);
    while let Some(actions) = session.next_parts() {
        let actions = actions.unwrap();
        calls += 1;
        frames += actions.len();
        largest = largest.max(actions.len());
    }
    assert_eq!(frames, 1_000_000);
    assert!(largest <= 16, "{largest} actions in one call");
    assert!(calls >= 1_000_000 / 16);
}
