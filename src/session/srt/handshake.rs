//! The listener's side of the SRT v5 handshake (draft-sharabayko-srt
//! §4.3.1): the INDUCTION answer with a SYN cookie, the checks on the
//! caller's CONCLUSION, and the CONCLUSION answer or a rejection.
//!
//! Nothing is kept between the two round trips: the cookie is a keyed hash
//! of the caller's address and the minute, so a flood of INDUCTIONs from
//! forged addresses costs one answer each and no memory, as TCP's SYN
//! cookies do. A CONCLUSION is taken only with a cookie made for its
//! address this minute or the one before.

use std::net::SocketAddr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::protocol::srt::{Extension, Handshake, HandshakeType, SocketId, SrtFlags, SrtHandshake};

/// The extension field of a listener's INDUCTION answer: "SRT v5 here".
const SRT_MAGIC: u16 = 0x4A17;
/// The extension flags of a CONCLUSION answer: an HSRSP block follows,
/// and a KMRSP when `KMRSP_FLAG`.
const HSRSP_FLAG: u16 = 0x1;
const KMRSP_FLAG: u16 = 0x2;
/// The SRT version this listener speaks, 0x00MMmmpp: 1.5.0, the first
/// with everything the live mode here relies on.
const SRT_VERSION: u32 = 0x0001_0500;
/// The oldest caller taken: 1.3.0 brought HSv5 and the stream id.
const OLDEST_CALLER: u32 = 0x0001_0300;

/// Why a caller is turned away; the wire value is `1000 + code`
/// (libsrt's SRT_REJ_* below 1000, its access-control SRT_REJX_* from 1000).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// SRT_REJ_ROGUE (2): the handshake broke the protocol.
    Rogue,
    /// SRT_REJ_VERSION (13): a caller older than HSv5 with SRT extensions.
    Version,
    /// SRT_REJ_MESSAGEAPI (12): stream (file) mode, not live.
    MessageApi,
    /// SRT_REJ_BADSECRET (10): the passphrase did not unwrap the key.
    BadSecret,
    /// SRT_REJ_UNSECURE (11): one side has a passphrase, the other none.
    Unsecure,
    /// SRT_REJ_RESOURCE (3): a limit of this server.
    Resource,
    /// SRT_REJX_BAD_REQUEST (1400): a stream id we cannot read.
    BadRequest,
    /// SRT_REJX_UNAUTHORIZED (1401): a key is missing or wrong.
    Unauthorized,
    /// SRT_REJX_FORBIDDEN (1403): refused by the access rules, a hook or
    /// the policy.
    Forbidden,
    /// SRT_REJX_CONFLICT (1409): the stream is already published.
    Conflict,
    /// SRT_REJX_DOWN (1503): the server is draining or stopping.
    Down,
}

impl Rejection {
    /// The reason code (libsrt's `srt_getrejectreason`).
    pub fn code(self) -> u32 {
        match self {
            Rejection::Rogue => 2,
            Rejection::Resource => 3,
            Rejection::BadSecret => 10,
            Rejection::Unsecure => 11,
            Rejection::MessageApi => 12,
            Rejection::Version => 13,
            Rejection::BadRequest => 1400,
            Rejection::Unauthorized => 1401,
            Rejection::Forbidden => 1403,
            Rejection::Conflict => 1409,
            Rejection::Down => 1503,
        }
    }
}

/// What the listener offers every caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// The TSBPD latency this side wants, milliseconds; the larger of
    /// both sides' wins.
    pub latency_ms: u16,
    /// The key length a passphrase asks for (16, 24 or 32), if any.
    pub key_len: Option<u8>,
}

/// A caller's CONCLUSION, checked: what the connection runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agreed {
    /// The caller's socket id: the destination of every packet we send.
    pub peer: SocketId,
    /// The first sequence number the caller sends with.
    pub peer_initial_seq: u32,
    /// The TSBPD latency both sides keep, microseconds.
    pub latency_us: u64,
    /// The stream id the caller sent, empty when none.
    pub stream_id: String,
    /// The caller's KMREQ, as it came, when it encrypts.
    pub key_material: Option<Vec<u8>>,
    /// The caller's SRT version, 0x00MMmmpp.
    pub peer_version: u32,
}

/// The SYN cookie for `peer` in `minute`, keyed by `secret` (random per
/// server start).
pub fn cookie(secret: &[u8], peer: SocketAddr, minute: u64) -> u32 {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(peer.to_string().as_bytes());
    mac.update(&minute.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Whether `value` is a cookie made for `peer` this minute or the last.
pub fn cookie_is_fresh(secret: &[u8], peer: SocketAddr, minute: u64, value: u32) -> bool {
    value == cookie(secret, peer, minute) || value == cookie(secret, peer, minute.saturating_sub(1))
}

/// The answer to a caller's INDUCTION: the caller's own fields back, with
/// version 5, the SRT magic and our cookie (§4.3.1.1).
pub fn induction_answer(caller: &Handshake, offer: &Offer, cookie: u32) -> Handshake {
    Handshake {
        version: 5,
        encryption: offer.key_len.map_or(0, |len| u16::from(len / 8)),
        extension: SRT_MAGIC,
        syn_cookie: cookie,
        extensions: Vec::new(),
        ..caller.clone()
    }
}

/// Checks a caller's CONCLUSION against `offer`: HSv5, live mode with
/// TSBPD, and a key exactly when we have a passphrase.
pub fn read_conclusion(caller: &Handshake, offer: &Offer) -> Result<Agreed, Rejection> {
    if caller.version != 5 || caller.kind != HandshakeType::Conclusion {
        return Err(Rejection::Version);
    }
    let hsreq = caller.hsreq().ok_or(Rejection::Version)?;
    if hsreq.srt_version < OLDEST_CALLER {
        return Err(Rejection::Version);
    }
    if hsreq.flags.contains(SrtFlags::STREAM) {
        return Err(Rejection::MessageApi);
    }
    if !hsreq.flags.contains(SrtFlags::TSBPDSND) && !hsreq.flags.contains(SrtFlags::TSBPDRCV) {
        return Err(Rejection::MessageApi);
    }
    let key_material = caller.extensions.iter().find_map(|extension| match extension {
        Extension::KmReq(km) => Some(km.clone()),
        _ => None,
    });
    if key_material.is_some() != offer.key_len.is_some() {
        return Err(Rejection::Unsecure);
    }
    // Each side's receiver waits the larger of what it wants and what the
    // other side's sender asks; with one direction carrying media, one
    // figure serves both.
    let latency_ms = offer.latency_ms.max(hsreq.receiver_delay_ms).max(hsreq.sender_delay_ms);
    Ok(Agreed {
        peer: caller.socket_id,
        peer_initial_seq: caller.initial_seq,
        latency_us: u64::from(latency_ms) * 1000,
        stream_id: caller.stream_id().unwrap_or_default().to_string(),
        key_material,
        peer_version: hsreq.srt_version,
    })
}

/// The answer to an accepted CONCLUSION: our socket id and the HSRSP with
/// the agreed latency, and the KMRSP when the caller encrypts.
pub fn conclusion_answer(
    caller: &Handshake,
    agreed: &Agreed,
    own: SocketId,
    km_response: Option<Vec<u8>>,
) -> Handshake {
    let latency_ms = u16::try_from(agreed.latency_us / 1000).unwrap_or(u16::MAX);
    let flags = SrtFlags::TSBPDSND.0
        | SrtFlags::TSBPDRCV.0
        | SrtFlags::CRYPT.0
        | SrtFlags::TLPKTDROP.0
        | SrtFlags::NAKREPORT.0
        | SrtFlags::REXMITFLG.0;
    let mut extensions = vec![Extension::HsRsp(SrtHandshake {
        srt_version: SRT_VERSION,
        flags: SrtFlags(flags),
        receiver_delay_ms: latency_ms,
        sender_delay_ms: latency_ms,
    })];
    let mut extension = HSRSP_FLAG;
    if let Some(km) = km_response {
        extensions.push(Extension::KmRsp(km));
        extension |= KMRSP_FLAG;
    }
    Handshake {
        version: 5,
        encryption: 0,
        extension,
        socket_id: own,
        mtu: caller.mtu.min(1500),
        extensions,
        ..caller.clone()
    }
}

/// The answer that turns a caller away, saying why.
pub fn rejection(caller: &Handshake, own: SocketId, why: Rejection) -> Handshake {
    Handshake {
        version: 5,
        encryption: 0,
        extension: 0,
        kind: HandshakeType::Other(1000 + why.code()),
        socket_id: own,
        extensions: Vec::new(),
        ..caller.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::srt::{Control, Packet};

    fn handshake(bytes: &[u8]) -> Handshake {
        match Packet::parse(bytes).unwrap() {
            Packet::Control(c) => match c.body {
                Control::Handshake(hs) => hs,
                other => panic!("not a handshake: {other:?}"),
            },
            other => panic!("not control: {other:?}"),
        }
    }

    const OFFER: Offer = Offer {
        latency_ms: 120,
        key_len: None,
    };

    #[test]
    fn induction_answer_matches_libsrt_listener() {
        // srt-live-transmit's answer to an INDUCTION: the caller's fields,
        // version 5, the magic, a cookie, and the caller's own socket id.
        let answer = handshake(include_bytes!("../../../tests/data/srt-induction-response-slt.bin"));
        let mut caller = answer.clone();
        caller.version = 4;
        caller.extension = 2;
        caller.syn_cookie = 0;
        assert_eq!(induction_answer(&caller, &OFFER, answer.syn_cookie), answer);
    }

    #[test]
    fn conclusion_from_ffmpeg_is_agreed() {
        let caller = handshake(include_bytes!("../../../tests/data/srt-conclusion-ffmpeg.bin"));
        let agreed = read_conclusion(&caller, &OFFER).unwrap();
        assert_eq!(agreed.stream_id, "publish:live/cam");
        assert_eq!(agreed.peer, caller.socket_id);
        assert_eq!(agreed.peer_initial_seq, caller.initial_seq);
        assert_eq!(agreed.latency_us, 200_000, "ffmpeg asked 200 ms, more than our 120");
        assert_eq!(agreed.key_material, None);
        let answer = conclusion_answer(&caller, &agreed, SocketId(7), None);
        assert_eq!(answer.socket_id, SocketId(7));
        assert_eq!(answer.syn_cookie, caller.syn_cookie);
        assert_eq!(answer.extension, HSRSP_FLAG);
        let Some(Extension::HsRsp(hsrsp)) = answer.extensions.first() else {
            panic!("no HSRSP: {answer:?}")
        };
        assert_eq!((hsrsp.receiver_delay_ms, hsrsp.sender_delay_ms), (200, 200));
        assert!(!hsrsp.flags.contains(SrtFlags::STREAM));
    }

    #[test]
    fn conclusion_answer_has_libsrt_listener_shape() {
        // The same fields srt-live-transmit answers with, but its version
        // and flags: 1.5.0 here, and no packet filter.
        let caller = handshake(include_bytes!("../../../tests/data/srt-conclusion-slt.bin"));
        let theirs = handshake(include_bytes!("../../../tests/data/srt-conclusion-response-slt.bin"));
        let agreed = read_conclusion(&caller, &OFFER).unwrap();
        let ours = conclusion_answer(&caller, &agreed, theirs.socket_id, None);
        assert_eq!(
            (ours.version, ours.extension, ours.kind, ours.syn_cookie),
            (theirs.version, theirs.extension, theirs.kind, caller.syn_cookie)
        );
    }

    #[test]
    fn refusals_name_the_reason() {
        let caller = handshake(include_bytes!("../../../tests/data/srt-conclusion-ffmpeg.bin"));
        let mut old = caller.clone();
        old.version = 4;
        assert_eq!(read_conclusion(&old, &OFFER), Err(Rejection::Version));
        let mut file_mode = caller.clone();
        for extension in &mut file_mode.extensions {
            if let Extension::HsReq(hs) = extension {
                hs.flags = SrtFlags(hs.flags.0 | SrtFlags::STREAM.0);
            }
        }
        assert_eq!(read_conclusion(&file_mode, &OFFER), Err(Rejection::MessageApi));
        let secret = Offer {
            key_len: Some(16),
            ..OFFER
        };
        assert_eq!(read_conclusion(&caller, &secret), Err(Rejection::Unsecure));
        let refused = rejection(&caller, SocketId(9), Rejection::Forbidden);
        assert_eq!(refused.kind.rejection(), Some(1403));
    }

    #[test]
    fn cookies_hold_for_two_minutes_and_one_address() {
        let peer: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let other: SocketAddr = "127.0.0.1:5001".parse().unwrap();
        let value = cookie(b"secret", peer, 100);
        assert!(cookie_is_fresh(b"secret", peer, 100, value));
        assert!(cookie_is_fresh(b"secret", peer, 101, value));
        assert!(!cookie_is_fresh(b"secret", peer, 102, value));
        assert!(!cookie_is_fresh(b"secret", other, 100, value));
        assert!(!cookie_is_fresh(b"other key", peer, 100, value));
    }
}
