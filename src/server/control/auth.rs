//! Adobe `authmod=adobe` challenge authentication, server side, as FMS did
//! it and as ffmpeg (`rtmp://user:pass@host/app`) and OBS ("Use
//! authentication") answer it:
//!
//! ```text
//! connect app=live                          -> _error "code=403 need auth; authmod=adobe"
//! connect app=live?authmod=adobe&user=U     -> _error "?reason=needauth&user=U&salt=S&challenge=C&opaque=O"
//! connect app=live?authmod=adobe&user=U&challenge=C2&response=R&opaque=O
//!     R == base64(md5(base64(md5(U + S + password)) + O + C2))  -> accepted
//! ```
//!
//! Each step is a new connection, so the challenge must be checked without
//! the connection that asked for it. It is stateless and signed: the
//! opaque value carries when it was issued, a random nonce and an HMAC of
//! both and the user under a secret drawn from the OS when the server
//! starts. No table of outstanding challenges exists for a flood of
//! requests to fill; only answers that were right are remembered (for the
//! challenge's lifetime), so none is accepted twice.
//!
//! An unknown user gets a challenge as a known one does (its salt derived
//! from the secret), and a wrong answer gets `authfailed` either way:
//! nobody can tell which users exist. Answers are compared in constant
//! time. The strings both sides compute are in `protocol::adobe_auth`;
//! HMAC comes from `hmac` + `sha2`, randomness from `getrandom`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use parking_lot::Mutex;
use sha2::Sha256;

use crate::protocol::adobe_auth::{hex, params, response};

/// How long a challenge may be answered.
const CHALLENGE_LIFETIME: Duration = Duration::from_secs(60);
/// Most right answers remembered against replay; past it the oldest go.
const MAX_USED: usize = 4096;

type HmacSha256 = Hmac<Sha256>;

/// A secret drawn from the OS random source.
pub(crate) fn os_secret() -> [u8; 32] {
    let mut secret = [0u8; 32];
    // Without an OS random source nothing here can be kept secret: a
    // server that cannot read one must not run pretending otherwise.
    getrandom::fill(&mut secret).expect("the OS random source is readable");
    secret
}

/// True when `a` and `b` are equal, in time that depends on neither: both
/// are MACed under `secret` and the MACs compared in constant time, so not
/// even their lengths show.
pub(crate) fn same_secret(secret: &[u8], a: &[u8], b: &[u8]) -> bool {
    let mac = |bytes: &[u8]| {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(bytes);
        mac
    };
    mac(a).verify_slice(&mac(b).finalize().into_bytes()).is_ok()
}

pub(crate) struct AdobeAuth {
    users: HashMap<String, String>,
    /// Signs challenges and keys salts, so both differ between servers.
    secret: [u8; 32],
    /// Opaque values of right answers, with when they were accepted.
    used: Mutex<HashMap<String, Instant>>,
}

fn now_ms() -> u64 {
    crate::server::net::calendar::since_1970().as_millis() as u64
}

impl AdobeAuth {
    pub(crate) fn new(users: HashMap<String, String>) -> AdobeAuth {
        AdobeAuth {
            users,
            secret: os_secret(),
            used: Mutex::new(HashMap::new()),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        for part in parts {
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// The user's salt: the same on every challenge, for users that exist
    /// and users that do not.
    fn salt(&self, user: &str) -> String {
        hex(&self.mac(&[b"salt", user.as_bytes()])[..6])
    }

    /// A challenge for `user`: issue time, nonce and their signature.
    fn opaque(&self, user: &str, issued_ms: u64, nonce: &[u8; 8]) -> String {
        let issued = issued_ms.to_be_bytes();
        let tag = self.mac(&[b"opaque", user.as_bytes(), &issued, nonce]);
        format!("{}{}{}", hex(&issued), hex(nonce), hex(&tag[..12]))
    }

    /// True when `opaque` was issued by this server for `user` and is
    /// still fresh at `now_ms`.
    fn is_fresh(&self, opaque: &str, user: &str, now_ms: u64) -> bool {
        let bytes: Option<Vec<u8>> = (0..opaque.len())
            .step_by(2)
            .map(|i| opaque.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect();
        let Some(bytes) = bytes.filter(|b| b.len() == 28) else {
            return false;
        };
        let (issued, rest) = bytes.split_at(8);
        let (nonce, _) = rest.split_at(8);
        let issued_ms = u64::from_be_bytes(issued.try_into().unwrap_or_default());
        let nonce: [u8; 8] = nonce.try_into().unwrap_or_default();
        let expected = self.opaque(user, issued_ms, &nonce);
        let age = now_ms.saturating_sub(issued_ms);
        same_secret(&self.secret, expected.as_bytes(), opaque.as_bytes())
            && issued_ms <= now_ms
            && age < CHALLENGE_LIFETIME.as_millis() as u64
    }

    /// Remembers a right answer's opaque value; false if it was used before.
    fn first_use(&self, opaque: &str) -> bool {
        let mut used = self.used.lock();
        used.retain(|_, at| at.elapsed() < CHALLENGE_LIFETIME);
        if used.contains_key(opaque) {
            return false;
        }
        if used.len() >= MAX_USED
            && let Some(oldest) = used.iter().min_by_key(|(_, at)| **at).map(|(k, _)| k.clone())
        {
            used.remove(&oldest);
        }
        used.insert(opaque.to_owned(), Instant::now());
        true
    }

    /// Checks a connect's app query. `Ok` when it carries a right answer;
    /// otherwise the `_error` description that tells the client what to do.
    pub(crate) fn check(&self, query: &str) -> Result<String, String> {
        self.check_at(query, now_ms())
    }

    fn check_at(&self, query: &str, now_ms: u64) -> Result<String, String> {
        const REJECT: &str = "[ AccessManager.Reject ] : [ authmod=adobe ] : ";
        let p = params(query);
        if p.get("authmod") != Some(&"adobe") {
            return Err("[ AccessManager.Reject ] : [ code=403 need auth; authmod=adobe ] : ".into());
        }
        let user = p.get("user").copied().unwrap_or_default();
        let salt = self.salt(user);
        let Some(answer) = p.get("response") else {
            let mut random = [0u8; 16];
            getrandom::fill(&mut random).expect("the OS random source is readable");
            let (challenge, nonce) = random.split_at(8);
            let opaque = self.opaque(user, now_ms, nonce.try_into().unwrap_or(&[0; 8]));
            return Err(format!(
                "{REJECT}?reason=needauth&user={user}&salt={salt}&challenge={}&opaque={opaque}",
                hex(challenge)
            ));
        };
        let opaque = p.get("opaque").copied().unwrap_or_default();
        // An unknown user is checked against no password at all, so that it
        // takes the same steps and gets the same answer as a wrong one.
        let password = self.users.get(user);
        let client_challenge = p.get("challenge").copied().unwrap_or_default();
        let expected = response(
            user,
            password.map_or("", String::as_str),
            &salt,
            opaque,
            client_challenge,
        );
        let right = same_secret(&self.secret, expected.as_bytes(), answer.as_bytes());
        if password.is_some() && right && self.is_fresh(opaque, user, now_ms) && self.first_use(opaque) {
            Ok(user.to_owned())
        } else {
            Err(format!("{REJECT}?reason=authfailed&opaque=&salt=&challenge="))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What ffmpeg's `do_adobe_auth` computes from the server's challenge.
    fn answer(description: &str, user: &str, password: &str, challenge2: &str) -> String {
        crate::protocol::adobe_auth::next_query(description, user, password, challenge2).unwrap()
    }

    fn auth() -> AdobeAuth {
        AdobeAuth::new(HashMap::from([("alice".to_owned(), "wonder".to_owned())]))
    }

    #[test]
    fn the_three_steps_as_ffmpeg_takes_them() {
        let auth = auth();
        let first = auth.check("").unwrap_err();
        assert!(first.contains("code=403 need auth") && first.contains("authmod=adobe"));
        let second = auth.check("authmod=adobe&user=alice").unwrap_err();
        assert!(second.contains("?reason=needauth&user=alice&salt="), "{second}");
        assert_eq!(
            auth.check(&answer(&second, "alice", "wonder", "0badf00d")),
            Ok("alice".into())
        );
    }

    #[test]
    fn wrong_password_unknown_user_and_replay_fail() {
        let auth = auth();
        let challenge = auth.check("authmod=adobe&user=alice").unwrap_err();
        let wrong = auth.check(&answer(&challenge, "alice", "guess", "1")).unwrap_err();
        assert!(wrong.contains("?reason=authfailed"));
        let challenge = auth.check("authmod=adobe&user=alice").unwrap_err();
        let right = answer(&challenge, "alice", "wonder", "2");
        assert!(auth.check(&right).is_ok());
        assert!(auth.check(&right).is_err(), "an answer is good once");
        // An unknown user is challenged like a known one, and fails alike.
        let bob = auth.check("authmod=adobe&user=bob").unwrap_err();
        assert!(bob.contains("?reason=needauth&user=bob&salt="), "{bob}");
        let bob_wrong = auth.check(&answer(&bob, "bob", "guess", "3")).unwrap_err();
        assert_eq!(bob_wrong, wrong);
    }

    #[test]
    fn a_flood_of_challenges_leaves_a_right_answer_right() {
        let auth = auth();
        let challenge = auth.check("authmod=adobe&user=alice").unwrap_err();
        for _ in 0..5000 {
            let _ = auth.check("authmod=adobe&user=alice");
        }
        assert_eq!(
            auth.check(&answer(&challenge, "alice", "wonder", "4")),
            Ok("alice".into())
        );
    }

    #[test]
    fn a_challenge_expires_and_cannot_be_forged_or_moved_to_another_user() {
        let auth = auth();
        let challenge = auth.check("authmod=adobe&user=alice").unwrap_err();
        let right = answer(&challenge, "alice", "wonder", "5");
        let later = now_ms() + CHALLENGE_LIFETIME.as_millis() as u64 + 1;
        assert!(auth.check_at(&right, later).is_err(), "expired");
        // Another issue time in the opaque value breaks its signature.
        let p = params(challenge.split_once('?').unwrap().1);
        let forged = format!("{}{}", "00".repeat(8), &p["opaque"][16..]);
        let forged = challenge.replace(p["opaque"], &forged);
        assert!(auth.check(&answer(&forged, "alice", "wonder", "6")).is_err());
        assert!(!auth.is_fresh(p["opaque"], "mallory", now_ms()));
        assert!(auth.check(&right).is_ok());
    }

    #[test]
    fn equal_secrets_compare_equal_and_others_do_not() {
        let secret = os_secret();
        assert!(same_secret(&secret, b"s3cret", b"s3cret"));
        assert!(!same_secret(&secret, b"s3cret", b"s3creT"));
        assert!(!same_secret(&secret, b"s3cret", b"s3cret-longer"));
        assert_ne!(os_secret(), secret, "fresh OS randomness each time");
    }
}
