//! ServerSession scenarios, one file per state.

mod capture;
mod connect;
mod play;
mod publish;

use crate::protocol::amf0::Amf0Value;
use crate::protocol::command::Command;
use crate::protocol::message::{Message, RawMessage};
use crate::protocol::time::RtmpTime;
use crate::session::{Action, Outbound, ServerSession, SessionConfig};

fn raw(type_id: u8, stream_id: u32, message: &Message) -> RawMessage {
    let mut payload = Vec::new();
    message.encode(&mut payload);
    RawMessage {
        csid: 3,
        timestamp: RtmpTime(0),
        type_id,
        stream_id,
        payload,
    }
}

fn command(name: &str, tx: f64, object: Amf0Value, args: Vec<Amf0Value>) -> RawMessage {
    raw(20, 0, &Message::Command(Command::new(name, tx, object, args)))
}

fn call(session: &mut ServerSession, name: &str, tx: f64, args: Vec<Amf0Value>) -> Vec<Action> {
    session.handle(command(name, tx, Amf0Value::Null, args)).unwrap()
}

fn connected(app: &str) -> ServerSession {
    let mut session = ServerSession::new(SessionConfig::default());
    let connect = command(
        "connect",
        1.0,
        Amf0Value::object([("app", Amf0Value::string(app))]),
        vec![],
    );
    session.handle(connect).unwrap();
    session.accept_connect();
    session
}

/// Sends `connect` with `object` and accepts it; returns the replies.
fn connect_with(session: &mut ServerSession, object: Amf0Value) -> Vec<Action> {
    let asked = session.handle(command("connect", 1.0, object, vec![])).unwrap();
    assert!(matches!(&asked[..], [Action::Connect { .. }]), "{asked:?}");
    session.accept_connect()
}

/// The commands among the actions, by name.
fn sent_commands(actions: &[Action]) -> Vec<&Command> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(Outbound {
                message: Message::Command(c) | Message::CommandAmf3(c),
                ..
            }) => Some(c),
            _ => None,
        })
        .collect()
}

/// The `code` of each onStatus among the actions.
fn status_codes(actions: &[Action]) -> Vec<String> {
    sent_commands(actions)
        .into_iter()
        .filter(|c| c.name == "onStatus")
        .filter_map(|c| c.args.first()?.property("code")?.as_str().map(str::to_owned))
        .collect()
}
