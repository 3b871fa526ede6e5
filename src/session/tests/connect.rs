use super::*;
use crate::protocol::message::UserControl;

#[test]
fn connect_reply_has_control_messages_then_result_then_bwdone() {
    let mut session = ServerSession::new(SessionConfig::default());
    let object = Amf0Value::object([
        ("app", Amf0Value::string("live/")),
        ("objectEncoding", Amf0Value::Number(3.0)),
    ]);
    let actions = connect_with(&mut session, object);
    let messages: Vec<&Message> = actions
        .iter()
        .map(|a| match a {
            Action::Send(o) => &o.message,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(messages[0], &Message::WindowAckSize(2_500_000));
    assert_eq!(
        messages[1],
        &Message::SetPeerBandwidth {
            window: 2_500_000,
            limit_type: 2
        }
    );
    assert_eq!(messages[2], &Message::SetChunkSize(4096));
    // objectEncoding 3: replies go out as type 17 commands.
    let Message::CommandAmf3(result) = messages[3] else {
        panic!("no type 17 _result for an AMF3 client")
    };
    assert_eq!(result.name, "_result");
    assert_eq!(result.transaction_id, 1.0);
    assert_eq!(
        result.object.property("fmsVer").and_then(Amf0Value::as_str),
        Some("FMS/3,0,1,123")
    );
    let info = &result.args[0];
    assert_eq!(
        info.property("code").and_then(Amf0Value::as_str),
        Some("NetConnection.Connect.Success")
    );
    assert_eq!(
        info.property("objectEncoding").and_then(Amf0Value::as_number),
        Some(3.0)
    );
    let Message::CommandAmf3(bw) = messages[4] else {
        panic!("no onBWDone")
    };
    assert_eq!(bw.name, "onBWDone");
    assert_eq!(session.app(), Some("live"));
}

#[test]
fn commands_before_connect_close_the_connection() {
    let mut session = ServerSession::new(SessionConfig::default());
    let actions = call(&mut session, "createStream", 2.0, vec![]);
    assert!(matches!(actions[..], [Action::Close(_)]));
}

#[test]
fn unknown_calls_with_a_transaction_id_get_a_null_result() {
    let mut session = connected("live");
    let actions = call(&mut session, "_checkbw", 5.0, vec![]);
    let replies = sent_commands(&actions);
    assert_eq!(replies.len(), 1);
    assert_eq!((replies[0].name.as_str(), replies[0].transaction_id), ("_result", 5.0));
    assert!(call(&mut session, "someNotification", 0.0, vec![]).is_empty());
    assert!(call(&mut session, "_result", 9.0, vec![]).is_empty());
}

#[test]
fn ping_request_gets_a_ping_response() {
    let mut session = connected("live");
    let ping = raw(4, 0, &Message::UserControl(UserControl::PingRequest(77)));
    let actions = session.handle(ping).unwrap();
    assert!(matches!(
        &actions[..],
        [Action::Send(Outbound {
            message: Message::UserControl(UserControl::PingResponse(77)),
            ..
        })]
    ));
}

#[test]
fn acknowledges_after_each_window() {
    let mut session = connected("live");
    assert_eq!(session.bytes_received(10_000), None); // no window announced yet
    session.handle(raw(5, 0, &Message::WindowAckSize(1000))).unwrap();
    // The sequence number counts every byte, from the start of the session.
    let Some(Action::Send(ack)) = session.bytes_received(500) else {
        panic!("no ack")
    };
    assert_eq!(ack.message, Message::Acknowledgement(10_500));
    assert_eq!(session.bytes_received(999), None);
    assert!(session.bytes_received(1).is_some());
}

#[test]
fn malformed_command_is_an_error_for_that_message_only() {
    let mut session = connected("live");
    let bad = RawMessage {
        csid: 3,
        timestamp: RtmpTime(0),
        type_id: 20,
        stream_id: 0,
        payload: vec![0x02, 0, 4, b'p', b'l', 0x42],
    };
    assert!(session.handle(bad).is_err());
    assert_eq!(
        sent_commands(&call(&mut session, "createStream", 2.0, vec![]))[0].name,
        "_result"
    );
}

#[test]
fn enhanced_rtmp_capabilities_are_accepted_and_answered() {
    let mut session = ServerSession::new(SessionConfig::default());
    let object = Amf0Value::object([
        ("app", Amf0Value::string("live")),
        // Interop: a strict array here broke MediaMTX's connect (#3188).
        (
            "fourCcList",
            Amf0Value::StrictArray(vec![Amf0Value::string("hvc1"), Amf0Value::string("av01")]),
        ),
        (
            "videoFourCcInfoMap",
            Amf0Value::object([("hvc1", Amf0Value::Number(3.0)), ("*", Amf0Value::Number(4.0))]),
        ),
        (
            "audioFourCcInfoMap",
            Amf0Value::object([("Opus", Amf0Value::Number(1.0))]),
        ),
        ("capsEx", Amf0Value::Number(15.0)),
    ]);
    let actions = connect_with(&mut session, object);
    let result = sent_commands(&actions)
        .into_iter()
        .find(|c| c.name == "_result")
        .unwrap();
    let props = &result.object;
    assert_eq!(
        props.property("fourCcList"),
        Some(&Amf0Value::StrictArray(vec![
            Amf0Value::string("hvc1"),
            Amf0Value::string("av01")
        ]))
    );
    assert_eq!(
        props.property("videoFourCcInfoMap"),
        Some(&Amf0Value::object([
            ("hvc1", Amf0Value::Number(4.0)),
            ("*", Amf0Value::Number(4.0))
        ]))
    );
    assert_eq!(
        props.property("audioFourCcInfoMap").and_then(|m| m.property("Opus")),
        Some(&Amf0Value::Number(4.0))
    );
    assert_eq!(props.property("capsEx"), Some(&Amf0Value::Number(14.0)));
}

#[test]
fn legacy_connect_gets_no_enhanced_properties() {
    let mut session = ServerSession::new(SessionConfig::default());
    let object = Amf0Value::object([("app", Amf0Value::string("live"))]);
    let actions = connect_with(&mut session, object);
    let result = sent_commands(&actions)
        .into_iter()
        .find(|c| c.name == "_result")
        .unwrap();
    assert_eq!(result.object.properties().unwrap().len(), 2);
}

#[test]
fn connect_asks_first_and_a_refusal_is_an_error_then_close() {
    let mut session = ServerSession::new(SessionConfig::default());
    let object = Amf0Value::object([
        ("app", Amf0Value::string("live?authmod=adobe&user=a")),
        ("flashVer", Amf0Value::string("FMLE/3.0 (compatible; FMSc/1.0)")),
        ("tcUrl", Amf0Value::string("rtmp://host/live?authmod=adobe&user=a")),
    ]);
    let asked = session.handle(command("connect", 1.0, object, vec![])).unwrap();
    assert_eq!(
        asked,
        vec![Action::Connect {
            app: "live".into(),
            query: "authmod=adobe&user=a".into(),
            flash_ver: "FMLE/3.0 (compatible; FMSc/1.0)".into(),
            tc_url: "rtmp://host/live?authmod=adobe&user=a".into(),
        }]
    );
    let refused = session.reject_connect("[ AccessManager.Reject ] : [ authmod=adobe ] : ?reason=needauth");
    let error = &sent_commands(&refused)[0];
    assert_eq!((error.name.as_str(), error.transaction_id), ("_error", 1.0));
    assert_eq!(
        error.args[0].property("code").and_then(Amf0Value::as_str),
        Some("NetConnection.Connect.Rejected")
    );
    assert!(
        error.args[0]
            .property("description")
            .and_then(Amf0Value::as_str)
            .unwrap()
            .contains("needauth")
    );
    assert!(matches!(refused.last(), Some(Action::Close(_))));
}

#[test]
fn an_amf_message_over_the_limit_is_refused_undecoded() {
    let mut session = ServerSession::new(SessionConfig {
        max_amf_message_len: 100,
        ..SessionConfig::default()
    });
    let big = RawMessage {
        csid: 3,
        timestamp: RtmpTime(0),
        type_id: 18,
        stream_id: 1,
        payload: vec![0x05; 101],
    };
    let err = session.handle(big).unwrap_err();
    assert_eq!(
        err.to_string(),
        "message type 18 of 101 bytes exceeds the amf message limit 100"
    );
}

#[test]
fn a_second_connect_is_refused_and_changes_nothing() {
    let mut session = connected("live");
    let again = call(&mut session, "connect", 2.0, vec![]);
    let replies = sent_commands(&again);
    assert_eq!((replies[0].name.as_str(), replies[0].transaction_id), ("_error", 2.0));
    assert!(!again.iter().any(|a| matches!(a, Action::Connect { .. })));
    assert_eq!(session.app(), Some("live"));
}
