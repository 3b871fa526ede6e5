//! One live-mode SRT connection after its handshake: packets in, packets
//! out, payloads delivered in time, and the timers that keep it going
//! (ACKs, loss reports, keepalives, the peer's silence).
//!
//! The caller owns the socket and the clock: it passes every datagram for
//! this connection to [`Connection::handle`], calls [`Connection::tick`]
//! at least every [`Connection::tick_interval_us`], sends what
//! [`Connection::outgoing`] gives, and takes the payloads
//! [`Connection::deliver`] gives. Times are microseconds from any origin
//! the caller keeps (the connection's start, say).
//!
//! An encrypted connection decrypts each data packet with the key its KK
//! flags name, and takes the caller's key refreshes (KMREQ control
//! packets, draft-sharabayko-srt §6.1.6): it installs the new key beside
//! the old and answers with a KMRSP. What it sends stays under the
//! caller's first keys, as libsrt's own receiver does: a refresh KMREQ
//! rekeys only the direction it came from.

use super::handshake::Agreed;
use super::receiver::{ACK_INTERVAL_US, ReceiveStats, Receiver};
use super::sender::{SendStats, Sender};
use crate::protocol::srt::{
    Control, ControlPacket, DataPacket, Handshake, HandshakeType, KeyError, KeyFlags, KeyMaterial, Keys, KmResponse,
    KmState, Packet, SocketId,
};

/// A keepalive goes out after this long with nothing else sent (§3.2.3).
const KEEPALIVE_US: u64 = 1_000_000;
/// With no data coming, the timers need not run every 10 ms.
const IDLE_TICK_US: u64 = 100_000;

/// The bounds a connection keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    /// Sequence numbers held ahead of the next to play (the flow window).
    pub receive_packets: usize,
    /// Payload bytes held to play.
    pub receive_bytes: usize,
    /// Payload bytes kept for retransmission.
    pub send_bytes: usize,
    /// The peer is gone after this long silent, microseconds.
    pub idle_us: u64,
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The peer sent SHUTDOWN.
    Shutdown,
    /// The peer was silent for `Bounds::idle_us`.
    TimedOut,
    /// We closed it.
    Closed,
}

/// What a connection counted, both ways.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// As the receiver.
    pub received: ReceiveStats,
    /// As the sender.
    pub sent: SendStats,
    /// The round-trip time the peer measured and reports in its ACKs,
    /// microseconds (0 until one came).
    pub peer_rtt_us: u32,
    /// Data packets dropped because no key we hold decrypts them (or they
    /// came encrypted to a connection without keys).
    pub undecryptable: u64,
    /// Key refreshes the peer sent that we installed.
    pub key_refreshes: u64,
}

/// An encrypted connection's secrets: the keys from the caller's
/// handshake, and the passphrase that unwraps the keys it refreshes them
/// with.
pub struct Secret {
    /// The keys the handshake's KMREQ carried.
    pub keys: Keys,
    /// The passphrase they were unwrapped with.
    pub passphrase: Vec<u8>,
}

/// One connection.
pub struct Connection {
    own: SocketId,
    peer: SocketId,
    receiver: Receiver,
    sender: Sender,
    /// The answer to the caller's CONCLUSION, sent again if it asks again
    /// (its copy of ours was lost).
    answer: Handshake,
    last_heard: u64,
    last_sent: u64,
    last_data_at: Option<u64>,
    idle_us: u64,
    out: Vec<Packet>,
    closed: Option<Closed>,
    peer_rtt_us: u32,
    /// The keys and passphrase, when the caller encrypts; the keys
    /// decrypt what comes and take the caller's refreshes.
    secret: Option<Secret>,
    /// The caller's first keys, which encrypt what we send.
    send_keys: Option<Keys>,
    /// The key our data packets go out under: `Clear` without keys.
    send_key: KeyFlags,
    undecryptable: u64,
    key_refreshes: u64,
}

impl Connection {
    /// A connection as agreed, opened at `now`, which answered the
    /// caller's CONCLUSION with `answer` (from our socket `own`), and
    /// encrypts with `secret` when the caller does.
    pub fn new(
        agreed: &Agreed,
        own: SocketId,
        answer: Handshake,
        bounds: &Bounds,
        secret: Option<Secret>,
        now: u64,
    ) -> Connection {
        // In HSv5 both directions start at the caller's initial number.
        let start = agreed.peer_initial_seq;
        // libsrt sends under the even key unless it holds only the odd
        // one (a caller that has just refreshed its keys).
        let send_keys = secret.as_ref().map(|secret| secret.keys.clone());
        let send_key = match send_keys.as_ref().map(Keys::held) {
            Some(KeyFlags::Odd) => KeyFlags::Odd,
            Some(KeyFlags::Even | KeyFlags::Both) => KeyFlags::Even,
            Some(KeyFlags::Clear) | None => KeyFlags::Clear,
        };
        Connection {
            own,
            peer: agreed.peer,
            receiver: Receiver::new(start, agreed.latency_us, bounds.receive_packets, bounds.receive_bytes),
            sender: Sender::new(agreed.peer, start, agreed.latency_us, bounds.send_bytes),
            answer,
            last_heard: now,
            last_sent: now,
            last_data_at: None,
            idle_us: bounds.idle_us,
            out: Vec::new(),
            closed: None,
            peer_rtt_us: 0,
            secret,
            send_keys,
            send_key,
            undecryptable: 0,
            key_refreshes: 0,
        }
    }

    /// Our socket id.
    pub fn own(&self) -> SocketId {
        self.own
    }

    /// Takes one packet from the peer.
    pub fn handle(&mut self, now: u64, packet: Packet) {
        self.last_heard = now;
        match packet {
            Packet::Data(mut data) => {
                self.last_data_at = Some(now);
                if !self.decrypt(&mut data) {
                    // Never held, so the receiver reports it lost and a
                    // retransmission (under a key we hold) may still come.
                    self.undecryptable += 1;
                    return;
                }
                if let Some(nak) = self.receiver.take(now, data) {
                    self.control(now, nak);
                }
            }
            Packet::Control(control) => self.on_control(now, control.body),
        }
    }

    /// Decrypts `data` in place when it is encrypted; false when no key we
    /// hold decrypts it. Clear packets pass as they are, as libsrt's
    /// receiver lets them.
    fn decrypt(&self, data: &mut DataPacket) -> bool {
        match (data.key, &self.secret) {
            (KeyFlags::Clear, _) => true,
            (key, Some(secret)) => secret.keys.crypt(key, data.seq, &mut data.payload).is_ok(),
            (_, None) => false,
        }
    }

    fn on_control(&mut self, now: u64, body: Control) {
        match body {
            Control::Handshake(hs) if hs.kind == HandshakeType::Conclusion => {
                self.control(now, Control::Handshake(self.answer.clone()));
            }
            Control::Ack(ack) => {
                self.sender.acked(ack.last_acked);
                if let crate::protocol::srt::AckStats::Full { rtt_us, .. }
                | crate::protocol::srt::AckStats::Small { rtt_us, .. } = ack.stats
                {
                    self.peer_rtt_us = rtt_us;
                    self.control(now, Control::AckAck { ack_no: ack.ack_no });
                }
            }
            Control::Nak(lost) => {
                let mut again = Vec::new();
                // The sender keeps payloads as they went out, encrypted,
                // so a retransmission is the same bytes under the same key.
                self.sender.lost(&lost, self.send_key, &mut again);
                self.out.extend(again.into_iter().map(Packet::Data));
            }
            Control::AckAck { ack_no } => self.receiver.ack_acked(now, ack_no),
            Control::DropRequest(drop) => self.receiver.forget(drop.first, drop.last),
            Control::Shutdown => self.closed = Some(Closed::Shutdown),
            Control::KeyMaterialRequest(km) => {
                let answer = self.renew(km);
                self.control(now, Control::KeyMaterialResponse(answer));
            }
            // KEEPALIVE only shows the peer is there; other handshakes,
            // KMRSPs (we send no KMREQ) and unknown types (congestion
            // warnings) ask nothing of a live receiver.
            _ => {}
        }
    }

    /// Installs the keys of a refresh KMREQ; the KMRSP to answer with:
    /// the key material back when installed, else a failure as libsrt's
    /// receiver words it. The sender goes on to the new key whatever we
    /// answer, so a failure leaves its packets undecryptable.
    fn renew(&mut self, km: Vec<u8>) -> Vec<u8> {
        let refused = |state: KmState| {
            let mut out = Vec::new();
            KmResponse::Failed(state).encode(&mut out);
            out
        };
        let Some(secret) = &mut self.secret else {
            return refused(KmState::NOSECRET);
        };
        match KeyMaterial::parse(&km).and_then(|parsed| secret.keys.renew(&secret.passphrase, &parsed)) {
            Ok(()) => {
                self.key_refreshes += 1;
                km
            }
            Err(KeyError::BadPassphrase) => refused(KmState::BADSECRET),
            Err(_) => refused(KmState::NOSECRET),
        }
    }

    /// Runs the timers: ACKs and loss reports, retransmission's
    /// expiry, keepalives, and the peer's silence.
    pub fn tick(&mut self, now: u64) {
        if self.closed.is_some() {
            return;
        }
        if now.saturating_sub(self.last_heard) > self.idle_us {
            self.closed = Some(Closed::TimedOut);
            return;
        }
        if let Some(ack) = self.receiver.ack(now) {
            self.control(now, ack);
        }
        if let Some(nak) = self.receiver.loss_report(now) {
            self.control(now, nak);
        }
        self.sender.expire(now);
        if self.out.is_empty() && now.saturating_sub(self.last_sent) >= KEEPALIVE_US {
            self.control(now, Control::KeepAlive);
        }
    }

    /// How long until `tick` is due again.
    pub fn tick_interval_us(&self, now: u64) -> u64 {
        match self.last_data_at {
            Some(at) if now.saturating_sub(at) < KEEPALIVE_US => ACK_INTERVAL_US,
            _ => IDLE_TICK_US,
        }
    }

    /// Sends `payload` (at most 1456 bytes, libsrt's live-mode payload) to
    /// the peer, keeping it for retransmission.
    pub fn send(&mut self, now: u64, mut payload: Vec<u8>) {
        // Encrypted before the sender keeps it: a retransmission then
        // sends the kept bytes again, as libsrt does (it encrypts in its
        // send buffer), and costs no second pass of AES. The send key never
        // changes on a connection (refreshes rekey what comes), so the flag the kept
        // bytes were encrypted under stays `send_key`.
        if let Some(keys) = &self.send_keys {
            keys.crypt(self.send_key, self.sender.next_seq(), &mut payload)
                .expect("send_key names a key the keys hold");
        }
        let packet: DataPacket = self.sender.send(now, payload, self.send_key);
        self.out.push(Packet::Data(packet));
    }

    /// Appends the payloads whose time to play has come, in order.
    pub fn deliver(&mut self, now: u64, out: &mut Vec<Vec<u8>>) {
        self.receiver.deliver(now, out);
    }

    /// The packets to send now, in order.
    pub fn outgoing(&mut self, now: u64) -> std::vec::Drain<'_, Packet> {
        if !self.out.is_empty() {
            self.last_sent = now;
        }
        self.out.drain(..)
    }

    /// Ends the connection: a SHUTDOWN for the peer (§3.2.6).
    pub fn close(&mut self, now: u64) {
        if self.closed.is_none() {
            self.control(now, Control::Shutdown);
            self.closed = Some(Closed::Closed);
        }
    }

    /// Why the connection ended, once it has.
    pub fn closed(&self) -> Option<Closed> {
        self.closed
    }

    /// What it counted.
    pub fn stats(&self) -> Stats {
        Stats {
            received: self.receiver.stats(),
            sent: self.sender.stats(),
            peer_rtt_us: self.peer_rtt_us,
            undecryptable: self.undecryptable,
            key_refreshes: self.key_refreshes,
        }
    }

    fn control(&mut self, now: u64, body: Control) {
        self.out.push(Packet::Control(ControlPacket {
            timestamp: now as u32,
            dest: self.peer,
            body,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::srt::{Ack, AckStats, LossRange, Position};

    const BOUNDS: Bounds = Bounds {
        receive_packets: 8192,
        receive_bytes: 1 << 20,
        send_bytes: 1 << 20,
        idle_us: 5_000_000,
    };

    fn connection() -> Connection {
        connection_with(None)
    }

    /// Keys as a caller makes them, and the same keys as we unwrap them.
    fn keys() -> (Keys, Secret) {
        let (theirs, km) = Keys::generate(b"a passphrase", 16, &[3; 32]).unwrap();
        let secret = Secret {
            keys: Keys::new(b"a passphrase", &km).unwrap(),
            passphrase: b"a passphrase".to_vec(),
        };
        (theirs, secret)
    }

    fn connection_with(keys: Option<Secret>) -> Connection {
        let agreed = Agreed {
            peer: SocketId(0xabc),
            peer_initial_seq: 1000,
            latency_us: 120_000,
            stream_id: "publish:live/cam".into(),
            key_material: None,
            peer_version: 0x0001_0501,
        };
        let answer = Handshake {
            version: 5,
            encryption: 0,
            extension: 1,
            initial_seq: 1000,
            mtu: 1500,
            flow_window: 8192,
            kind: HandshakeType::Conclusion,
            socket_id: SocketId(0x123),
            syn_cookie: 7,
            peer_ip: [0; 16],
            extensions: Vec::new(),
        };
        Connection::new(&agreed, SocketId(0x123), answer, &BOUNDS, keys, 0)
    }

    fn data(seq: u32, timestamp: u32) -> Packet {
        Packet::Data(DataPacket {
            seq,
            position: Position::Only,
            in_order: false,
            key: KeyFlags::Clear,
            retransmitted: false,
            msg_no: 1,
            timestamp,
            dest: SocketId(0x123),
            payload: vec![0x47; 188],
        })
    }

    fn bodies(c: &mut Connection, now: u64) -> Vec<Control> {
        c.outgoing(now)
            .filter_map(|p| match p {
                Packet::Control(c) => Some(c.body),
                Packet::Data(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_publisher_is_acked_asked_for_losses_and_delivered() {
        let mut c = connection();
        c.handle(1_000, data(1000, 0));
        c.handle(2_000, data(1002, 1_000));
        assert_eq!(
            bodies(&mut c, 2_000),
            [Control::Nak(vec![LossRange {
                first: 1001,
                last: 1001
            }])]
        );
        c.tick(12_000);
        let out = bodies(&mut c, 12_000);
        assert!(
            matches!(&out[..], [Control::Ack(Ack { last_acked: 1001, .. })]),
            "{out:?}"
        );
        let mut played = Vec::new();
        c.deliver(200_000, &mut played);
        assert_eq!(played.len(), 2, "the lost packet's time passed");
        assert_eq!(c.stats().received.dropped, 1);
    }

    #[test]
    fn a_reader_gets_retransmissions_and_answers_acks() {
        let mut c = connection();
        for i in 0..3 {
            c.send(i * 1000, vec![i as u8; 1316]);
        }
        let sent: Vec<u32> = c
            .outgoing(3_000)
            .map(|p| match p {
                Packet::Data(d) => d.seq,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(sent, [1000, 1001, 1002]);
        c.handle(
            10_000,
            Packet::Control(ControlPacket {
                timestamp: 0,
                dest: SocketId(0x123),
                body: Control::Nak(vec![LossRange {
                    first: 1001,
                    last: 1001,
                }]),
            }),
        );
        let again: Vec<Packet> = c.outgoing(10_000).collect();
        assert!(
            matches!(
                &again[..],
                [Packet::Data(DataPacket {
                    seq: 1001,
                    retransmitted: true,
                    ..
                })]
            ),
            "{again:?}"
        );
        c.handle(
            20_000,
            Packet::Control(ControlPacket {
                timestamp: 0,
                dest: SocketId(0x123),
                body: Control::Ack(Ack {
                    ack_no: 5,
                    last_acked: 1003,
                    stats: AckStats::Full {
                        rtt_us: 900,
                        rtt_var_us: 100,
                        buffer_packets: 8000,
                        receiving_rate_packets: 0,
                        link_capacity_packets: 0,
                        receiving_rate_bytes: 0,
                    },
                }),
            }),
        );
        assert_eq!(bodies(&mut c, 20_000), [Control::AckAck { ack_no: 5 }]);
        assert_eq!(c.stats().sent.held_bytes, 0);
        assert_eq!(c.stats().peer_rtt_us, 900);
    }

    #[test]
    fn keepalives_silence_shutdown_and_a_repeated_conclusion() {
        let mut c = connection();
        c.tick(1_000_000);
        assert_eq!(bodies(&mut c, 1_000_000), [Control::KeepAlive]);
        c.handle(
            1_100_000,
            Packet::Control(ControlPacket {
                timestamp: 0,
                dest: SocketId(0),
                body: Control::Handshake(Handshake {
                    kind: HandshakeType::Conclusion,
                    ..c.answer.clone()
                }),
            }),
        );
        let answer = c.answer.clone();
        assert_eq!(bodies(&mut c, 1_100_000), [Control::Handshake(answer)]);
        c.tick(6_100_001);
        assert_eq!(c.closed(), Some(Closed::TimedOut));
        let mut d = connection();
        d.handle(
            5,
            Packet::Control(ControlPacket {
                timestamp: 0,
                dest: SocketId(0x123),
                body: Control::Shutdown,
            }),
        );
        assert_eq!(d.closed(), Some(Closed::Shutdown));
        let mut e = connection();
        e.close(9);
        assert_eq!(bodies(&mut e, 9), [Control::Shutdown]);
    }

    #[test]
    fn encrypted_data_is_decrypted_before_it_is_held() {
        let (theirs, ours) = keys();
        let mut c = connection_with(Some(ours));
        let mut packets = [data(1000, 0), data(1001, 1_000)];
        for (packet, key) in packets.iter_mut().zip([KeyFlags::Even, KeyFlags::Odd]) {
            let Packet::Data(d) = packet else { unreachable!() };
            theirs.crypt(KeyFlags::Even, d.seq, &mut d.payload).unwrap();
            // The second names a key neither side has.
            d.key = key;
        }
        let [first, second] = packets;
        c.handle(1_000, first);
        c.handle(2_000, second);
        let mut played = Vec::new();
        c.deliver(200_000, &mut played);
        assert_eq!(played, [vec![0x47; 188]], "the clear payload, once");
        assert_eq!(c.stats().undecryptable, 1);
        let mut clear = connection();
        let Packet::Data(mut d) = data(1000, 0) else {
            unreachable!()
        };
        d.key = KeyFlags::Even;
        clear.handle(1_000, Packet::Data(d));
        assert_eq!(clear.stats().undecryptable, 1, "no keys, no encrypted data");
    }

    #[test]
    fn sent_data_and_its_retransmission_are_encrypted_under_the_even_key() {
        let (theirs, ours) = keys();
        let mut c = connection_with(Some(ours));
        c.send(0, vec![0x47; 1316]);
        let Some(Packet::Data(sent)) = c.outgoing(0).next() else {
            panic!("nothing sent")
        };
        assert_eq!(sent.key, KeyFlags::Even);
        assert_ne!(sent.payload, vec![0x47; 1316]);
        let mut clear = sent.payload.clone();
        theirs.crypt(KeyFlags::Even, sent.seq, &mut clear).unwrap();
        assert_eq!(clear, vec![0x47; 1316], "the caller's key decrypts it");
        c.handle(
            10_000,
            Packet::Control(ControlPacket {
                timestamp: 0,
                dest: SocketId(0x123),
                body: Control::Nak(vec![LossRange {
                    first: 1000,
                    last: 1000,
                }]),
            }),
        );
        let Some(Packet::Data(again)) = c.outgoing(10_000).next() else {
            panic!("no retransmission")
        };
        assert_eq!((again.key, again.retransmitted), (KeyFlags::Even, true));
        assert_eq!(again.payload, sent.payload, "the same bytes again");
    }

    fn from_peer(body: Control) -> Packet {
        Packet::Control(ControlPacket {
            timestamp: 0,
            dest: SocketId(0x123),
            body,
        })
    }

    /// A data packet `seq` encrypted by `keys`' even key, flagged `key`.
    fn encrypted(seq: u32, keys: &Keys, key: KeyFlags) -> Packet {
        let Packet::Data(mut d) = data(seq, (seq - 1000) * 1_000) else {
            unreachable!()
        };
        keys.crypt(KeyFlags::Even, d.seq, &mut d.payload).unwrap();
        d.key = key;
        Packet::Data(d)
    }

    #[test]
    fn a_key_refresh_is_installed_answered_and_decrypts_the_odd_packets() {
        let (first, secret) = keys();
        let mut c = connection_with(Some(secret));
        // The caller's next key, announced as the odd one.
        let (next, mut km) = Keys::generate(b"a passphrase", 16, &[4; 32]).unwrap();
        km.keys = KeyFlags::Odd;
        let mut bytes = Vec::new();
        km.encode(&mut bytes);
        c.handle(1_000, encrypted(1000, &first, KeyFlags::Even));
        c.handle(2_000, from_peer(Control::KeyMaterialRequest(bytes.clone())));
        assert_eq!(
            bodies(&mut c, 2_000),
            [Control::KeyMaterialResponse(bytes)],
            "the key material echoed"
        );
        c.handle(3_000, encrypted(1001, &next, KeyFlags::Odd));
        // A late packet under the old key still decrypts.
        c.handle(4_000, encrypted(1002, &first, KeyFlags::Even));
        let mut played = Vec::new();
        c.deliver(300_000, &mut played);
        assert_eq!(played, vec![vec![0x47; 188]; 3]);
        assert_eq!((c.stats().undecryptable, c.stats().key_refreshes), (0, 1));

        // What we send stays under the caller's first even key.
        c.send(5_000, vec![0x47; 188]);
        let sent: Vec<Packet> = c.outgoing(5_000).collect();
        let [Packet::Data(sent)] = &sent[..] else {
            panic!("{sent:?}")
        };
        let mut clear = sent.payload.clone();
        first.crypt(KeyFlags::Even, sent.seq, &mut clear).unwrap();
        assert_eq!((sent.key, clear), (KeyFlags::Even, vec![0x47; 188]));
    }

    #[test]
    fn a_refresh_that_does_not_unwrap_is_refused_and_changes_nothing() {
        let (first, secret) = keys();
        let mut c = connection_with(Some(secret));
        let (_, mut km) = Keys::generate(b"another passphrase", 16, &[4; 32]).unwrap();
        km.keys = KeyFlags::Odd;
        let mut bytes = Vec::new();
        km.encode(&mut bytes);
        c.handle(1_000, from_peer(Control::KeyMaterialRequest(bytes.clone())));
        let bad_secret = vec![4, 0, 0, 0];
        assert_eq!(bodies(&mut c, 1_000), [Control::KeyMaterialResponse(bad_secret)]);
        c.handle(2_000, from_peer(Control::KeyMaterialRequest(vec![1, 2, 3])));
        let no_secret = vec![3, 0, 0, 0];
        assert_eq!(bodies(&mut c, 2_000), [Control::KeyMaterialResponse(no_secret.clone())]);
        c.handle(3_000, encrypted(1000, &first, KeyFlags::Even));
        assert_eq!((c.stats().undecryptable, c.stats().key_refreshes), (0, 0));
        // Without keys at all, there is no secret to unwrap with.
        let mut clear = connection();
        clear.handle(1_000, from_peer(Control::KeyMaterialRequest(bytes)));
        assert_eq!(bodies(&mut clear, 1_000), [Control::KeyMaterialResponse(no_secret)]);
    }
}
