//! Response heads and body framing: pure functions building bytes.

use std::fmt::Write as _;

/// A status code and its reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Status(pub(crate) u16, pub(crate) &'static str);

impl Status {
    pub(crate) const OK: Status = Status(200, "OK");
    pub(crate) const NO_CONTENT: Status = Status(204, "No Content");
    pub(crate) const MOVED_PERMANENTLY: Status = Status(301, "Moved Permanently");
    pub(crate) const BAD_REQUEST: Status = Status(400, "Bad Request");
    pub(crate) const UNAUTHORIZED: Status = Status(401, "Unauthorized");
    pub(crate) const FORBIDDEN: Status = Status(403, "Forbidden");
    pub(crate) const NOT_FOUND: Status = Status(404, "Not Found");
    pub(crate) const CONFLICT: Status = Status(409, "Conflict");
    pub(crate) const METHOD_NOT_ALLOWED: Status = Status(405, "Method Not Allowed");
    pub(crate) const REQUEST_TIMEOUT: Status = Status(408, "Request Timeout");
    pub(crate) const PAYLOAD_TOO_LARGE: Status = Status(413, "Content Too Large");
    pub(crate) const UNSUPPORTED_MEDIA_TYPE: Status = Status(415, "Unsupported Media Type");
    pub(crate) const MISDIRECTED: Status = Status(421, "Misdirected Request");
    pub(crate) const HEADER_TOO_LARGE: Status = Status(431, "Request Header Fields Too Large");
    pub(crate) const SERVICE_UNAVAILABLE: Status = Status(503, "Service Unavailable");
    pub(crate) const VERSION_NOT_SUPPORTED: Status = Status(505, "HTTP Version Not Supported");
}

/// How the body's end is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// `Content-Length`.
    Length(usize),
    /// `Transfer-Encoding: chunked` (HTTP/1.1 live bodies).
    Chunked,
    /// The body ends when the connection closes (HTTP/1.0 live bodies).
    UntilClose,
}

/// The header that lets a page of any site read a response: sent with
/// media (streams, HLS files), which players in any web page may read as
/// SRS and MediaMTX allow, and never with the API, `/stat`, `/metrics` or
/// the dashboard, whose answers are for the server's own page.
pub(crate) const ANY_ORIGIN: (&str, &str) = ("Access-Control-Allow-Origin", "*");

/// A response head with `extra` headers after ours.
pub(crate) fn head(
    minor_version: u8,
    status: Status,
    content_type: Option<&str>,
    body: Body,
    keep_alive: bool,
    extra: &[(&str, &str)],
) -> Vec<u8> {
    let mut head = String::with_capacity(256);
    let Status(code, reason) = status;
    let _ = write!(
        head,
        "HTTP/1.{minor_version} {code} {reason}\r\nServer: rustic_rtmp\r\n"
    );
    if let Some(content_type) = content_type {
        let _ = write!(head, "Content-Type: {content_type}\r\n");
    }
    match body {
        Body::Length(len) => {
            let _ = write!(head, "Content-Length: {len}\r\n");
        }
        Body::Chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
        Body::UntilClose => {}
    }
    let keep_alive = keep_alive && body != Body::UntilClose;
    head.push_str(if keep_alive {
        "Connection: keep-alive\r\n"
    } else {
        "Connection: close\r\n"
    });
    for (name, value) in extra {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// A short plain-text response that closes the connection: an error.
pub(crate) fn refusal(minor_version: u8, status: Status, why: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let body = format!("{} {}: {why}\n", status.0, status.1);
    let mut out = head(
        minor_version,
        status,
        Some("text/plain; charset=utf-8"),
        Body::Length(body.len()),
        false,
        extra,
    );
    out.extend_from_slice(body.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_heads_are_byte_exact() {
        let flv = head(
            1,
            Status::OK,
            Some("video/x-flv"),
            Body::Chunked,
            true,
            &[ANY_ORIGIN, ("Cache-Control", "no-cache")],
        );
        assert_eq!(
            String::from_utf8(flv).unwrap(),
            "HTTP/1.1 200 OK\r\nServer: rustic_rtmp\r\nContent-Type: video/x-flv\r\n\
             Transfer-Encoding: chunked\r\nConnection: keep-alive\r\nAccess-Control-Allow-Origin: *\r\n\
             Cache-Control: no-cache\r\n\r\n"
        );
        let old = head(
            0,
            Status::OK,
            Some("video/x-flv"),
            Body::UntilClose,
            true,
            &[ANY_ORIGIN],
        );
        assert_eq!(
            String::from_utf8(old).unwrap(),
            "HTTP/1.0 200 OK\r\nServer: rustic_rtmp\r\nContent-Type: video/x-flv\r\n\
             Connection: close\r\nAccess-Control-Allow-Origin: *\r\n\r\n"
        );
    }

    #[test]
    fn refusals_say_why_and_close() {
        let text = String::from_utf8(refusal(1, Status::NOT_FOUND, "nothing here", &[])).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.contains("Content-Length: 28\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"), "{text}");
        assert!(text.ends_with("\r\n\r\n404 Not Found: nothing here\n"), "{text}");
    }
}
