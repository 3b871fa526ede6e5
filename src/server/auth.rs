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
//! Each step is a new connection, so the opaque values handed out are kept
//! (bounded, for a minute, usable once) to check the answer against.
//! MD5 and base64 come from the `md-5` and `base64` crates.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::{Digest, Md5};
use parking_lot::Mutex;

use crate::protocol::handshake::random_filler;

/// How long a challenge may be answered.
const CHALLENGE_LIFETIME: Duration = Duration::from_secs(60);
/// Most challenges outstanding at once; the oldest go first.
const MAX_CHALLENGES: usize = 1024;

pub(crate) struct AdobeAuth {
    users: HashMap<String, String>,
    /// Keys the per-user salt, so salts differ between servers.
    secret: [u8; 16],
    /// opaque -> (user, when issued).
    challenges: Mutex<HashMap<String, (String, Instant)>>,
}

fn base64_md5(parts: &[&str]) -> String {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update(part.as_bytes());
    }
    BASE64.encode(md5.finalize())
}

/// `key=value` pairs of a query.
fn params(query: &str) -> HashMap<&str, &str> {
    query.split('&').filter_map(|pair| pair.split_once('=')).collect()
}

impl AdobeAuth {
    pub(crate) fn new(users: HashMap<String, String>) -> AdobeAuth {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let mut secret = [0u8; 16];
        secret.copy_from_slice(&random_filler(now.as_nanos() as u64)[..16]);
        AdobeAuth {
            users,
            secret,
            challenges: Mutex::new(HashMap::new()),
        }
    }

    fn salt(&self, user: &str) -> String {
        let secret: String = self.secret.iter().map(|b| format!("{b:02x}")).collect();
        base64_md5(&[&secret, user])
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(8)
            .collect()
    }

    fn nonce(&self) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let count = self.challenges.lock().len() as u64;
        let bytes = random_filler(
            now.as_nanos() as u64
                ^ count.rotate_left(32)
                ^ u64::from_le_bytes(self.secret[..8].try_into().unwrap_or_default()),
        );
        bytes[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Checks a connect's app query. `Ok` when it carries a right answer;
    /// otherwise the `_error` description that tells the client what to do.
    pub(crate) fn check(&self, query: &str) -> Result<String, String> {
        const REJECT: &str = "[ AccessManager.Reject ] : [ authmod=adobe ] : ";
        let p = params(query);
        if p.get("authmod") != Some(&"adobe") {
            return Err("[ AccessManager.Reject ] : [ code=403 need auth; authmod=adobe ] : ".into());
        }
        let user = p.get("user").copied().unwrap_or_default();
        let Some(password) = self.users.get(user) else {
            return Err(format!("{REJECT}?reason=nosuchuser&opaque=&salt=&challenge="));
        };
        let salt = self.salt(user);
        let Some(response) = p.get("response") else {
            let (challenge, opaque) = (self.nonce(), self.nonce());
            let mut challenges = self.challenges.lock();
            challenges.retain(|_, (_, issued)| issued.elapsed() < CHALLENGE_LIFETIME);
            if challenges.len() >= MAX_CHALLENGES
                && let Some(oldest) = challenges.iter().min_by_key(|(_, (_, t))| *t).map(|(k, _)| k.clone())
            {
                challenges.remove(&oldest);
            }
            challenges.insert(opaque.clone(), (user.to_owned(), Instant::now()));
            return Err(format!(
                "{REJECT}?reason=needauth&user={user}&salt={salt}&challenge={challenge}&opaque={opaque}"
            ));
        };
        let opaque = p.get("opaque").copied().unwrap_or_default();
        let issued = self.challenges.lock().remove(opaque);
        let fresh = issued.is_some_and(|(for_user, at)| for_user == user && at.elapsed() < CHALLENGE_LIFETIME);
        let client_challenge = p.get("challenge").copied().unwrap_or_default();
        let expected = base64_md5(&[&base64_md5(&[user, &salt, password]), opaque, client_challenge]);
        if fresh && *response == expected {
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
        let query = description.split_once('?').unwrap().1;
        let p = params(query);
        let hash = base64_md5(&[
            base64_md5(&[user, p["salt"], password]).as_str(),
            p["opaque"],
            challenge2,
        ]);
        format!(
            "authmod=adobe&user={user}&challenge={challenge2}&response={hash}&opaque={}",
            p["opaque"]
        )
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
        assert!(
            auth.check("authmod=adobe&user=bob")
                .unwrap_err()
                .contains("?reason=nosuchuser")
        );
    }
}
