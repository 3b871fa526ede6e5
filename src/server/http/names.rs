//! Stream names for callers who may not know them. Under a publish keys
//! file the names are the credentials (`live/s3cr3t` publishes), so the
//! API, `/stat` and `/metrics` show a caller that may not change things
//! (`access::Gate::may_change`), or any page of another origin, a stand-in
//! instead: `~` and 12 hex digits of an HMAC of the stream under the
//! process's secret. It is the same for the same stream while the server
//! runs, so figures still line up across calls, and says nothing of the
//! name. Push destinations are shown without their stream name anyway.
//!
//! Pure: statistics in, statistics out.

use hmac::{KeyInit, Mac};
use sha2::Sha256;

use crate::media::StreamKey;
use crate::server::control::clients::ClientStats;
use crate::server::relay::push::PushStats;
use crate::server::stream::StreamStats;

/// What stands for `key`'s name.
pub(crate) fn stand_in(secret: &[u8], key: &StreamKey) -> String {
    let mut mac = <Hmac as KeyInit>::new_from_slice(secret).expect("HMAC takes a key of any length");
    // The app's length first, so that no two keys give the same bytes.
    mac.update(&(key.app.len() as u64).to_be_bytes());
    mac.update(key.app.as_bytes());
    mac.update(key.name.as_bytes());
    let tag = mac.finalize().into_bytes();
    let hex: String = tag[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("~{hex}")
}

type Hmac = hmac::Hmac<Sha256>;

/// Replaces every stream name in the figures by its stand-in.
pub(crate) fn hide(secret: &[u8], streams: &mut [StreamStats], clients: &mut [ClientStats], pushes: &mut [PushStats]) {
    let keys = streams
        .iter_mut()
        .map(|s| &mut s.key)
        .chain(clients.iter_mut().filter_map(|c| c.stream.as_mut()))
        .chain(pushes.iter_mut().map(|p| &mut p.key));
    for key in keys {
        key.name = stand_in(secret, key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stand_in_is_stable_per_stream_and_hides_the_name() {
        let secret = [7u8; 32];
        let key = StreamKey::new("live", "s3cr3t");
        let shown = stand_in(&secret, &key);
        assert_eq!(shown.len(), 13, "{shown}");
        assert!(shown.starts_with('~') && !shown.contains("s3cr3t"), "{shown}");
        assert_eq!(shown, stand_in(&secret, &key), "the same stream, the same stand-in");
        assert_ne!(shown, stand_in(&secret, &StreamKey::new("live", "s3cr3u")));
        assert_ne!(
            stand_in(&secret, &StreamKey::new("live/a", "b")),
            stand_in(&secret, &StreamKey::new("live", "a/b"))
        );
        assert_ne!(shown, stand_in(&[8u8; 32], &key), "another process, another stand-in");
    }
}
