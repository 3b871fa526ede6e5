//! Who is asking, as far as a request head tells: the server's own name
//! or another (DNS rebinding), a page of another site in a browser, a
//! proxy. Pure: a request in, a verdict out.
//!
//! A browser lets any page send a body-less `POST` or a `DELETE` it got
//! through a preflight, and a page on a name that an attacker points at
//! 127.0.0.1 is, to the browser, the same origin as the server. So a
//! change without the API token is taken only when nothing in the head
//! shows a browser running another site's script or a proxy relaying
//! someone else, and only under a name the server answers to; a plain
//! `curl -X DELETE http://127.0.0.1:8080/...` shows neither.
//!
//! In scope: reading `Host`, `Origin`, `Sec-Fetch-Site`, `Forwarded`,
//! `X-Forwarded-For` and `X-Real-IP`. Out of scope: the token itself
//! (`access::Gate::may_change`) and which routes need what (`connection`).

use std::net::IpAddr;

use super::request::Request;

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

/// What in `request` shows a page of another site in a browser, or a
/// proxy, sending it; `None` when nothing does.
pub(crate) fn foreign_sender(request: &Request) -> Option<&'static str> {
    if request.forwarded {
        return Some("it came through a proxy (Forwarded or X-Forwarded-For)");
    }
    if let Some(site) = &request.sec_fetch_site
        && site != "same-origin"
    {
        return Some("a web page of another site sent it (Sec-Fetch-Site)");
    }
    if let Some(origin) = &request.origin {
        // The server's own origin is the scheme and the Host the request
        // was sent to; anything else ("null" included) is another page's.
        let own = request
            .host
            .as_deref()
            .map(|host| format!("http://{}", host.to_ascii_lowercase()));
        if own.as_deref() != Some(origin.as_str()) {
            return Some("a web page of another origin sent it (Origin)");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::http::request::parse;

    fn request(headers: &str) -> Request {
        let head = format!("DELETE /api/v1/clients/3 HTTP/1.1\r\n{headers}\r\n");
        parse(head.as_bytes(), 32).unwrap().unwrap().0
    }

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

    #[test]
    fn curl_shows_nothing_and_browsers_and_proxies_show() {
        assert_eq!(foreign_sender(&request("Host: 127.0.0.1:8080\r\n")), None);
        assert_eq!(
            foreign_sender(&request(
                "Host: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1:8080\r\nSec-Fetch-Site: same-origin\r\n"
            )),
            None,
            "the dashboard's own page"
        );
        for headers in [
            "Host: 127.0.0.1:8080\r\nOrigin: http://evil.example\r\n",
            "Host: 127.0.0.1:8080\r\nOrigin: null\r\n",
            "Host: 127.0.0.1:8080\r\nOrigin: http://127.0.0.1:8081\r\n",
            "Origin: http://127.0.0.1:8080\r\n",
            "Host: 127.0.0.1:8080\r\nSec-Fetch-Site: cross-site\r\n",
            "Host: 127.0.0.1:8080\r\nSec-Fetch-Site: same-site\r\n",
            "Host: 127.0.0.1:8080\r\nSec-Fetch-Site: none\r\n",
            "Host: 127.0.0.1:8080\r\nX-Forwarded-For: 203.0.113.9\r\n",
            "Host: 127.0.0.1:8080\r\nForwarded: for=203.0.113.9\r\n",
            "Host: 127.0.0.1:8080\r\nX-Real-IP: 203.0.113.9\r\n",
        ] {
            assert!(foreign_sender(&request(headers)).is_some(), "{headers}");
        }
    }
}
