//! The relay trail: where a published stream came from, as the push
//! relays of servers like this one say in `connect`'s flashVer. Admission
//! refuses a stream that passed through this server before (a loop);
//! pushes never send a stream back to its origin, nor further than
//! `MAX_HOPS` servers.

use std::net::SocketAddr;

/// How a push relay introduces itself in `connect`'s flashVer, followed
/// by the port its server takes RTMP on and, after `; via=`, the ids of
/// the servers the stream was pushed through, oldest first, this one's
/// last: `...; port=1935; via=3fa2c1.90be07)`.
const RELAY_FLASH_VER: &str = "FMLE/3.0 (compatible; rustic_rtmp relay; port=";

/// Servers a stream may be pushed through; one that came through this
/// many is not pushed further. With ids of 6 hex digits the flashVer
/// stays under the 128 characters a server keeps of it.
pub(crate) const MAX_HOPS: usize = 6;

/// Where a published stream came from, as far as relays tell: the server
/// it was pushed or pulled from (never pushed back there), and the ids of
/// the servers it was pushed through (`RELAY_FLASH_VER`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Came {
    pub(crate) from: Option<String>,
    pub(crate) via: Vec<String>,
}

impl Came {
    /// A stream published by `peer` with `flash_ver`: from its server and
    /// trail when the publisher is another server's push relay.
    pub(crate) fn from_publisher(flash_ver: &str, peer: SocketAddr) -> Came {
        let Some(rest) = flash_ver
            .strip_prefix(RELAY_FLASH_VER)
            .and_then(|r| r.strip_suffix(')'))
        else {
            return Came::default();
        };
        let (port, via) = rest.split_once("; via=").unwrap_or((rest, ""));
        let Ok(port) = port.parse::<u16>() else {
            return Came::default();
        };
        Came {
            from: Some(format!("rtmp://{}/app/name", SocketAddr::new(peer.ip(), port))),
            via: via.split('.').filter(|id| !id.is_empty()).map(str::to_owned).collect(),
        }
    }

    /// A stream pulled from `url`.
    pub(crate) fn pulled(url: &str) -> Came {
        Came {
            from: Some(url.to_owned()),
            via: Vec::new(),
        }
    }

    /// Whether the stream was pushed out of the server whose id is `id`
    /// before: publishing it there again closes a loop.
    pub(crate) fn passed(&self, id: &str) -> bool {
        self.via.iter().any(|v| v == id)
    }

    /// The flashVer of a push relay of this stream out of the server on
    /// `port` whose id is `id`: the trail goes on with `id` last.
    pub(crate) fn flash_ver(&self, port: u16, id: &str) -> String {
        let trail: Vec<&str> = self.via.iter().map(String::as_str).chain([id]).collect();
        format!("{RELAY_FLASH_VER}{port}; via={})", trail.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_says_which_server_it_comes_from_and_through_which() {
        let peer: SocketAddr = "10.0.0.5:40000".parse().unwrap();
        // An older relay says its port only.
        let came = Came::from_publisher(&format!("{RELAY_FLASH_VER}1936)"), peer);
        assert_eq!(came.from.as_deref(), Some("rtmp://10.0.0.5:1936/app/name"));
        assert_eq!(
            Came::from_publisher("FMLE/3.0 (compatible; obs)", peer),
            Came::default()
        );
        let through = Came {
            from: None,
            via: vec!["aaaaaa".into(), "bbbbbb".into()],
        };
        let mark = through.flash_ver(1936, "cccccc");
        assert_eq!(mark, format!("{RELAY_FLASH_VER}1936; via=aaaaaa.bbbbbb.cccccc)"));
        let came = Came::from_publisher(&mark, peer);
        assert_eq!(came.via, ["aaaaaa", "bbbbbb", "cccccc"]);
        assert!(came.passed("bbbbbb") && !came.passed("dddddd"));
        let longest: Vec<String> = (0..MAX_HOPS).map(|i| format!("{i:06x}")).collect();
        assert!(
            Came {
                from: None,
                via: longest
            }
            .flash_ver(65535, "ffffff")
            .len()
                <= 128,
            "kept whole by the server"
        );
    }
}
