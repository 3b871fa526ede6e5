//! `Handshake`: the HANDSHAKE control information field and its v5
//! extension blocks (draft-sharabayko-srt §3.2.1).
//!
//! The 48-byte CIF is followed by extension blocks only in a v5 CONCLUSION,
//! but any bytes after the CIF are read as blocks here: the state machine,
//! not the parser, decides which handshakes may carry them.

use super::error::PacketError;
use super::wire::{SocketId, be16, be32, put32};
use crate::protocol::reader::Reader;

const HSREQ: u16 = 1;
const HSRSP: u16 = 2;
const KMREQ: u16 = 3;
const KMRSP: u16 = 4;
const SID: u16 = 5;

/// The words in an HSREQ or HSRSP block.
const SRT_HANDSHAKE_WORDS: u16 = 3;

/// The HANDSHAKE control information field (§3.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// 4 for a caller's INDUCTION, 5 after (HSv5).
    pub version: u32,
    /// The encryption field: the advertised key length / 8 (2, 3 or 4), or 0.
    pub encryption: u16,
    /// The extension field: in a CONCLUSION, flags saying which blocks follow
    /// (0x1 HSREQ, 0x2 KMREQ, 0x4 CONFIG); in a listener's INDUCTION answer,
    /// the magic 0x4A17; in a caller's INDUCTION, 2 (UDT's datagram socket type).
    pub extension: u16,
    /// The first data sequence number the sender will use.
    pub initial_seq: u32,
    /// Maximum transmission unit, bytes (1500 by default).
    pub mtu: u32,
    /// Maximum flow window, packets (8192 by default).
    pub flow_window: u32,
    /// Which step of the handshake this is.
    pub kind: HandshakeType,
    /// The sender's own socket id.
    pub socket_id: SocketId,
    /// The listener's SYN cookie, echoed by the caller's CONCLUSION.
    pub syn_cookie: u32,
    /// The peer's address as the sender saw it, four 32-bit words.
    ///
    /// Interop: libsrt writes an IPv4 address's `s_addr` as a host-order word
    /// through `htonl`, so on little-endian machines 127.0.0.1 arrives as
    /// `01 00 00 7f`. Kept as raw bytes; nothing here relies on it.
    pub peer_ip: [u8; 16],
    /// The extension blocks after the CIF, in order.
    pub extensions: Vec<Extension>,
}

/// The handshake type field (§3.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeType {
    /// 0: rendezvous first step.
    WaveAHand,
    /// 1: the first round trip, where the listener hands out its cookie.
    Induction,
    /// -1: the second round trip, carrying the extensions.
    Conclusion,
    /// -2: rendezvous final step.
    Agreement,
    /// -3: rendezvous completion.
    Done,
    /// Any other value; 1000 and above are rejection reasons (1000 + an
    /// SRT_REJ_* code, e.g. 1002 for a rejected peer).
    Other(u32),
}

impl HandshakeType {
    fn from_wire(value: u32) -> HandshakeType {
        match value {
            0 => HandshakeType::WaveAHand,
            1 => HandshakeType::Induction,
            0xffff_ffff => HandshakeType::Conclusion,
            0xffff_fffe => HandshakeType::Agreement,
            0xffff_fffd => HandshakeType::Done,
            other => HandshakeType::Other(other),
        }
    }

    fn to_wire(self) -> u32 {
        match self {
            HandshakeType::WaveAHand => 0,
            HandshakeType::Induction => 1,
            HandshakeType::Conclusion => 0xffff_ffff,
            HandshakeType::Agreement => 0xffff_fffe,
            HandshakeType::Done => 0xffff_fffd,
            HandshakeType::Other(value) => value,
        }
    }

    /// The rejection reason code if this handshake is a rejection (values of
    /// 1000 and above carry `1000 + reason`).
    pub fn rejection(self) -> Option<u32> {
        match self {
            HandshakeType::Other(value) if (1000..0x8000_0000).contains(&value) => Some(value - 1000),
            _ => None,
        }
    }
}

/// One extension block after the handshake CIF (§3.2.1.1-§3.2.1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extension {
    /// HSREQ: the caller's SRT options.
    HsReq(SrtHandshake),
    /// HSRSP: the listener's answer.
    HsRsp(SrtHandshake),
    /// KMREQ, not decoded yet (encryption comes later).
    KmReq(Vec<u8>),
    /// KMRSP, not decoded yet.
    KmRsp(Vec<u8>),
    /// SID: the stream id the caller asked for, e.g. `publish:live/cam`.
    StreamId(String),
    /// Any other block (congestion control, filter, group), kept as it came.
    Other {
        /// The block type.
        ext_type: u16,
        /// The content, a whole number of 32-bit words.
        content: Vec<u8>,
    },
}

/// The content of an HSREQ or HSRSP block (§3.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrtHandshake {
    /// The sender's SRT version, 0x00MMmmpp (0x010501 is 1.5.1).
    pub srt_version: u32,
    /// What the sender supports.
    pub flags: SrtFlags,
    /// The TSBPD delay the sender wants as a receiver, milliseconds.
    pub receiver_delay_ms: u16,
    /// The TSBPD delay the sender wants as a sender, milliseconds.
    pub sender_delay_ms: u16,
}

/// The SRT flags of an HSREQ/HSRSP block (§3.2.1.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrtFlags(pub u32);

impl SrtFlags {
    /// TSBPD on sending.
    pub const TSBPDSND: SrtFlags = SrtFlags(0x01);
    /// TSBPD on receiving.
    pub const TSBPDRCV: SrtFlags = SrtFlags(0x02);
    /// Encryption supported (always set by libsrt).
    pub const CRYPT: SrtFlags = SrtFlags(0x04);
    /// Too-late packet drop.
    pub const TLPKTDROP: SrtFlags = SrtFlags(0x08);
    /// Periodic NAK reports.
    pub const NAKREPORT: SrtFlags = SrtFlags(0x10);
    /// The R flag is present in data packets.
    pub const REXMITFLG: SrtFlags = SrtFlags(0x20);
    /// Stream (file) mode instead of message mode.
    pub const STREAM: SrtFlags = SrtFlags(0x40);
    /// A packet filter is configured.
    pub const PACKET_FILTER: SrtFlags = SrtFlags(0x80);

    /// True when every bit of `other` is set.
    pub fn contains(self, other: SrtFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl Handshake {
    /// Decodes the CIF and any extension blocks after it from `r`.
    pub(super) fn parse(r: &mut Reader<'_>) -> Result<Handshake, PacketError> {
        let version = be32(r, "handshake version")?;
        let encryption = be16(r, "handshake encryption field")?;
        let extension = be16(r, "handshake extension field")?;
        let initial_seq = be32(r, "handshake initial sequence number")?;
        let mtu = be32(r, "handshake mtu")?;
        let flow_window = be32(r, "handshake flow window")?;
        let kind = HandshakeType::from_wire(be32(r, "handshake type")?);
        let socket_id = SocketId(be32(r, "handshake socket id")?);
        let syn_cookie = be32(r, "handshake syn cookie")?;
        let offset = r.position();
        let peer_ip = r
            .take(16)
            .ok()
            .and_then(|ip| <[u8; 16]>::try_from(ip).ok())
            .ok_or(PacketError::Truncated {
                what: "handshake peer ip",
                offset,
            })?;
        let mut extensions = Vec::new();
        while !r.is_empty() {
            extensions.push(parse_extension(r)?);
        }
        Ok(Handshake {
            version,
            encryption,
            extension,
            initial_seq,
            mtu,
            flow_window,
            kind,
            socket_id,
            syn_cookie,
            peer_ip,
            extensions,
        })
    }

    /// Appends the CIF and the extension blocks.
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        put32(out, self.version);
        out.extend_from_slice(&self.encryption.to_be_bytes());
        out.extend_from_slice(&self.extension.to_be_bytes());
        for word in [
            self.initial_seq,
            self.mtu,
            self.flow_window,
            self.kind.to_wire(),
            self.socket_id.0,
            self.syn_cookie,
        ] {
            put32(out, word);
        }
        out.extend_from_slice(&self.peer_ip);
        for extension in &self.extensions {
            extension.encode(out);
        }
    }

    /// The stream id from the SID block, if there is one.
    pub fn stream_id(&self) -> Option<&str> {
        self.extensions.iter().find_map(|extension| match extension {
            Extension::StreamId(id) => Some(id.as_str()),
            _ => None,
        })
    }

    /// The HSREQ block, if there is one.
    pub fn hsreq(&self) -> Option<&SrtHandshake> {
        self.extensions.iter().find_map(|extension| match extension {
            Extension::HsReq(hs) => Some(hs),
            _ => None,
        })
    }
}

fn parse_extension(r: &mut Reader<'_>) -> Result<Extension, PacketError> {
    let ext_type = be16(r, "handshake extension type")?;
    let words = be16(r, "handshake extension length")?;
    let offset = r.position();
    let remaining = r.remaining();
    let content = r
        .take(usize::from(words) * 4)
        .map_err(|_| PacketError::ExtensionOverrun {
            ext_type,
            offset,
            words,
            remaining,
        })?;
    Ok(match ext_type {
        HSREQ | HSRSP => {
            if words != SRT_HANDSHAKE_WORDS {
                return Err(PacketError::ExtensionLength {
                    ext_type,
                    offset,
                    words,
                    expected: SRT_HANDSHAKE_WORDS,
                });
            }
            let mut c = Reader::new(content);
            let srt_version = c.u32();
            let flags = c.u32();
            let receiver_delay_ms = c.u16();
            let sender_delay_ms = c.u16();
            let hs = SrtHandshake {
                srt_version: srt_version.expect("length checked above"),
                flags: SrtFlags(flags.expect("length checked above")),
                receiver_delay_ms: receiver_delay_ms.expect("length checked above"),
                sender_delay_ms: sender_delay_ms.expect("length checked above"),
            };
            if ext_type == HSREQ {
                Extension::HsReq(hs)
            } else {
                Extension::HsRsp(hs)
            }
        }
        KMREQ => Extension::KmReq(content.to_vec()),
        KMRSP => Extension::KmRsp(content.to_vec()),
        SID => Extension::StreamId(decode_stream_id(content, offset)?),
        _ => Extension::Other {
            ext_type,
            content: content.to_vec(),
        },
    })
}

/// Interop: libsrt copies the stream id into 32-bit words and converts each
/// from host to network order, so on the little-endian machines every encoder
/// runs on, each 4-byte group arrives reversed ("publish:" is sent as
/// "lbup" ":hsi"). The text is NUL-padded to a whole word before the swap, so
/// the padding of a last partial word comes first on the wire.
fn decode_stream_id(content: &[u8], offset: usize) -> Result<String, PacketError> {
    let mut text: Vec<u8> = content.chunks(4).flat_map(|word| word.iter().rev().copied()).collect();
    while text.last() == Some(&0) {
        text.pop();
    }
    String::from_utf8(text).map_err(|_| PacketError::StreamIdNotUtf8 { offset })
}

impl Extension {
    fn encode(&self, out: &mut Vec<u8>) {
        let (ext_type, content): (u16, Vec<u8>) = match self {
            Extension::HsReq(hs) | Extension::HsRsp(hs) => {
                let mut c = Vec::with_capacity(12);
                put32(&mut c, hs.srt_version);
                put32(&mut c, hs.flags.0);
                c.extend_from_slice(&hs.receiver_delay_ms.to_be_bytes());
                c.extend_from_slice(&hs.sender_delay_ms.to_be_bytes());
                let ext_type = if matches!(self, Extension::HsReq(_)) {
                    HSREQ
                } else {
                    HSRSP
                };
                (ext_type, c)
            }
            Extension::KmReq(c) => (KMREQ, c.clone()),
            Extension::KmRsp(c) => (KMRSP, c.clone()),
            Extension::StreamId(id) => {
                let mut padded = id.as_bytes().to_vec();
                padded.resize(id.len().div_ceil(4) * 4, 0);
                let swapped = padded.chunks(4).flat_map(|word| word.iter().rev().copied()).collect();
                (SID, swapped)
            }
            Extension::Other { ext_type, content } => (*ext_type, content.clone()),
        };
        // A block longer than 65535 words cannot be said on the wire and
        // cannot fit a datagram either: callers build blocks of a few words.
        let words = u16::try_from(content.len().div_ceil(4)).unwrap_or(u16::MAX);
        out.extend_from_slice(&ext_type.to_be_bytes());
        out.extend_from_slice(&words.to_be_bytes());
        let start = out.len();
        let len = usize::from(words) * 4;
        out.extend(content.into_iter().take(len));
        out.resize(start + len, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::Control;
    use super::super::{ControlPacket, Packet};
    use super::*;

    /// The handshake in a captured datagram, after checking that it encodes
    /// back to the same bytes.
    fn handshake(datagram: &[u8]) -> (ControlPacket, Handshake) {
        let packet = Packet::parse(datagram).unwrap();
        let mut out = Vec::new();
        packet.encode(&mut out);
        assert_eq!(out, datagram, "encode(parse(x)) differs");
        let Packet::Control(control) = packet else {
            panic!("not a control packet")
        };
        let Control::Handshake(hs) = control.body.clone() else {
            panic!("not a handshake: {:?}", control.body)
        };
        (control, hs)
    }

    const LOCALHOST_AS_LIBSRT_SENDS_IT: [u8; 16] = [1, 0, 0, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    #[test]
    fn ffmpeg_induction() {
        let (control, hs) = handshake(include_bytes!("../../../tests/data/srt-induction-ffmpeg.bin"));
        assert_eq!(control.dest, SocketId(0), "a caller's first handshake goes to socket 0");
        assert_eq!(hs.version, 4);
        assert_eq!(hs.encryption, 0);
        assert_eq!(hs.extension, 2, "UDT_DGRAM");
        assert_eq!(hs.initial_seq, 0x6d21_e088);
        assert_eq!(hs.mtu, 1500);
        assert_eq!(hs.flow_window, 8192);
        assert_eq!(hs.kind, HandshakeType::Induction);
        assert_eq!(hs.socket_id, SocketId(0x3f8c_c704));
        assert_eq!(hs.syn_cookie, 0);
        assert_eq!(hs.peer_ip, LOCALHOST_AS_LIBSRT_SENDS_IT);
        assert!(hs.extensions.is_empty());
    }

    #[test]
    fn ffmpeg_conclusion_with_hsreq_and_stream_id() {
        let (_, hs) = handshake(include_bytes!("../../../tests/data/srt-conclusion-ffmpeg.bin"));
        assert_eq!(hs.version, 5);
        assert_eq!(hs.extension, 0x5, "HSREQ | CONFIG");
        assert_eq!(hs.initial_seq, 0x6d21_e088, "same as the induction");
        assert_eq!(hs.kind, HandshakeType::Conclusion);
        assert_eq!(hs.socket_id, SocketId(0x3f8c_c704));
        assert_eq!(hs.syn_cookie, 0x5eed_0c0c, "echoes the responder's cookie");
        assert_eq!(hs.mtu, 1500);
        assert_eq!(hs.flow_window, 8192);
        let hsreq = hs.hsreq().unwrap();
        assert_eq!(hsreq.srt_version, 0x01_05_01);
        assert_eq!(hsreq.flags, SrtFlags(0xbf));
        for flag in [
            SrtFlags::TSBPDSND,
            SrtFlags::TSBPDRCV,
            SrtFlags::CRYPT,
            SrtFlags::TLPKTDROP,
            SrtFlags::NAKREPORT,
            SrtFlags::REXMITFLG,
        ] {
            assert!(hsreq.flags.contains(flag), "{flag:?}");
        }
        assert!(!hsreq.flags.contains(SrtFlags::STREAM));
        assert_eq!(hsreq.receiver_delay_ms, 200, "latency=200000 us");
        assert_eq!(hsreq.sender_delay_ms, 200);
        assert_eq!(hs.stream_id(), Some("publish:live/cam"));
    }

    #[test]
    fn stream_id_padding_comes_first_in_the_last_word() {
        let datagram = include_bytes!("../../../tests/data/srt-conclusion-ffmpeg-read.bin");
        assert_eq!(&datagram[0x5c..], b"\0x/e", "\"e/x\" and one NUL, reversed");
        let (_, hs) = handshake(datagram);
        assert_eq!(hs.stream_id(), Some("read:live/x"));
        let hsreq = hs.hsreq().unwrap();
        assert_eq!(
            (hsreq.receiver_delay_ms, hsreq.sender_delay_ms),
            (120, 0),
            "ffmpeg's default latency"
        );
    }

    #[test]
    fn srt_live_transmit_access_control_stream_id() {
        let (_, hs) = handshake(include_bytes!("../../../tests/data/srt-conclusion-slt.bin"));
        assert_eq!(hs.stream_id(), Some("#!::r=live/cam,m=publish"));
        assert_eq!(hs.hsreq().unwrap().receiver_delay_ms, 200);
    }

    #[test]
    fn extension_errors_name_the_block() {
        let datagram = include_bytes!("../../../tests/data/srt-conclusion-ffmpeg.bin");
        // The HSREQ block at offset 64 claims 4 words instead of 3.
        let mut wrong_length = datagram.to_vec();
        wrong_length[67] = 4;
        assert_eq!(
            Packet::parse(&wrong_length),
            Err(PacketError::ExtensionLength {
                ext_type: 1,
                offset: 68,
                words: 4,
                expected: 3
            })
        );
        // The SID block at offset 80 claims 255 words.
        let mut overrun = datagram.to_vec();
        overrun[83] = 0xff;
        let err = Packet::parse(&overrun).unwrap_err();
        assert_eq!(
            err.to_string(),
            "srt extension block type 5 at offset 84 claims 255 words but only 16 bytes remain"
        );
        let mut not_utf8 = datagram.to_vec();
        not_utf8[84] = 0xff;
        assert_eq!(
            Packet::parse(&not_utf8),
            Err(PacketError::StreamIdNotUtf8 { offset: 84 })
        );
    }

    #[test]
    fn rejection_codes() {
        assert_eq!(HandshakeType::from_wire(1002).rejection(), Some(2));
        assert_eq!(HandshakeType::Conclusion.rejection(), None);
        assert_eq!(HandshakeType::from_wire(0xffff_fffe), HandshakeType::Agreement);
    }

    #[test]
    fn libsrt_listener_induction_response() {
        let (control, hs) = handshake(include_bytes!("../../../tests/data/srt-induction-response-slt.bin"));
        assert_eq!(hs.version, 5);
        assert_eq!(hs.extension, 0x4a17, "the HSv5 magic");
        assert_eq!(hs.kind, HandshakeType::Induction);
        // Interop: libsrt 1.5.1 answers with the caller's own socket id in
        // the CIF, not its own; the caller only reads the cookie.
        assert_eq!(hs.socket_id, control.dest);
        assert_eq!(hs.syn_cookie, 0x44e4_12ab);
        assert!(hs.extensions.is_empty());
    }

    #[test]
    fn libsrt_listener_conclusion_response_with_hsrsp() {
        let (_, hs) = handshake(include_bytes!("../../../tests/data/srt-conclusion-response-slt.bin"));
        assert_eq!(hs.kind, HandshakeType::Conclusion);
        assert_eq!(hs.extension, 0x1, "HSRSP only, no stream id back");
        assert_eq!(hs.socket_id, SocketId(0x045f_7733));
        assert_eq!(
            hs.extensions,
            [Extension::HsRsp(SrtHandshake {
                srt_version: 0x01_05_01,
                flags: SrtFlags(0xbf),
                receiver_delay_ms: 120,
                sender_delay_ms: 120,
            })]
        );
    }
}
