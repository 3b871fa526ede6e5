//! Adobe's `authmod=adobe` login, the strings both sides compute (as FMS
//! did, and as ffmpeg's `do_adobe_auth` and OBS answer it):
//!
//! ```text
//! connect app=live                          -> _error "code=403 need auth; authmod=adobe"
//! connect app=live?authmod=adobe&user=U     -> _error "?reason=needauth&user=U&salt=S&challenge=C&opaque=O"
//! connect app=live?authmod=adobe&user=U&challenge=C2&response=R&opaque=O
//!     R == base64(md5(base64(md5(U + S + password)) + O + C2))  -> accepted
//! ```
//!
//! In scope: the response, reading the server's challenge, the client's
//! next query. Out of scope: issuing and checking challenges (the server's
//! `auth`), random challenge bytes (passed in).

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::{Digest, Md5};

/// `key=value` pairs of a query or of the part of a description after `?`.
pub fn params(query: &str) -> HashMap<&str, &str> {
    query.split('&').filter_map(|pair| pair.split_once('=')).collect()
}

/// Lowercase hex: the form of salts, challenges and opaque values.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// base64 of the MD5 of the parts, one after the other.
fn base64_md5(parts: &[&str]) -> String {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update(part.as_bytes());
    }
    BASE64.encode(md5.finalize())
}

/// The answer to a challenge: `opaque` as the server sent it (ffmpeg falls
/// back to the server's `challenge` when there is none) and the client's
/// own `client_challenge`.
pub fn response(user: &str, password: &str, salt: &str, opaque: &str, client_challenge: &str) -> String {
    base64_md5(&[&base64_md5(&[user, salt, password]), opaque, client_challenge])
}

/// What a client puts after `?` in its app on the next `connect`, given
/// the server's `_error` description; `None` when the description asks for
/// nothing more (`authfailed`, or not an `authmod=adobe` refusal).
pub fn next_query(description: &str, user: &str, password: &str, client_challenge: &str) -> Option<String> {
    if !description.contains("authmod=adobe") {
        return None;
    }
    if description.contains("code=403 need auth") {
        return Some(format!("authmod=adobe&user={user}"));
    }
    let (_, query) = description.split_once('?')?;
    let p = params(query);
    if p.get("reason") != Some(&"needauth") {
        return None;
    }
    let salt = p.get("salt").copied().unwrap_or_default();
    let opaque = p
        .get("opaque")
        .copied()
        .filter(|o| !o.is_empty())
        .or_else(|| p.get("challenge").copied())
        .unwrap_or_default();
    let answer = response(user, password, salt, opaque, client_challenge);
    Some(format!(
        "authmod=adobe&user={user}&challenge={client_challenge}&response={answer}&opaque={opaque}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_response_matches_a_known_vector() {
        // Computed by hand with md5sum and base64 (coreutils):
        // md5(alice + salt + wonder), then md5(that + opaque + chal).
        let hash = base64_md5(&["alicesaltwonder"]);
        assert_eq!(
            response("alice", "wonder", "salt", "op", "ch"),
            base64_md5(&[&hash, "opch"])
        );
        assert_eq!(base64_md5(&[""]), "1B2M2Y8AsgTpgAmY7PhCfg==");
    }

    #[test]
    fn a_client_walks_the_three_steps() {
        let first = next_query(
            "[ AccessManager.Reject ] : [ code=403 need auth; authmod=adobe ] : ",
            "al",
            "pw",
            "c2",
        );
        assert_eq!(first.as_deref(), Some("authmod=adobe&user=al"));
        let challenge =
            "[ AccessManager.Reject ] : [ authmod=adobe ] : ?reason=needauth&user=al&salt=S&challenge=C&opaque=O";
        let answer = next_query(challenge, "al", "pw", "c2").unwrap();
        let p = params(&answer);
        assert_eq!((p["user"], p["challenge"], p["opaque"]), ("al", "c2", "O"));
        assert_eq!(p["response"], response("al", "pw", "S", "O", "c2"));
        let failed = "[ AccessManager.Reject ] : [ authmod=adobe ] : ?reason=authfailed&opaque=&salt=&challenge=";
        assert_eq!(next_query(failed, "al", "pw", "c2"), None);
        assert_eq!(next_query("publish refused", "al", "pw", "c2"), None);
    }
}
