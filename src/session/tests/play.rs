use super::*;
use crate::media::StreamKey;
use crate::protocol::message::UserControl;

#[test]
fn play_asks_first_then_replies_in_order() {
    let mut session = connected("live");
    call(&mut session, "createStream", 2.0, vec![]);
    let asked = call(
        &mut session,
        "play",
        4.0,
        vec![Amf0Value::string("cam?x=1"), Amf0Value::Number(-2.0)],
    );
    assert_eq!(asked, vec![Action::Play(StreamKey::new("live", "cam"), "x=1".into())]);
    let actions = session.accept_play();
    assert!(matches!(
        &actions[0],
        Action::Send(Outbound {
            message: Message::UserControl(UserControl::StreamBegin(1)),
            ..
        })
    ));
    assert_eq!(
        status_codes(&actions),
        vec!["NetStream.Play.Reset", "NetStream.Play.Start"]
    );
    assert!(matches!(
        &actions[3],
        Action::Send(Outbound { message: Message::Data(v), .. }) if v[0].as_str() == Some("|RtmpSampleAccess")
    ));
    let stop = call(&mut session, "closeStream", 0.0, vec![]);
    assert_eq!(stop, vec![Action::StopPlay]);
}

#[test]
fn a_refused_play_gets_play_failed_then_close() {
    let mut session = connected("live");
    call(&mut session, "play", 4.0, vec![Amf0Value::string("cam")]);
    let refused = session.reject_play("play refused: a valid key is needed");
    assert_eq!(status_codes(&refused), vec!["NetStream.Play.Failed"]);
    assert!(matches!(refused.last(), Some(Action::Close(_))));
}

#[test]
fn play_with_empty_name_is_refused() {
    let mut session = connected("live");
    let actions = call(&mut session, "play", 4.0, vec![Amf0Value::string("")]);
    assert_eq!(status_codes(&actions), vec!["NetStream.Play.StreamNotFound"]);
    assert!(matches!(actions.last(), Some(Action::Close(_))));
}

#[test]
fn get_stream_length_and_fc_subscribe_are_answered() {
    let mut session = connected("live");
    let length = call(&mut session, "getStreamLength", 3.0, vec![Amf0Value::string("cam")]);
    assert_eq!(sent_commands(&length)[0].args, vec![Amf0Value::Number(0.0)]);
    let subscribe = call(&mut session, "FCSubscribe", 4.0, vec![Amf0Value::string("cam")]);
    assert_eq!(sent_commands(&subscribe)[0].transaction_id, 4.0);
}
