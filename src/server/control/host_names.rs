//! `HostNames`: the names this server answers to in a request's `Host`,
//! for the API, the dashboard, `/stat` and `/metrics`. A page on a name
//! that an attacker points at 127.0.0.1 (DNS rebinding) is, to the
//! browser, the same origin as the server; the server tells it apart by
//! the name. Pure: names in, a verdict out. Kept with the settings in
//! force, since the operator's names (`--http-host`) reload with them.

use std::net::IpAddr;

/// The names a request's `Host` may give for the API, the dashboard,
/// `/stat` and `/metrics`: any IP address, `localhost` and its
/// subdomains, the machine's host name (and `NAME.local`, as mDNS
/// announces it), and those the operator adds (`--http-host`).
#[derive(Debug, Clone, Default)]
pub(crate) struct HostNames {
    names: Vec<String>,
}

impl HostNames {
    /// The machine's `hostname` with the operator's `extra` names.
    pub(crate) fn new(hostname: Option<&str>, extra: &[String]) -> HostNames {
        let mut names: Vec<String> = extra.iter().map(|n| canonical(n)).collect();
        if let Some(host) = hostname.map(canonical).filter(|h| !h.is_empty()) {
            names.push(format!("{host}.local"));
            names.push(host);
        }
        HostNames { names }
    }

    /// Whether `host` (a `Host` header's value, with or without a port)
    /// names this server. A request without `Host` (HTTP/1.0) names no
    /// other server, so it passes.
    pub(crate) fn knows(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return true };
        let name = canonical(strip_port(host));
        if name.parse::<IpAddr>().is_ok() || name == "localhost" || name.ends_with(".localhost") {
            return true;
        }
        self.names.contains(&name)
    }
}

/// Lowercase, without a trailing dot (`Example.COM.` is `example.com`).
fn canonical(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// `host` without its `:port`; an IPv6 literal without its brackets.
fn strip_port(host: &str) -> &str {
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split_once(']').map_or(v6, |(ip, _)| ip);
    }
    match host.rsplit_once(':') {
        // A bare IPv6 address has more than one colon: no port to cut.
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_addresses_localhost_its_own_name_and_the_operators() {
        let names = HostNames::new(Some("Studio"), &["Stream.Example.com.".into()]);
        for host in [
            "127.0.0.1:8080",
            "10.0.0.7",
            "[::1]:8080",
            "::1",
            "localhost:8080",
            "LOCALHOST",
            "app.localhost",
            "studio:8080",
            "studio.local",
            "stream.example.com:80",
            "stream.example.com.",
        ] {
            assert!(names.knows(Some(host)), "{host}");
        }
        assert!(names.knows(None), "HTTP/1.0 without Host");
        for host in [
            "evil.example:8080",
            "studio.evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "",
        ] {
            assert!(!names.knows(Some(host)), "{host}");
        }
        assert!(!HostNames::new(None, &[]).knows(Some("studio")));
    }
}
