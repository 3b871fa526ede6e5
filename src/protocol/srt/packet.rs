//! `Packet`: one SRT datagram, its 16-byte header and its body
//! (draft-sharabayko-srt §3.1 data packets, §3.2 control packets).

use super::control::Control;
use super::error::PacketError;
use super::wire::{SocketId, be32, put32};
use crate::protocol::reader::Reader;

/// Bit 31 of the first header word: set on control packets, clear on data.
const CONTROL_FLAG: u32 = 0x8000_0000;

/// One SRT datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// A data packet (§3.1).
    Data(DataPacket),
    /// A control packet (§3.2).
    Control(ControlPacket),
}

/// Where a data packet's payload sits in its message: the PP field (§3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 0b00: neither the first nor the last packet of the message.
    Middle,
    /// 0b01: the last packet of the message.
    Last,
    /// 0b10: the first packet of the message.
    First,
    /// 0b11: the message fits in this one packet (live mode always sends this).
    Only,
}

/// Which stream-encrypting key encrypted the payload: the KK field (§3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFlags {
    /// 0b00: not encrypted.
    Clear,
    /// 0b01: the even key.
    Even,
    /// 0b10: the odd key.
    Odd,
    /// 0b11: both keys; only meaningful in a KM message, kept as sent.
    Both,
}

/// A data packet (§3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataPacket {
    /// The packet sequence number (31 bits).
    pub seq: u32,
    /// The PP field.
    pub position: Position,
    /// The O flag: deliver this message in order.
    pub in_order: bool,
    /// The KK field.
    pub key: KeyFlags,
    /// The R flag: this is a retransmission.
    pub retransmitted: bool,
    /// The message number (26 bits).
    pub msg_no: u32,
    /// Microseconds since the sender's connection started.
    pub timestamp: u32,
    /// The receiving socket.
    pub dest: SocketId,
    /// The payload, an MPEG-TS chunk in live mode.
    pub payload: Vec<u8>,
}

/// A control packet (§3.2): the header fields every type shares plus its
/// decoded body. The type, subtype and type-specific information fields live
/// in [`Control`], because their meaning depends on the type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPacket {
    /// Microseconds since the sender's connection started.
    pub timestamp: u32,
    /// The receiving socket (0 for a caller's first handshake).
    pub dest: SocketId,
    /// What the packet says.
    pub body: Control,
}

impl Packet {
    /// Decodes one datagram.
    pub fn parse(datagram: &[u8]) -> Result<Packet, PacketError> {
        let mut r = Reader::new(datagram);
        let word0 = be32(&mut r, "header")?;
        let word1 = be32(&mut r, "header")?;
        let timestamp = be32(&mut r, "timestamp")?;
        let dest = SocketId(be32(&mut r, "destination socket id")?);
        if word0 & CONTROL_FLAG == 0 {
            return Ok(Packet::Data(DataPacket {
                seq: word0,
                position: match word1 >> 30 {
                    0b00 => Position::Middle,
                    0b01 => Position::Last,
                    0b10 => Position::First,
                    _ => Position::Only,
                },
                in_order: word1 & (1 << 29) != 0,
                key: match (word1 >> 27) & 0b11 {
                    0b00 => KeyFlags::Clear,
                    0b01 => KeyFlags::Even,
                    0b10 => KeyFlags::Odd,
                    _ => KeyFlags::Both,
                },
                retransmitted: word1 & (1 << 26) != 0,
                msg_no: word1 & MSG_NO_MASK,
                timestamp,
                dest,
                payload: r.rest().to_vec(),
            }));
        }
        let control_type = ((word0 >> 16) & 0x7fff) as u16;
        let subtype = (word0 & 0xffff) as u16;
        let body = Control::parse(control_type, subtype, word1, &mut r)?;
        Ok(Packet::Control(ControlPacket { timestamp, dest, body }))
    }

    /// Appends the datagram's bytes to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Packet::Data(data) => {
                let position = match data.position {
                    Position::Middle => 0b00,
                    Position::Last => 0b01,
                    Position::First => 0b10,
                    Position::Only => 0b11,
                };
                let key = match data.key {
                    KeyFlags::Clear => 0b00,
                    KeyFlags::Even => 0b01,
                    KeyFlags::Odd => 0b10,
                    KeyFlags::Both => 0b11,
                };
                let word1 = position << 30
                    | u32::from(data.in_order) << 29
                    | key << 27
                    | u32::from(data.retransmitted) << 26
                    | data.msg_no & MSG_NO_MASK;
                put32(out, data.seq & !CONTROL_FLAG);
                put32(out, word1);
                put32(out, data.timestamp);
                put32(out, data.dest.0);
                out.extend_from_slice(&data.payload);
            }
            Packet::Control(control) => {
                let (control_type, subtype, type_info) = control.body.header_fields();
                put32(
                    out,
                    CONTROL_FLAG | u32::from(control_type & 0x7fff) << 16 | u32::from(subtype),
                );
                put32(out, type_info);
                put32(out, control.timestamp);
                put32(out, control.dest.0);
                control.body.encode_cif(out);
            }
        }
    }
}

/// The low 26 bits of the second data header word.
const MSG_NO_MASK: u32 = (1 << 26) - 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_packet_fields_round_trip() {
        let bytes = [
            0x12, 0x34, 0x56, 0x78, // data flag 0, sequence number 0x12345678
            0xe4, 0x00, 0x00, 0x07, // PP 0b11, O 1, KK 0b00, R 1, message number 7
            0x00, 0x01, 0x00, 0x00, // timestamp 65536 us
            0x0a, 0x0b, 0x0c, 0x0d, // destination socket id
            0x47, 0x40, // payload
        ];
        let packet = Packet::parse(&bytes).unwrap();
        let Packet::Data(data) = &packet else {
            panic!("not data: {packet:?}")
        };
        assert_eq!(data.seq, 0x1234_5678);
        assert_eq!(data.position, Position::Only);
        assert!(data.in_order);
        assert_eq!(data.key, KeyFlags::Clear);
        assert!(data.retransmitted);
        assert_eq!(data.msg_no, 7);
        assert_eq!(data.timestamp, 65536);
        assert_eq!(data.dest, SocketId(0x0a0b_0c0d));
        assert_eq!(data.payload, [0x47, 0x40]);
        let mut out = Vec::new();
        packet.encode(&mut out);
        assert_eq!(out, bytes);
    }

    #[test]
    fn data_flags_decode_each_bit() {
        let bytes = [
            0x00, 0x00, 0x00, 0x01, // sequence number 1
            0x53, 0xff, 0xff, 0xff, // PP 0b01, O 0, KK 0b10, R 0, message number 2^26-1
            0, 0, 0, 0, // timestamp
            0, 0, 0, 0, // destination socket id
        ];
        let Packet::Data(data) = Packet::parse(&bytes).unwrap() else {
            panic!("not data")
        };
        assert_eq!(data.position, Position::Last);
        assert!(!data.in_order);
        assert_eq!(data.key, KeyFlags::Odd);
        assert!(!data.retransmitted);
        assert_eq!(data.msg_no, MSG_NO_MASK);
        assert!(data.payload.is_empty());
    }

    #[test]
    fn short_header_names_the_field() {
        let err = Packet::parse(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(
            err,
            PacketError::Truncated {
                what: "timestamp",
                offset: 8
            }
        );
        assert_eq!(err.to_string(), "srt packet truncated in timestamp at offset 8");
    }

    #[test]
    fn captured_ffmpeg_data_packet() {
        let datagram = include_bytes!("../../../tests/data/srt-data-ffmpeg.bin");
        let packet = Packet::parse(datagram).unwrap();
        let mut out = Vec::new();
        packet.encode(&mut out);
        assert_eq!(out, datagram);
        let Packet::Data(data) = packet else { panic!("not data") };
        assert_eq!(data.seq, 0x610e_02f4, "the handshake's initial sequence number");
        assert_eq!(data.position, Position::Only);
        assert!(data.in_order);
        assert_eq!(data.key, KeyFlags::Clear);
        assert!(!data.retransmitted);
        assert_eq!(data.msg_no, 1);
        assert_eq!(data.dest, SocketId(0x045f_7733), "the listener's socket");
        assert_eq!(data.payload.len(), 7 * 188, "seven TS packets");
        assert!(data.payload.chunks(188).all(|ts| ts.first() == Some(&0x47)));
    }
}
