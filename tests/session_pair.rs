//! ClientSession against ServerSession through in-memory chunk streams: no
//! sockets, no threads, deterministic.

use rustic_rtmp::media::{Frame, FrameKind, StreamKey};
use rustic_rtmp::protocol::chunk::{ChunkDecoder, ChunkEncoder, DecoderLimits};
use rustic_rtmp::protocol::time::RtmpTime;
use rustic_rtmp::session::{
    Action, ClientConfig, ClientEvent, ClientSession, Outbound, Role, ServerSession, SessionConfig,
};

/// One direction of a connection: an encoder on one side, a decoder on
/// the other.
#[derive(Default)]
struct Pipe {
    encoder: ChunkEncoder,
    bytes: Vec<u8>,
}

impl Pipe {
    fn send(&mut self, o: &Outbound) {
        self.encoder
            .encode(o.csid, o.timestamp, o.stream_id, &o.message, &mut self.bytes);
    }
}

struct Pair {
    client: ClientSession,
    server: ServerSession,
    to_server: Pipe,
    to_client: Pipe,
    server_decoder: ChunkDecoder,
    client_decoder: ChunkDecoder,
    /// Non-Send events and actions seen so far.
    client_events: Vec<ClientEvent>,
    server_actions: Vec<Action>,
}

impl Pair {
    fn new(role: Role) -> Pair {
        let config = ClientConfig {
            app: "live".into(),
            tc_url: "rtmp://localhost/live".into(),
            stream: "cam?token=1".into(),
            chunk_size: 4096,
            flash_ver: None,
        };
        let mut pair = Pair {
            client: ClientSession::new(config, role),
            server: ServerSession::new(SessionConfig::default()),
            to_server: Pipe::default(),
            to_client: Pipe::default(),
            server_decoder: ChunkDecoder::new(DecoderLimits::default()),
            client_decoder: ChunkDecoder::new(DecoderLimits::default()),
            client_events: Vec::new(),
            server_actions: Vec::new(),
        };
        let start = pair.client.start();
        pair.client_events(start);
        pair
    }

    fn client_events(&mut self, events: Vec<ClientEvent>) {
        for event in events {
            match event {
                ClientEvent::Send(o) => self.to_server.send(&o),
                other => self.client_events.push(other),
            }
        }
    }

    fn server_actions(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Send(o) => self.to_client.send(&o),
                Action::Connect { .. } => {
                    let accepted = self.server.accept_connect();
                    self.server_actions(accepted);
                }
                Action::Publish(..) | Action::Play(..) => {
                    let accepted = match action {
                        Action::Publish(..) => self.server.accept_publish(),
                        _ => self.server.accept_play(),
                    };
                    self.server_actions.push(action);
                    self.server_actions(accepted);
                }
                other => self.server_actions.push(other),
            }
        }
    }

    /// Moves bytes both ways until neither side has anything to say.
    fn drive(&mut self) {
        for _ in 0..100 {
            if self.to_server.bytes.is_empty() && self.to_client.bytes.is_empty() {
                return;
            }
            self.server_decoder.push(&std::mem::take(&mut self.to_server.bytes));
            while let Some(raw) = self.server_decoder.next_message().unwrap() {
                let actions = self.server.handle(raw).unwrap();
                self.server_actions(actions);
            }
            self.client_decoder.push(&std::mem::take(&mut self.to_client.bytes));
            while let Some(raw) = self.client_decoder.next_message().unwrap() {
                let events = self.client.handle(raw).unwrap();
                self.client_events(events);
            }
        }
        panic!("the sessions kept talking");
    }
}

#[test]
fn client_publishes_to_server() {
    let mut pair = Pair::new(Role::Publish);
    pair.drive();
    assert_eq!(pair.client_events, vec![ClientEvent::Publishing]);
    assert_eq!(
        pair.server_actions[0],
        Action::Publish(StreamKey::new("live", "cam"), "token=1".into())
    );
    let frame = Frame {
        kind: FrameKind::Video,
        timestamp: RtmpTime(40),
        payload: vec![0x17, 1, 0, 0, 0, 9],
    };
    let message = pair.client.frame_message(&frame);
    pair.to_server.send(&message);
    pair.drive();
    assert_eq!(pair.server_actions.last(), Some(&Action::Media(frame)));
}

#[test]
fn client_plays_from_server() {
    let mut pair = Pair::new(Role::Play);
    pair.drive();
    assert_eq!(pair.client_events, vec![ClientEvent::Playing]);
    assert_eq!(
        pair.server_actions,
        vec![Action::Play(StreamKey::new("live", "cam"), "token=1".into())]
    );
}
