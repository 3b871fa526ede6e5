//! HLS tokens: one admission decision carried to every file a viewer
//! fetches. The `Policy` and the `on_play` hook are asked once, for the
//! multivariant playlist; what they admitted (the stream, renamed maybe,
//! and the viewer's address) is signed into a token that rides in the
//! query of every URI the playlists write, and every other HLS file is
//! served only against a valid, unexpired token for that stream and
//! address.
//!
//! A token is `EXPIRES.MAC`: the Unix second it expires, in decimal, then
//! the first 16 bytes of an HMAC-SHA256, in hex, under the server's secret
//! over the application, the name, the expiry and the address (each
//! length-prefixed, after a domain label). Nothing is stored: any
//! connection thread checks any token.
//!
//! Expiry: a token lives `LIFETIME_SECS` (6 min), rounded up to the next
//! whole minute, so that the viewers behind one address (an HTTP cache,
//! a NAT) get the same token within a minute and the same URIs to cache.
//! A media playlist asked with a token past half its life hands out a
//! fresh one, so a viewer reloading it plays on without going back to
//! `index.m3u8`; a player that stops reloading for 3 min needs a new
//! admission. Binding the address keeps a token copied elsewhere from
//! opening the stream there (and from being renewed forever there).
//!
//! In scope: making, checking and renewing tokens, from bytes and the
//! time given. Out of scope: where a token travels and when one is asked
//! for (`http/hls.rs`), and the secret (drawn from the OS at start,
//! `Shared::secret`).

use std::fmt;
use std::net::IpAddr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::media::StreamKey;
use crate::protocol::adobe_auth::hex;

/// How long a token opens its stream, at least.
pub(crate) const LIFETIME_SECS: u64 = 6 * 60;
/// Expiry times are whole multiples of this.
const ROUND_SECS: u64 = 60;
/// Bytes of the MAC kept in a token.
const MAC_BYTES: usize = 16;

/// Why a token opens nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenError {
    /// It is not `EXPIRES.MAC` with a decimal time and a hex MAC of the
    /// right length.
    Malformed,
    /// The MAC is not this server's for that stream, expiry and address:
    /// made by another server, for another stream or viewer, or altered.
    Forged,
    /// It was valid until `expired`, a Unix second before `now`.
    Expired { expired: u64, now: u64 },
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Malformed => write!(f, "the hls token is malformed"),
            TokenError::Forged => write!(f, "the hls token is not valid for this stream and address"),
            TokenError::Expired { expired, now } => {
                write!(
                    f,
                    "the hls token expired at {expired}, {} s ago",
                    now.saturating_sub(*expired)
                )
            }
        }
    }
}

impl std::error::Error for TokenError {}

/// The expiry of a token made at `now`: `LIFETIME_SECS` on, rounded up to
/// a whole `ROUND_SECS`.
pub(crate) fn expiry(now: u64) -> u64 {
    now.saturating_add(LIFETIME_SECS).div_ceil(ROUND_SECS) * ROUND_SECS
}

/// A token for `ip` to fetch `key`'s HLS until `expires`.
pub(crate) fn sign(secret: &[u8], key: &StreamKey, ip: IpAddr, expires: u64) -> String {
    let tag = mac(secret, key, ip, expires).finalize().into_bytes();
    format!("{expires}.{}", hex(&tag[..MAC_BYTES]))
}

/// When `token` expires, if it is this server's for `ip` to fetch `key`'s
/// HLS and has not expired at `now`.
pub(crate) fn check(secret: &[u8], token: &str, key: &StreamKey, ip: IpAddr, now: u64) -> Result<u64, TokenError> {
    let (expires, tag) = token.split_once('.').ok_or(TokenError::Malformed)?;
    let all_digits = !expires.is_empty() && expires.bytes().all(|b| b.is_ascii_digit());
    let expires: u64 = (expires.parse().ok())
        .filter(|_| all_digits)
        .ok_or(TokenError::Malformed)?;
    let tag = unhex(tag)
        .filter(|t| t.len() == MAC_BYTES)
        .ok_or(TokenError::Malformed)?;
    // Constant time: a forger learns nothing from how long this takes.
    (mac(secret, key, ip, expires).verify_truncated_left(&tag)).map_err(|_| TokenError::Forged)?;
    if expires <= now {
        return Err(TokenError::Expired { expired: expires, now });
    }
    Ok(expires)
}

/// The token to write into the playlists of a viewer that presented
/// `token`: the same while it has more than half its life left, a fresh
/// one after; an error when `token` opens nothing (see `check`).
pub(crate) fn renew(secret: &[u8], token: &str, key: &StreamKey, ip: IpAddr, now: u64) -> Result<String, TokenError> {
    let expires = check(secret, token, key, ip, now)?;
    Ok(match expires - now > LIFETIME_SECS / 2 {
        true => token.to_owned(),
        false => sign(secret, key, ip, expiry(now)),
    })
}

/// The MAC over what a token binds, before truncation.
fn mac(secret: &[u8], key: &StreamKey, ip: IpAddr, expires: u64) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    // An IPv4 viewer reaching an IPv6 socket is the same viewer.
    let address = match ip.to_canonical() {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    let expires = expires.to_be_bytes();
    let parts: [&[u8]; 5] = [
        b"hls-token",
        key.app.as_bytes(),
        key.name.as_bytes(),
        &expires,
        &address,
    ];
    for part in parts {
        mac.update(&(part.len() as u32).to_be_bytes());
        mac.update(part);
    }
    mac
}

/// Lowercase or uppercase hex to bytes; `None` for anything else.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_700_000_000;

    fn cam() -> StreamKey {
        StreamKey::new("live", "cam")
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// The token's MAC under a fixed secret, as Python's `hmac` computes
    /// it over the same length-prefixed parts (`hmac.new(SECRET,
    /// b"".join(struct.pack(">I", len(p)) + p for p in parts),
    /// hashlib.sha256)`), so a change to what is signed, or how, shows.
    #[test]
    fn a_token_is_its_expiry_and_a_truncated_hmac() {
        let token = sign(SECRET, &cam(), ip("192.0.2.7"), 1_700_000_400);
        let (expires, tag) = token.split_once('.').unwrap();
        assert_eq!(expires, "1700000400");
        assert_eq!(tag.len(), 2 * MAC_BYTES);
        assert_eq!(token, "1700000400.dd4bbdf735e5578f60287c448176e8dd");
    }

    #[test]
    fn expiry_is_the_lifetime_on_rounded_up_to_a_minute() {
        assert_eq!(expiry(0), 360);
        assert_eq!(expiry(1), 420);
        assert_eq!(expiry(59), 420);
        assert_eq!(expiry(60), 420);
        assert_eq!(expiry(61), 480);
        assert!((NOW..NOW + 60).all(|now| expiry(now) - now >= LIFETIME_SECS));
    }

    #[test]
    fn a_valid_token_opens_its_stream_for_its_address_until_it_expires() {
        let (key, viewer) = (cam(), ip("192.0.2.7"));
        let token = sign(SECRET, &key, viewer, expiry(NOW));
        assert_eq!(check(SECRET, &token, &key, viewer, NOW), Ok(expiry(NOW)));
        assert!(check(SECRET, &token, &key, viewer, expiry(NOW) - 1).is_ok());
        // The same address, as an IPv4-mapped IPv6 one.
        assert!(check(SECRET, &token, &key, ip("::ffff:192.0.2.7"), NOW).is_ok());
        // Hex case does not matter.
        assert!(check(SECRET, &token.to_uppercase(), &key, viewer, NOW).is_ok());
    }

    #[test]
    fn an_expired_token_opens_nothing() {
        let (key, viewer) = (cam(), ip("192.0.2.7"));
        let token = sign(SECRET, &key, viewer, NOW);
        let expired = Err(TokenError::Expired { expired: NOW, now: NOW });
        assert_eq!(check(SECRET, &token, &key, viewer, NOW), expired);
        assert!(check(SECRET, &token, &key, viewer, NOW + 3600).is_err());
        assert_eq!(
            TokenError::Expired {
                expired: NOW,
                now: NOW + 5
            }
            .to_string(),
            "the hls token expired at 1700000000, 5 s ago"
        );
    }

    #[test]
    fn a_token_of_another_key_stream_or_address_opens_nothing() {
        let (key, viewer) = (cam(), ip("192.0.2.7"));
        let token = sign(SECRET, &key, viewer, expiry(NOW));
        let forged = Err(TokenError::Forged);
        let other_secret = b"another server's secret, 32 byte";
        assert_eq!(check(other_secret, &token, &key, viewer, NOW), forged);
        assert_eq!(
            check(SECRET, &token, &StreamKey::new("live", "cam2"), viewer, NOW),
            forged
        );
        assert_eq!(check(SECRET, &token, &StreamKey::new("tv", "cam"), viewer, NOW), forged);
        // The parts are length-prefixed: moving a byte from the app to the
        // name makes another stream.
        let shifted = sign(SECRET, &StreamKey::new("a", "bc"), viewer, expiry(NOW));
        assert_eq!(check(SECRET, &shifted, &StreamKey::new("ab", "c"), viewer, NOW), forged);
        assert_eq!(check(SECRET, &token, &key, ip("192.0.2.8"), NOW), forged);
        assert_eq!(check(SECRET, &token, &key, ip("2001:db8::7"), NOW), forged);
    }

    #[test]
    fn a_tampered_token_opens_nothing() {
        let (key, viewer) = (cam(), ip("192.0.2.7"));
        let token = sign(SECRET, &key, viewer, expiry(NOW));
        let (expires, tag) = token.split_once('.').unwrap();
        // A later expiry under the old MAC.
        let later = format!("{}.{tag}", expiry(NOW) + 3600);
        assert_eq!(check(SECRET, &later, &key, viewer, NOW), Err(TokenError::Forged));
        // One hex digit of the MAC changed.
        let flipped = match tag.as_bytes()[0] {
            b'0' => format!("{expires}.1{}", &tag[1..]),
            _ => format!("{expires}.0{}", &tag[1..]),
        };
        assert_eq!(check(SECRET, &flipped, &key, viewer, NOW), Err(TokenError::Forged));
        for malformed in [
            "",
            ".",
            "abc",
            expires,
            &format!("{expires}."),
            &format!(".{tag}"),
            &format!("+{expires}.{tag}"),
            &format!("{expires}.{}", &tag[..30]),
            &format!("{expires}.{tag}00"),
            &format!("{expires}.{}zz", &tag[..30]),
            &format!("99999999999999999999999.{tag}"),
        ] {
            assert_eq!(
                check(SECRET, malformed, &key, viewer, NOW),
                Err(TokenError::Malformed),
                "{malformed:?}"
            );
        }
    }

    #[test]
    fn a_token_is_renewed_once_past_half_its_life() {
        let (key, viewer) = (cam(), ip("192.0.2.7"));
        let token = sign(SECRET, &key, viewer, expiry(NOW));
        // Fresh: handed out again as it is, so URIs stay the same.
        assert_eq!(renew(SECRET, &token, &key, viewer, NOW).unwrap(), token);
        // Past half its life: a new one, good for a whole lifetime.
        let later = expiry(NOW) - LIFETIME_SECS / 2;
        let renewed = renew(SECRET, &token, &key, viewer, later).unwrap();
        assert_ne!(renewed, token);
        assert_eq!(check(SECRET, &renewed, &key, viewer, later), Ok(expiry(later)));
        // Nothing renews what opens nothing.
        assert_eq!(
            renew(SECRET, &token, &key, viewer, expiry(NOW)),
            Err(TokenError::Expired {
                expired: expiry(NOW),
                now: expiry(NOW)
            })
        );
        assert_eq!(
            renew(SECRET, &token, &StreamKey::new("live", "other"), viewer, NOW),
            Err(TokenError::Forged)
        );
    }
}
