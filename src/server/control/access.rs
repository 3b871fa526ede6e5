//! `Gate`: who may publish and play, from `config::Access`: keys in the
//! stream name's query, a keys file, and address lists.
//!
//! Decisions come back as a description for the refused client and the
//! log; they never contain the expected key.

use std::collections::HashSet;
use std::fs;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::SystemTime;

use log::warn;
use parking_lot::Mutex;

use crate::config::{Access, Cidr};
use crate::media::StreamKey;
use crate::protocol::escape::Escaped;
use crate::server::control::auth::{AdobeAuth, os_secret, same_secret};

/// The stream names of a keys file, read again when its time stamp moves.
#[derive(Default)]
struct KeysFile {
    modified: Option<SystemTime>,
    names: HashSet<String>,
}

pub(crate) struct Gate {
    access: Access,
    /// Keys the constant-time comparison of keys.
    secret: [u8; 32],
    keys_file: Mutex<KeysFile>,
    adobe: Option<AdobeAuth>,
}

/// The access rules `now` no longer has of those `was` had, each named
/// (never with its secret): a reload that drops one says so, since it
/// lets in whom the rule kept out.
pub(crate) fn removed_rules(was: &Access, now: &Access) -> Vec<String> {
    let mut removed = Vec::new();
    let mut secret = |name: &str, was: bool, now: bool| {
        if was && !now {
            removed.push(name.to_owned());
        }
    };
    secret("publish_key", was.publish_key.is_some(), now.publish_key.is_some());
    secret(
        "publish_keys_file",
        was.publish_keys_file.is_some(),
        now.publish_keys_file.is_some(),
    );
    secret("play_key", was.play_key.is_some(), now.play_key.is_some());
    secret("api_token", was.api_token.is_some(), now.api_token.is_some());
    secret("users", !was.users.is_empty(), !now.users.is_empty());
    let lists = [
        ("allow_publish", &was.allow_publish, &now.allow_publish),
        ("deny_publish", &was.deny_publish, &now.deny_publish),
        ("allow_play", &was.allow_play, &now.allow_play),
        ("deny_play", &was.deny_play, &now.deny_play),
    ];
    for (name, was, now) in lists {
        removed.extend((was.iter().filter(|n| !now.contains(n))).map(|n| format!("{name} {n}")));
    }
    removed
}

/// The value of `key=` in a `a=b&key=c` query.
fn query_key(query: &str) -> Option<&str> {
    query.split('&').find_map(|pair| pair.strip_prefix("key="))
}

fn address_allowed(ip: IpAddr, allow: &[Cidr], deny: &[Cidr]) -> bool {
    !deny.iter().any(|n| n.contains(ip)) && (allow.is_empty() || allow.iter().any(|n| n.contains(ip)))
}

impl Gate {
    pub(crate) fn new(access: Access) -> Gate {
        let adobe = (!access.users.is_empty()).then(|| AdobeAuth::new(access.users.iter().cloned().collect()));
        Gate {
            access,
            secret: os_secret(),
            keys_file: Mutex::new(KeysFile::default()),
            adobe,
        }
    }

    /// May this `connect` go on? `Ok(Some(user))` once logged in, `Ok(None)`
    /// when no login is asked for; `Err` holds the `_error` description
    /// (an `authmod=adobe` challenge or refusal).
    pub(crate) fn may_connect(&self, query: &str, flash_ver: &str) -> Result<Option<String>, String> {
        let Some(adobe) = &self.adobe else {
            return Ok(None);
        };
        // Interop: encoders (ffmpeg, OBS, FMLE) say "FMLE/3.0"; players
        // would not know to log in, so only encoders are challenged, and a
        // player that tries to publish is refused at publish.
        if !flash_ver.starts_with("FMLE") && !query.contains("authmod=") {
            return Ok(None);
        }
        adobe.check(query).map(Some)
    }

    /// May `peer` publish `key`, given the `query` of its stream name and
    /// whether it logged in?
    pub(crate) fn may_publish(
        &self,
        peer: IpAddr,
        key: &StreamKey,
        query: &str,
        logged_in: bool,
    ) -> Result<(), String> {
        let a = &self.access;
        if !address_allowed(peer, &a.allow_publish, &a.deny_publish) {
            return Err(format!("publish refused: {peer} may not publish"));
        }
        if self.adobe.is_some() && !logged_in {
            return Err("publish refused: log in first (authmod=adobe)".into());
        }
        if a.publish_key.is_none() && a.publish_keys_file.is_none() {
            return Ok(());
        }
        if let Some(expected) = &a.publish_key
            && self.is_key(query, expected)
        {
            return Ok(());
        }
        if let Some(path) = &a.publish_keys_file
            && self.listed(path, key)
        {
            return Ok(());
        }
        Err(format!("publish refused: {} needs a valid key", Escaped(&key.app)))
    }

    /// May `peer` play, given the `query` of the stream name?
    pub(crate) fn may_play(&self, peer: IpAddr, query: &str) -> Result<(), String> {
        let a = &self.access;
        if !address_allowed(peer, &a.allow_play, &a.deny_play) {
            return Err(format!("play refused: {peer} may not play"));
        }
        match &a.play_key {
            Some(expected) if !self.is_key(query, expected) => Err("play refused: a valid key is needed".into()),
            _ => Ok(()),
        }
    }

    /// May a request from `peer` carrying `authorization` change things
    /// through the API? `foreign` is what shows that a page of another
    /// site or a proxy sent it (`http::trust`). With a token, a change
    /// needs it, from anywhere; without one, a change is taken from
    /// loopback only, and never from another site's page or through a
    /// proxy, which could be anyone. `Err` says why not, with the status
    /// to answer.
    pub(crate) fn may_change(
        &self,
        peer: IpAddr,
        authorization: Option<&str>,
        foreign: Option<&str>,
    ) -> Result<(), (u16, String)> {
        let Some(token) = &self.access.api_token else {
            let loopback = match peer {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(v6.is_loopback(), |v4| v4.is_loopback()),
                v4 => v4.is_loopback(),
            };
            if !loopback {
                let why = "changes are taken from loopback only, unless --api-token-file is set";
                return Err((403, why.into()));
            }
            return match foreign {
                Some(sign) => Err((403, format!("{sign}: such changes need --api-token-file's token"))),
                None => Ok(()),
            };
        };
        let presented = authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .unwrap_or_default();
        match same_secret(&self.secret, presented.trim().as_bytes(), token.as_bytes()) {
            true => Ok(()),
            false => Err((401, "a valid Authorization: Bearer token is needed".into())),
        }
    }

    /// True when the query's `key=` is `expected`, compared in constant
    /// time.
    fn is_key(&self, query: &str, expected: &str) -> bool {
        query_key(query).is_some_and(|key| same_secret(&self.secret, key.as_bytes(), expected.as_bytes()))
    }

    /// True when the keys file lists `name` or `app/name`. A file that
    /// cannot be read allows nobody (and says so in the log).
    fn listed(&self, path: &PathBuf, key: &StreamKey) -> bool {
        let mut file = self.keys_file.lock();
        let modified = fs::metadata(path).and_then(|m| m.modified()).ok();
        if modified.is_none() || modified != file.modified {
            file.modified = modified;
            file.names = match fs::read_to_string(path) {
                Ok(text) => text
                    .lines()
                    .map(|line| line.split('#').next().unwrap_or_default().trim())
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned)
                    .collect(),
                Err(e) => {
                    warn!("cannot read keys file {}: {e}; nobody may publish", path.display());
                    HashSet::new()
                }
            };
        }
        file.names.contains(&key.name) || file.names.contains(&key.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn open_by_default() {
        let gate = Gate::new(Access::default());
        assert!(
            gate.may_publish(ip("1.2.3.4"), &StreamKey::new("live", "x"), "", false)
                .is_ok()
        );
        assert!(gate.may_play(ip("::1"), "").is_ok());
    }

    #[test]
    fn keys_and_address_lists() {
        let gate = Gate::new(Access {
            publish_key: Some("s3cret".into()),
            play_key: Some("watch".into()),
            allow_publish: vec!["10.0.0.0/8".parse().unwrap()],
            deny_publish: vec!["10.9.0.0/16".parse().unwrap()],
            ..Access::default()
        });
        let key = StreamKey::new("live", "cam");
        assert!(gate.may_publish(ip("10.1.1.1"), &key, "a=1&key=s3cret", false).is_ok());
        let wrong = gate.may_publish(ip("10.1.1.1"), &key, "key=guess", false).unwrap_err();
        assert!(!wrong.contains("s3cret"), "the refusal must not reveal the key");
        assert!(
            gate.may_publish(ip("10.9.1.1"), &key, "key=s3cret", false).is_err(),
            "denied network"
        );
        assert!(
            gate.may_publish(ip("192.168.1.1"), &key, "key=s3cret", false).is_err(),
            "not allowed network"
        );
        assert!(gate.may_play(ip("1.1.1.1"), "key=watch").is_ok());
        assert!(gate.may_play(ip("1.1.1.1"), "").is_err());
    }

    #[test]
    fn a_reload_names_the_rules_it_removes_and_never_their_secrets() {
        let net = |text: &str| text.parse::<Cidr>().unwrap();
        let was = Access {
            publish_key: Some("s3cret".into()),
            play_key: Some("p1ay".into()),
            allow_publish: vec![net("10.0.0.0/8"), net("192.168.0.0/16")],
            deny_play: vec![net("203.0.113.0/24")],
            ..Access::default()
        };
        let now = Access {
            play_key: Some("changed".into()),
            allow_publish: vec![net("10.0.0.0/8")],
            ..Access::default()
        };
        let removed = removed_rules(&was, &now);
        assert_eq!(
            removed,
            [
                "publish_key",
                "allow_publish 192.168.0.0/16",
                "deny_play 203.0.113.0/24"
            ]
        );
        assert_eq!(removed_rules(&was, &was), Vec::<String>::new());
    }
}
