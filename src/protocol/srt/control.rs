//! `Control`: the body of a control packet, by type
//! (draft-sharabayko-srt §3.2.1-§3.2.8).

use super::error::PacketError;
use super::handshake::Handshake;
use super::wire::{be32, put32};
use crate::protocol::reader::Reader;

const HANDSHAKE: u16 = 0x0000;
const KEEPALIVE: u16 = 0x0001;
const ACK: u16 = 0x0002;
const NAK: u16 = 0x0003;
const SHUTDOWN: u16 = 0x0005;
const ACKACK: u16 = 0x0006;
const DROPREQ: u16 = 0x0007;
/// User-defined (UMSG_EXT): SRT's own messages, told apart by the subtype.
const USER_DEFINED: u16 = 0x7fff;
/// The subtype of a KMREQ (SRT_CMD_KMREQ).
const KMREQ: u16 = 3;
/// The subtype of a KMRSP (SRT_CMD_KMRSP).
const KMRSP: u16 = 4;

/// The high bit of a NAK loss-list word: this word starts a range and the
/// next word ends it.
const RANGE_FLAG: u32 = 0x8000_0000;

/// What a control packet says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// HANDSHAKE (§3.2.1).
    Handshake(Handshake),
    /// KEEPALIVE (§3.2.3).
    KeepAlive,
    /// ACK (§3.2.4).
    Ack(Ack),
    /// NAK (§3.2.5): the sequence numbers the receiver has lost.
    Nak(Vec<LossRange>),
    /// ACKACK (§3.2.7): acknowledges the ACK with this number.
    AckAck {
        /// The ACK number being acknowledged.
        ack_no: u32,
    },
    /// SHUTDOWN (§3.2.6).
    Shutdown,
    /// DROPREQ (§3.2.9): the sender gave up on a message.
    DropRequest(DropRequest),
    /// KMREQ (user-defined type, subtype 3; §3.2.2): the peer's new key
    /// material, a key refresh. The bytes are a Key Material message as
    /// it is ([`KeyMaterial::parse`](super::KeyMaterial::parse) reads it):
    /// libsrt swaps it to host order and back, so it travels unswapped, as
    /// in a handshake's KMREQ block.
    KeyMaterialRequest(Vec<u8>),
    /// KMRSP (user-defined type, subtype 4): the answer to a KMREQ, the
    /// same bytes back when accepted, else a failure word
    /// ([`KmResponse::parse`](super::KmResponse::parse) reads it).
    KeyMaterialResponse(Vec<u8>),
    /// Any other type (congestion warning, peer error, user-defined, or one
    /// SRT has not defined), kept as it came.
    Unknown {
        /// The 15-bit control type.
        control_type: u16,
        /// The subtype.
        subtype: u16,
        /// The type-specific information field.
        type_info: u32,
        /// The control information field.
        cif: Vec<u8>,
    },
}

/// An ACK (§3.2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The ACK number, echoed by the ACKACK (0 on a light ACK).
    pub ack_no: u32,
    /// The sequence number after the last packet received in order.
    pub last_acked: u32,
    /// What else the ACK carries.
    pub stats: AckStats,
}

/// The optional part of an ACK; the three shapes differ only in length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckStats {
    /// A light ACK: the sequence number only (4 bytes).
    Light,
    /// A small ACK: also RTT and buffer (16 bytes).
    Small {
        /// Round-trip time, microseconds.
        rtt_us: u32,
        /// Round-trip time variance, microseconds.
        rtt_var_us: u32,
        /// Free receive buffer, packets.
        buffer_packets: u32,
    },
    /// A full ACK (28 bytes).
    Full {
        /// Round-trip time, microseconds.
        rtt_us: u32,
        /// Round-trip time variance, microseconds.
        rtt_var_us: u32,
        /// Free receive buffer, packets.
        buffer_packets: u32,
        /// Packets received per second.
        receiving_rate_packets: u32,
        /// Estimated link capacity, packets per second.
        link_capacity_packets: u32,
        /// Bytes received per second.
        receiving_rate_bytes: u32,
    },
}

/// Lost sequence numbers `first..=last`; a single loss has `first == last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LossRange {
    /// The first lost sequence number.
    pub first: u32,
    /// The last lost sequence number.
    pub last: u32,
}

/// A DROPREQ (§3.2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropRequest {
    /// The message the sender dropped.
    pub msg_no: u32,
    /// Its first packet's sequence number.
    pub first: u32,
    /// Its last packet's sequence number.
    pub last: u32,
}

impl Control {
    /// Decodes the body from the header's type, subtype and type-specific
    /// information, and the control information field left in `r`.
    pub(super) fn parse(
        control_type: u16,
        subtype: u16,
        type_info: u32,
        r: &mut Reader<'_>,
    ) -> Result<Control, PacketError> {
        // Interop: libsrt sends 4 zero bytes of CIF on KEEPALIVE, ACKACK and
        // SHUTDOWN (its writev cannot send an empty buffer); the spec says
        // there is none, so whatever is there is ignored.
        Ok(match control_type {
            HANDSHAKE => Control::Handshake(Handshake::parse(r)?),
            KEEPALIVE => Control::KeepAlive,
            SHUTDOWN => Control::Shutdown,
            ACKACK => Control::AckAck { ack_no: type_info },
            ACK => Control::Ack(parse_ack(type_info, r)?),
            NAK => Control::Nak(parse_loss_list(r)?),
            DROPREQ => Control::DropRequest(DropRequest {
                msg_no: type_info,
                first: be32(r, "dropreq first sequence number")?,
                last: be32(r, "dropreq last sequence number")?,
            }),
            // The type-specific field of these is unused (libsrt sends 0);
            // whatever is there is not kept.
            USER_DEFINED if subtype == KMREQ => Control::KeyMaterialRequest(r.rest().to_vec()),
            USER_DEFINED if subtype == KMRSP => Control::KeyMaterialResponse(r.rest().to_vec()),
            _ => Control::Unknown {
                control_type,
                subtype,
                type_info,
                cif: r.rest().to_vec(),
            },
        })
    }

    /// The control type, subtype and type-specific information header fields.
    pub(super) fn header_fields(&self) -> (u16, u16, u32) {
        match self {
            Control::Handshake(_) => (HANDSHAKE, 0, 0),
            Control::KeepAlive => (KEEPALIVE, 0, 0),
            Control::Ack(ack) => (ACK, 0, ack.ack_no),
            Control::Nak(_) => (NAK, 0, 0),
            Control::AckAck { ack_no } => (ACKACK, 0, *ack_no),
            Control::Shutdown => (SHUTDOWN, 0, 0),
            Control::DropRequest(drop) => (DROPREQ, 0, drop.msg_no),
            Control::KeyMaterialRequest(_) => (USER_DEFINED, KMREQ, 0),
            Control::KeyMaterialResponse(_) => (USER_DEFINED, KMRSP, 0),
            Control::Unknown {
                control_type,
                subtype,
                type_info,
                ..
            } => (*control_type, *subtype, *type_info),
        }
    }

    /// Appends the control information field.
    pub(super) fn encode_cif(&self, out: &mut Vec<u8>) {
        match self {
            Control::Handshake(handshake) => handshake.encode(out),
            // The 4 bytes libsrt sends, so that libsrt peers see what they expect.
            Control::KeepAlive | Control::AckAck { .. } | Control::Shutdown => put32(out, 0),
            Control::Ack(ack) => {
                put32(out, ack.last_acked);
                match ack.stats {
                    AckStats::Light => {}
                    AckStats::Small {
                        rtt_us,
                        rtt_var_us,
                        buffer_packets,
                    } => {
                        for word in [rtt_us, rtt_var_us, buffer_packets] {
                            put32(out, word);
                        }
                    }
                    AckStats::Full {
                        rtt_us,
                        rtt_var_us,
                        buffer_packets,
                        receiving_rate_packets,
                        link_capacity_packets,
                        receiving_rate_bytes,
                    } => {
                        for word in [
                            rtt_us,
                            rtt_var_us,
                            buffer_packets,
                            receiving_rate_packets,
                            link_capacity_packets,
                            receiving_rate_bytes,
                        ] {
                            put32(out, word);
                        }
                    }
                }
            }
            Control::Nak(losses) => {
                for loss in losses {
                    if loss.first == loss.last {
                        put32(out, loss.first & !RANGE_FLAG);
                    } else {
                        put32(out, loss.first | RANGE_FLAG);
                        put32(out, loss.last & !RANGE_FLAG);
                    }
                }
            }
            Control::DropRequest(drop) => {
                put32(out, drop.first);
                put32(out, drop.last);
            }
            Control::KeyMaterialRequest(km) | Control::KeyMaterialResponse(km) => out.extend_from_slice(km),
            Control::Unknown { cif, .. } => out.extend_from_slice(cif),
        }
    }
}

fn parse_ack(ack_no: u32, r: &mut Reader<'_>) -> Result<Ack, PacketError> {
    let len = r.remaining();
    if !matches!(len, 4 | 16 | 28) {
        return Err(PacketError::AckLength { len });
    }
    let last_acked = be32(r, "ack last acknowledged sequence number")?;
    let stats = if len == 4 {
        AckStats::Light
    } else {
        let rtt_us = be32(r, "ack rtt")?;
        let rtt_var_us = be32(r, "ack rtt variance")?;
        let buffer_packets = be32(r, "ack available buffer")?;
        if len == 16 {
            AckStats::Small {
                rtt_us,
                rtt_var_us,
                buffer_packets,
            }
        } else {
            AckStats::Full {
                rtt_us,
                rtt_var_us,
                buffer_packets,
                receiving_rate_packets: be32(r, "ack packets receiving rate")?,
                link_capacity_packets: be32(r, "ack estimated link capacity")?,
                receiving_rate_bytes: be32(r, "ack receiving rate")?,
            }
        }
    };
    Ok(Ack {
        ack_no,
        last_acked,
        stats,
    })
}

fn parse_loss_list(r: &mut Reader<'_>) -> Result<Vec<LossRange>, PacketError> {
    let mut losses = Vec::with_capacity(r.capacity_for(u32::MAX));
    while !r.is_empty() {
        let offset = r.position();
        let word = be32(r, "nak loss list")?;
        if word & RANGE_FLAG == 0 {
            losses.push(LossRange {
                first: word,
                last: word,
            });
            continue;
        }
        let end_offset = r.position();
        let last = be32(r, "nak range end").map_err(|_| PacketError::NakRangeUnterminated { offset })?;
        if last & RANGE_FLAG != 0 {
            return Err(PacketError::NakRangeEnd {
                offset: end_offset,
                value: last,
            });
        }
        losses.push(LossRange {
            first: word & !RANGE_FLAG,
            last,
        });
    }
    Ok(losses)
}

#[cfg(test)]
mod tests {
    use super::super::{ControlPacket, Packet, SocketId};
    use super::*;

    /// Parses `bytes`, checks the body and that encoding gives `bytes` back.
    fn round_trip(bytes: &[u8], body: Control) {
        let packet = Packet::parse(bytes).unwrap();
        assert_eq!(
            packet,
            Packet::Control(ControlPacket {
                timestamp: 0x0102_0304,
                dest: SocketId(0x1122_3344),
                body,
            })
        );
        let mut out = Vec::new();
        packet.encode(&mut out);
        assert_eq!(out, bytes);
    }

    const TS_DEST: [u8; 8] = [
        0x01, 0x02, 0x03, 0x04, // timestamp
        0x11, 0x22, 0x33, 0x44, // destination socket id
    ];

    fn packet(head: &[u8], cif: &[u8]) -> Vec<u8> {
        [head, &TS_DEST, cif].concat()
    }

    #[test]
    fn keepalive_shutdown_and_ackack_carry_libsrt_padding() {
        let pad = [0, 0, 0, 0];
        round_trip(&packet(&[0x80, 0x01, 0, 0, 0, 0, 0, 0], &pad), Control::KeepAlive);
        round_trip(&packet(&[0x80, 0x05, 0, 0, 0, 0, 0, 0], &pad), Control::Shutdown);
        round_trip(
            &packet(&[0x80, 0x06, 0, 0, 0, 0, 0, 9], &pad), // ACK number 9
            Control::AckAck { ack_no: 9 },
        );
    }

    #[test]
    fn full_small_and_light_acks() {
        let head = [0x80, 0x02, 0, 0, 0, 0, 0, 5]; // ACK, ACK number 5
        let cif = [
            0, 0, 0x10, 0x00, // last acknowledged 4096
            0, 0, 0x27, 0x10, // RTT 10000 us
            0, 0, 0x13, 0x88, // RTT variance 5000 us
            0, 0, 0x20, 0x00, // buffer 8192 packets
            0, 0, 0x03, 0xe8, // 1000 packets/s
            0, 0, 0x4e, 0x20, // link capacity 20000 packets/s
            0, 0x13, 0x88, 0x00, // 1280000 bytes/s
        ];
        let ack = |stats| {
            Control::Ack(Ack {
                ack_no: 5,
                last_acked: 4096,
                stats,
            })
        };
        round_trip(
            &packet(&head, &cif),
            ack(AckStats::Full {
                rtt_us: 10000,
                rtt_var_us: 5000,
                buffer_packets: 8192,
                receiving_rate_packets: 1000,
                link_capacity_packets: 20000,
                receiving_rate_bytes: 1_280_000,
            }),
        );
        round_trip(
            &packet(&head, &cif[..16]),
            ack(AckStats::Small {
                rtt_us: 10000,
                rtt_var_us: 5000,
                buffer_packets: 8192,
            }),
        );
        round_trip(&packet(&head, &cif[..4]), ack(AckStats::Light));
        assert_eq!(
            Packet::parse(&packet(&head, &cif[..8])),
            Err(PacketError::AckLength { len: 8 })
        );
    }

    #[test]
    fn nak_loss_list_with_ranges() {
        let head = [0x80, 0x03, 0, 0, 0, 0, 0, 0];
        let cif = [
            0x00, 0x00, 0x00, 0x07, // lost 7
            0x80, 0x00, 0x00, 0x0a, // lost 10 ..
            0x00, 0x00, 0x00, 0x0c, // .. to 12
        ];
        round_trip(
            &packet(&head, &cif),
            Control::Nak(vec![LossRange { first: 7, last: 7 }, LossRange { first: 10, last: 12 }]),
        );
        assert_eq!(
            Packet::parse(&packet(&head, &cif[..8])),
            Err(PacketError::NakRangeUnterminated { offset: 20 })
        );
        let bad_end = [0x80, 0, 0, 1, 0x80, 0, 0, 2];
        assert_eq!(
            Packet::parse(&packet(&head, &bad_end)),
            Err(PacketError::NakRangeEnd {
                offset: 20,
                value: 0x8000_0002
            })
        );
    }

    #[test]
    fn dropreq_and_unknown_types() {
        let cif = [0, 0, 0, 3, 0, 0, 0, 4]; // first 3, last 4
        round_trip(
            &packet(&[0x80, 0x07, 0, 0, 0, 0, 0, 2], &cif), // message 2
            Control::DropRequest(DropRequest {
                msg_no: 2,
                first: 3,
                last: 4,
            }),
        );
        round_trip(
            &packet(&[0xff, 0xff, 0x00, 0x01, 0, 0, 0, 6], &cif), // user-defined, subtype 1
            Control::Unknown {
                control_type: 0x7fff,
                subtype: 1,
                type_info: 6,
                cif: cif.to_vec(),
            },
        );
    }

    #[test]
    fn kmreq_and_kmrsp_are_user_defined_subtypes_3_and_4() {
        // A key material message as libsrt sends it: in a KMREQ control
        // packet the same bytes as in a CONCLUSION's KMREQ block.
        let km = super::super::key_material::tests::kmreq(include_bytes!(
            "../../../tests/data/srt-conclusion-ffmpeg-enc16.bin"
        ));
        round_trip(
            &packet(&[0xff, 0xff, 0x00, 0x03, 0, 0, 0, 0], &km),
            Control::KeyMaterialRequest(km.clone()),
        );
        round_trip(
            &packet(&[0xff, 0xff, 0x00, 0x04, 0, 0, 0, 0], &km),
            Control::KeyMaterialResponse(km.clone()),
        );
        // A failure KMRSP: BADSECRET, first byte first (see KmResponse).
        round_trip(
            &packet(&[0xff, 0xff, 0x00, 0x04, 0, 0, 0, 0], &[4, 0, 0, 0]),
            Control::KeyMaterialResponse(vec![4, 0, 0, 0]),
        );
        // Other user-defined subtypes (HSREQ, 1) stay unknown.
        assert!(matches!(
            Packet::parse(&packet(&[0xff, 0xff, 0x00, 0x01, 0, 0, 0, 0], &km)),
            Ok(Packet::Control(ControlPacket {
                body: Control::Unknown { subtype: 1, .. },
                ..
            }))
        ));
    }

    /// A captured control packet's body, after checking that it encodes back
    /// to the same bytes.
    fn captured(datagram: &[u8]) -> Control {
        let packet = Packet::parse(datagram).unwrap();
        let mut out = Vec::new();
        packet.encode(&mut out);
        assert_eq!(out, datagram, "encode(parse(x)) differs");
        let Packet::Control(control) = packet else {
            panic!("not a control packet")
        };
        control.body
    }

    #[test]
    fn captured_libsrt_ack_ackack_and_shutdown() {
        assert_eq!(
            captured(include_bytes!("../../../tests/data/srt-ack-slt.bin")),
            Control::Ack(Ack {
                ack_no: 1,
                last_acked: 0x610e_02f5,
                stats: AckStats::Full {
                    rtt_us: 100_000,
                    rtt_var_us: 50_000,
                    buffer_packets: 8190,
                    receiving_rate_packets: 1,
                    link_capacity_packets: 1000,
                    receiving_rate_bytes: 1500,
                },
            })
        );
        assert_eq!(
            captured(include_bytes!("../../../tests/data/srt-ackack-ffmpeg.bin")),
            Control::AckAck { ack_no: 1 }
        );
        assert_eq!(
            captured(include_bytes!("../../../tests/data/srt-shutdown-ffmpeg.bin")),
            Control::Shutdown
        );
    }
}
