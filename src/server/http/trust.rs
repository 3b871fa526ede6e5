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
//! In scope: reading `Origin`, `Sec-Fetch-Site`, `Forwarded`,
//! `X-Forwarded-For` and `X-Real-IP`. Out of scope: the token itself
//! (`access::Gate::may_change`), the names the server answers to
//! (`control::host_names`) and which routes need what (`connection`).

use super::request::Request;

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
