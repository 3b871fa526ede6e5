//! A request head, parsed by `httparse`, and where it goes: pure
//! functions over bytes, no I/O.

use std::fmt;

use super::response::Status;
use crate::media::StreamKey;
use crate::media::hls::Variant;

/// The parts of a request head the server acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: Method,
    /// The path and query, as sent.
    pub(crate) target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub(crate) minor_version: u8,
    /// The connection may carry another request after this one.
    pub(crate) keep_alive: bool,
    /// The request says a body follows (`Content-Length` other than 0, or
    /// `Transfer-Encoding`): none of our routes takes one.
    pub(crate) has_body: bool,
    /// The `Authorization` header's value, if sent.
    pub(crate) authorization: Option<String>,
    /// The `User-Agent` header's value (empty if not sent), which tells
    /// HLS viewers behind one address apart.
    pub(crate) user_agent: String,
    /// `Host`, lowercased: the name the client sent the request to.
    pub(crate) host: Option<String>,
    /// `Origin`, lowercased: the page that sent it, when a browser did.
    pub(crate) origin: Option<String>,
    /// `Sec-Fetch-Site`, lowercased: whose page sent it, as a browser says.
    pub(crate) sec_fetch_site: Option<String>,
    /// A proxy says it relayed the request (`Forwarded`,
    /// `X-Forwarded-For`, `X-Real-IP`).
    pub(crate) forwarded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Options,
    Delete,
    Post,
    /// Any other method: answered 405.
    Other,
}

/// Why the bytes read are not a request we can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestError {
    /// `httparse` refused them.
    Malformed(httparse::Error),
    /// More header lines than the limit.
    TooManyHeaders { limit: usize },
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Malformed(e) => write!(f, "malformed request: {e}"),
            RequestError::TooManyHeaders { limit } => write!(f, "more than {limit} header lines"),
        }
    }
}

impl RequestError {
    /// The status that answers it.
    pub(crate) fn status(&self) -> Status {
        match self {
            RequestError::Malformed(httparse::Error::Version) => Status::VERSION_NOT_SUPPORTED,
            RequestError::Malformed(_) => Status::BAD_REQUEST,
            RequestError::TooManyHeaders { .. } => Status::HEADER_TOO_LARGE,
        }
    }
}

/// The request at the start of `bytes` and its head's length, or `None`
/// while the head is incomplete.
pub(crate) fn parse(bytes: &[u8], max_headers: usize) -> Result<Option<(Request, usize)>, RequestError> {
    let mut headers = vec![httparse::EMPTY_HEADER; max_headers];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(bytes) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooManyHeaders { limit: max_headers }),
        Err(e) => return Err(RequestError::Malformed(e)),
    };
    let method = match request.method {
        Some("GET") => Method::Get,
        Some("HEAD") => Method::Head,
        Some("OPTIONS") => Method::Options,
        Some("DELETE") => Method::Delete,
        Some("POST") => Method::Post,
        _ => Method::Other,
    };
    let minor_version = request.version.unwrap_or(0);
    let header = |name: &'static str| {
        request
            .headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).to_ascii_lowercase())
    };
    let connection: Vec<String> = header("connection").collect();
    let says = |token: &str| connection.iter().any(|v| v.split(',').any(|t| t.trim() == token));
    let keep_alive = match minor_version {
        0 => says("keep-alive"),
        _ => !says("close"),
    };
    let has_body = header("transfer-encoding").next().is_some() || header("content-length").any(|v| v.trim() != "0");
    let authorization = request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("authorization"))
        .map(|h| String::from_utf8_lossy(h.value).into_owned());
    let user_agent = header("user-agent").next().unwrap_or_default();
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .into_iter()
        .any(|name| header(name).next().is_some());
    let request = Request {
        method,
        target: request.path.unwrap_or("/").to_owned(),
        minor_version,
        keep_alive,
        has_body,
        authorization,
        user_agent,
        host: header("host").next().map(|h| h.trim().to_owned()),
        origin: header("origin").next().map(|o| o.trim().to_owned()),
        sec_fetch_site: header("sec-fetch-site").next().map(|s| s.trim().to_owned()),
        forwarded,
    };
    Ok(Some((request, len)))
}

/// How a live stream is packaged for an HTTP player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// `.flv`: HTTP-FLV.
    Flv,
    /// `.mp4`: fragmented MP4.
    Mp4,
}

/// The JSON API's calls, each with the id in its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiCall {
    /// `GET /api/v1/streams`
    Streams,
    /// `GET /api/v1/streams/{id}`
    Stream(String),
    /// `GET /api/v1/clients`
    Clients,
    /// `GET /api/v1/clients/{id}`
    Client(String),
    /// `DELETE /api/v1/clients/{id}`: disconnects it.
    Kick(String),
    /// `GET /api/v1/summaries`
    Summaries,
    /// `POST /api/v1/streams/{id}/push?url=URL`: pushes the stream there too.
    AddPush(String, String),
    /// `DELETE /api/v1/streams/{id}/push?url=URL`: stops that push.
    RemovePush(String, String),
    /// `POST /api/v1/streams/{id}/record`: records the stream.
    StartRecord(String),
    /// `DELETE /api/v1/streams/{id}/record`: stops recording it.
    StopRecord(String),
    /// `POST /api/v1/drain` (true) and `DELETE /api/v1/drain` (false):
    /// starts or ends a drain.
    Drain(bool),
}

impl ApiCall {
    /// Whether the call changes something (and needs the API token).
    pub(crate) fn changes(&self) -> bool {
        matches!(
            self,
            ApiCall::Kick(_)
                | ApiCall::AddPush(..)
                | ApiCall::RemovePush(..)
                | ApiCall::StartRecord(_)
                | ApiCall::StopRecord(_)
                | ApiCall::Drain(_)
        )
    }
}

/// A file of a stream's HLS, under `/APP/NAME/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HlsFile {
    /// `index.m3u8`: the multivariant playlist; or, `beside` true, the
    /// same asked as `/APP/NAME.m3u8` (SRS's HLS URL), its media
    /// playlist's URI then going down into `NAME/`.
    Multivariant { beside: bool },
    /// `stream.m3u8`, maybe with `_HLS_msn` and `_HLS_part`: the media
    /// playlist, the request held until that segment or part exists.
    Media { msn: Option<u64>, part: Option<usize> },
    /// `init{N}.mp4`
    Init(u32),
    /// `seg{N}.m4s` (fMP4) or `seg{N}.ts` (MPEG-TS)
    Segment(u64, Variant),
    /// `part{N}.{I}.m4s`
    Part(u64, usize),
    /// `/APP/NAME/`: a page playing the stream (`/APP/NAME.mp4` through
    /// MSE, or `index.m3u8` in the browser's own HLS player).
    Page,
}

/// What HLS requests are counted by (`rustic_rtmp_hls_requests_total`),
/// at the index `HlsFile::counted` gives.
pub(crate) const HLS_COUNTED: [&str; 4] = ["playlist", "init", "segment", "part"];

impl HlsFile {
    /// Its index in `HLS_COUNTED` (the page is not an HLS file: 0 with the
    /// playlists).
    pub(crate) fn counted(self) -> usize {
        match self {
            HlsFile::Multivariant { .. } | HlsFile::Media { .. } | HlsFile::Page => 0,
            HlsFile::Init(_) => 1,
            HlsFile::Segment(..) => 2,
            HlsFile::Part(..) => 3,
        }
    }

    /// The file a name stands for, with the `_HLS_` query values; `None`
    /// for any other name, `Some(Err)` for a malformed `_HLS_` value.
    fn parse(name: &str, query: &str) -> Option<Result<HlsFile, &'static str>> {
        let number = |text: &str| text.parse::<u64>().ok();
        let file = match name {
            "index.m3u8" => HlsFile::Multivariant { beside: false },
            "stream.m3u8" => {
                let value = |key: &str| query.split('&').find_map(|pair| pair.strip_prefix(key));
                let msn = value("_HLS_msn=").map(|v| number(v).ok_or("_HLS_msn is not a number"));
                let part = value("_HLS_part=").map(|v| number(v).ok_or("_HLS_part is not a number"));
                let (msn, part) = match (msn.transpose(), part.transpose()) {
                    (Ok(msn), Ok(part)) => (msn, part.map(|p| p as usize)),
                    (Err(e), _) | (_, Err(e)) => return Some(Err(e)),
                };
                if part.is_some() && msn.is_none() {
                    return Some(Err("_HLS_part without _HLS_msn"));
                }
                HlsFile::Media { msn, part }
            }
            _ => {
                if let Some(v) = name.strip_prefix("init").and_then(|n| n.strip_suffix(".mp4")) {
                    HlsFile::Init(u32::try_from(number(v)?).ok()?)
                } else if let Some(n) = name.strip_prefix("seg") {
                    let (n, variant) = match n.strip_suffix(".ts") {
                        Some(n) => (n, Variant::MpegTs),
                        None => (n.strip_suffix(".m4s")?, Variant::Fmp4),
                    };
                    HlsFile::Segment(number(n)?, variant)
                } else {
                    let rest = name.strip_prefix("part")?.strip_suffix(".m4s")?;
                    let (msn, index) = rest.split_once('.')?;
                    HlsFile::Part(number(msn)?, usize::try_from(number(index)?).ok()?)
                }
            }
        };
        Some(Ok(file))
    }
}

/// The query parameter carrying a viewer's HLS token (see
/// `http/hls_token.rs`).
pub(crate) const HLS_TOKEN: &str = "hls_token";

/// A query without the `_HLS_` values and the HLS token: what a viewer's
/// own URL carried (its key), for the URIs of the playlists it gets.
pub(crate) fn own_query(query: &str) -> String {
    let ours = |pair: &str| pair.starts_with("_HLS_") || pair.split('=').next() == Some(HLS_TOKEN);
    let own: Vec<&str> = (query.split('&'))
        .filter(|pair| !pair.is_empty() && !ours(pair))
        .collect();
    own.join("&")
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// A live stream, with the query of its URL.
    Stream {
        key: StreamKey,
        query: String,
        container: Container,
    },
    /// A CORS preflight for a route: a media route's is granted to any
    /// page (`media`), any other's to none.
    Preflight { media: bool },
    /// The dashboard page.
    Dashboard,
    /// A file of a stream's HLS, with the request's query.
    Hls {
        key: StreamKey,
        file: HlsFile,
        query: String,
    },
    /// A call to the JSON API.
    Api(ApiCall),
    /// Prometheus metrics.
    Metrics,
    /// nginx-rtmp's statistics XML.
    Stat,
    /// srt-live-server's `/stats` JSON, for one SRT publisher (as
    /// `?publisher=` names it) or all.
    SrtStats { publisher: Option<String> },
    /// `/healthz`: whether the server takes new clients, for a load
    /// balancer.
    Health,
    /// `/APP/NAME`, a stream's page without its slash: moved to this
    /// path and query (`/APP/NAME/`, where the page's relative URLs work).
    Redirect(String),
    /// An answer with no body of ours: a status and what to say.
    Refuse(Status, &'static str),
}

impl Route {
    /// Whether it serves media (a stream, an HLS file), which any web
    /// page may read; the API, `/stat`, `/metrics` and the dashboard are
    /// the server's own.
    pub(crate) fn is_media(&self) -> bool {
        matches!(self, Route::Stream { .. } | Route::Hls { .. })
    }
}

/// The route for `request`.
pub(crate) fn route(request: &Request) -> Route {
    if request.has_body {
        return Route::Refuse(Status::PAYLOAD_TOO_LARGE, "requests with a body are not taken");
    }
    let (path, query) = request.target.split_once('?').unwrap_or((&request.target, ""));
    // `/APP/NAME/`: a stream's HLS page.
    let (path, directory) = match path.strip_suffix('/') {
        Some(inner) if !inner.is_empty() => (inner, true),
        _ => (path, false),
    };
    let Some(segments) = path_segments(path) else {
        return Route::Refuse(Status::BAD_REQUEST, "not a path this server serves");
    };
    if request.method == Method::Options {
        // The preflight of the request the page means to send: its GET.
        let asked = Request {
            method: Method::Get,
            ..request.clone()
        };
        return Route::Preflight {
            media: route(&asked).is_media(),
        };
    }
    if let Some(call) = api_call(&segments, query, request.method) {
        return call;
    }
    let hls = match segments.as_slice() {
        [app @ .., name] if directory && !app.is_empty() => Some(Ok((app, name, HlsFile::Page))),
        [app @ .., name, file] if !app.is_empty() && !directory => {
            HlsFile::parse(file, query).map(|parsed| parsed.map(|f| (app, name, f)))
        }
        _ => None,
    };
    match hls {
        Some(Ok((app, name, file))) if request.method == Method::Get => {
            return Route::Hls {
                key: StreamKey::new(app.join("/"), name.clone()),
                file,
                query: query.to_owned(),
            };
        }
        Some(Ok(_)) => return Route::Refuse(Status::METHOD_NOT_ALLOWED, "only GET and OPTIONS"),
        Some(Err(why)) => return Route::Refuse(Status::BAD_REQUEST, why),
        None if directory => return Route::Refuse(Status::NOT_FOUND, "nothing here"),
        None => {}
    }
    let page = match segments.as_slice() {
        [] => Some(Route::Dashboard),
        [metrics] if metrics == "metrics" => Some(Route::Metrics),
        [stat] if stat == "stat" => Some(Route::Stat),
        [stats] if stats == "stats" => Some(Route::SrtStats {
            publisher: (query.split('&'))
                .find_map(|pair| pair.strip_prefix("publisher="))
                .map(str::to_owned),
        }),
        [health] if health == "healthz" => Some(Route::Health),
        _ => None,
    };
    let stream = page.or_else(|| match segments.as_slice() {
        [app @ .., file] if !app.is_empty() => {
            let key = |ext: &str| {
                let name = file.strip_suffix(ext).filter(|n| !n.is_empty())?;
                Some(StreamKey::new(app.join("/"), name))
            };
            let named = |ext: &str, container| {
                Some(Route::Stream {
                    key: key(ext)?,
                    query: query.to_owned(),
                    container,
                })
            };
            let hls = || {
                Some(Route::Hls {
                    key: key(".m3u8")?,
                    file: HlsFile::Multivariant { beside: true },
                    query: query.to_owned(),
                })
            };
            // A last segment without an extension names a stream: its
            // page is the directory of its HLS files. Not under `/api/`,
            // where a mistyped call is better told it is none.
            let page = || {
                (!file.contains('.') && app.first().map(String::as_str) != Some("api")).then(|| {
                    let q = if query.is_empty() {
                        String::new()
                    } else {
                        format!("?{query}")
                    };
                    Route::Redirect(format!("{path}/{q}"))
                })
            };
            (named(".flv", Container::Flv).or_else(|| named(".mp4", Container::Mp4)))
                .or_else(hls)
                .or_else(page)
        }
        _ => None,
    });
    match (stream, request.method) {
        (None, _) => Route::Refuse(Status::NOT_FOUND, "nothing here"),
        (Some(route), Method::Get) => route,
        (Some(_), _) => Route::Refuse(Status::METHOD_NOT_ALLOWED, "only GET and OPTIONS"),
    }
}

/// The route of an `/api/v1/...` path, if it is one.
fn api_call(segments: &[String], query: &str, method: Method) -> Option<Route> {
    let [api, v1, rest @ ..] = segments else {
        return None;
    };
    if api != "api" || v1 != "v1" {
        return None;
    }
    let names: Vec<&str> = rest.iter().map(String::as_str).collect();
    let call = match names.as_slice() {
        ["streams"] => ApiCall::Streams,
        ["streams", id] => ApiCall::Stream((*id).to_owned()),
        ["clients"] => ApiCall::Clients,
        ["clients", id] if method == Method::Delete => ApiCall::Kick((*id).to_owned()),
        ["clients", id] => ApiCall::Client((*id).to_owned()),
        ["summaries"] => ApiCall::Summaries,
        ["drain"] => match method {
            Method::Post => ApiCall::Drain(true),
            Method::Delete => ApiCall::Drain(false),
            _ => return Some(Route::Refuse(Status::METHOD_NOT_ALLOWED, "only POST and DELETE")),
        },
        ["streams", id, "push"] => {
            let url = query.split('&').find_map(|pair| pair.strip_prefix("url="));
            let Some(url) = url.and_then(percent_decode).filter(|u| !u.is_empty()) else {
                return Some(Route::Refuse(Status::BAD_REQUEST, "give the destination as ?url="));
            };
            match method {
                Method::Post => ApiCall::AddPush((*id).to_owned(), url),
                Method::Delete => ApiCall::RemovePush((*id).to_owned(), url),
                _ => return Some(Route::Refuse(Status::METHOD_NOT_ALLOWED, "only POST and DELETE")),
            }
        }
        ["streams", id, "record"] => match method {
            Method::Post => ApiCall::StartRecord((*id).to_owned()),
            Method::Delete => ApiCall::StopRecord((*id).to_owned()),
            _ => return Some(Route::Refuse(Status::METHOD_NOT_ALLOWED, "only POST and DELETE")),
        },
        _ => return Some(Route::Refuse(Status::NOT_FOUND, "no such API call")),
    };
    let allowed = call.changes() || method == Method::Get;
    Some(match allowed {
        true => Route::Api(call),
        false => Route::Refuse(Status::METHOD_NOT_ALLOWED, "only GET and OPTIONS"),
    })
}

/// The path's segments, percent-decoded; `None` for a path that does not
/// start with `/`, has an empty, `.` or `..` segment, an escape that is
/// not two hex digits, a control character, or is not UTF-8.
fn path_segments(path: &str) -> Option<Vec<String>> {
    let rest = path.strip_prefix('/')?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    rest.split('/')
        .map(|raw| {
            let segment = percent_decode(raw)?;
            let bad = segment.is_empty()
                || segment == "."
                || segment == ".."
                || segment.chars().any(|c| c.is_control() || c == '/' || c == '\\');
            (!bad).then_some(segment)
        })
        .collect()
}

/// `text` for one segment of a URI path, the inverse of `percent_decode`:
/// unreserved characters as they are, every other byte `%XX`.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(head: &str) -> Request {
        let (request, len) = parse(head.as_bytes(), 32).unwrap().expect("a whole head");
        assert_eq!(len, head.len());
        request
    }

    fn route_of(method: &str, target: &str) -> Route {
        route(&request(&format!("{method} {target} HTTP/1.1\r\nHost: x\r\n\r\n")))
    }

    #[test]
    fn the_own_query_drops_the_hls_values_and_the_token() {
        assert_eq!(own_query("key=k&_HLS_msn=3&_HLS_part=1"), "key=k");
        assert_eq!(own_query("hls_token=1.ab&key=k&&hls_token"), "key=k");
        // Only that exact parameter is the token.
        assert_eq!(own_query("hls_tokens=1&x_hls_token=2"), "hls_tokens=1&x_hls_token=2");
    }

    #[test]
    fn percent_encoding_is_undone_by_decoding() {
        assert_eq!(percent_encode("my cam/é~"), "my%20cam%2F%C3%A9~");
        assert_eq!(
            percent_decode(&percent_encode("my cam/é~")).as_deref(),
            Some("my cam/é~")
        );
    }

    #[test]
    fn routes_hls_files_and_srs_s_playlist_url() {
        let hls = |app: &str, name: &str, file, query: &str| Route::Hls {
            key: StreamKey::new(app, name),
            file,
            query: query.to_owned(),
        };
        let index = HlsFile::Multivariant { beside: false };
        assert_eq!(
            route_of("GET", "/live/cam/index.m3u8?key=k"),
            hls("live", "cam", index, "key=k")
        );
        assert_eq!(
            route_of("GET", "/live/cam/seg7.ts"),
            hls("live", "cam", HlsFile::Segment(7, Variant::MpegTs), "")
        );
        assert_eq!(
            route_of("GET", "/a/b/cam/part7.2.m4s"),
            hls("a/b", "cam", HlsFile::Part(7, 2), "")
        );
        // SRS's URL: the playlist beside the stream's directory.
        let beside = HlsFile::Multivariant { beside: true };
        assert_eq!(route_of("GET", "/live/cam.m3u8"), hls("live", "cam", beside, ""));
        assert!(matches!(route_of("GET", "/live/.m3u8"), Route::Refuse(..)));
    }

    #[test]
    fn a_stream_s_page_without_its_slash_moves_there_with_its_query() {
        let moved = |to: &str| Route::Redirect(to.to_owned());
        assert_eq!(route_of("GET", "/live/cam"), moved("/live/cam/"));
        assert_eq!(route_of("GET", "/live/cam?key=k&x=1"), moved("/live/cam/?key=k&x=1"));
        assert_eq!(route_of("GET", "/a/b/cam"), moved("/a/b/cam/"));
        // As sent: the escapes stay escapes.
        assert_eq!(route_of("GET", "/live/my%20cam"), moved("/live/my%20cam/"));
        let page = Route::Hls {
            key: StreamKey::new("live", "cam"),
            file: HlsFile::Page,
            query: "key=k".into(),
        };
        assert_eq!(route_of("GET", "/live/cam/?key=k"), page);
        // What has a route keeps it.
        assert!(matches!(route_of("GET", "/live/cam.flv"), Route::Stream { .. }));
        assert!(matches!(route_of("GET", "/live/cam.mp4"), Route::Stream { .. }));
        assert!(matches!(route_of("GET", "/live/cam.m3u8"), Route::Hls { .. }));
        assert_eq!(route_of("GET", "/"), Route::Dashboard);
        assert_eq!(route_of("GET", "/metrics"), Route::Metrics);
        assert_eq!(route_of("GET", "/stat"), Route::Stat);
        assert_eq!(
            route_of("GET", "/stats?publisher=publish/live/feed1"),
            Route::SrtStats {
                publisher: Some("publish/live/feed1".into())
            }
        );
        assert_eq!(route_of("GET", "/stats"), Route::SrtStats { publisher: None });
        assert_eq!(route_of("GET", "/healthz"), Route::Health);
        assert_eq!(route_of("GET", "/api/v1/streams"), Route::Api(ApiCall::Streams));
        assert!(matches!(
            route_of("GET", "/api/v1"),
            Route::Refuse(Status::NOT_FOUND, _)
        ));
        // A single segment is no stream; a file of another kind is none.
        assert!(matches!(route_of("GET", "/cam"), Route::Refuse(Status::NOT_FOUND, _)));
        assert!(matches!(
            route_of("GET", "/live/cam.mkv"),
            Route::Refuse(Status::NOT_FOUND, _)
        ));
        assert!(matches!(
            route_of("POST", "/live/cam"),
            Route::Refuse(Status::METHOD_NOT_ALLOWED, _)
        ));
        assert_eq!(route_of("OPTIONS", "/live/cam"), Route::Preflight { media: false });
    }

    #[test]
    fn parses_method_version_and_keep_alive() {
        let r = request("GET /live/cam.flv?key=k HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(r.method, Method::Get);
        assert_eq!(r.target, "/live/cam.flv?key=k");
        assert_eq!((r.minor_version, r.keep_alive, r.has_body), (1, true, false));
        assert!(!request("GET / HTTP/1.1\r\nConnection: Close\r\n\r\n").keep_alive);
        assert!(!request("GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        assert!(request("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n").has_body);
        assert!(!request("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").has_body);
        assert!(request("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").has_body);
        assert_eq!(request("PUT / HTTP/1.1\r\n\r\n").method, Method::Other);
    }

    #[test]
    fn a_head_split_anywhere_is_incomplete_until_its_end() {
        let head = b"GET /live/a.flv HTTP/1.1\r\nHost: a\r\n\r\nNEXT";
        let end = head.len() - 4;
        for cut in 0..end {
            assert_eq!(parse(&head[..cut], 32), Ok(None), "cut at {cut}");
        }
        let (_, len) = parse(head, 32).unwrap().unwrap();
        assert_eq!(len, end, "the next request's bytes stay");
    }

    #[test]
    fn refuses_garbage_and_too_many_headers() {
        let garbage = parse(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 32).unwrap_err();
        assert_eq!(garbage.status(), Status::BAD_REQUEST);
        let many: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
        let err = parse(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes(), 32).unwrap_err();
        assert_eq!(err, RequestError::TooManyHeaders { limit: 32 });
        assert_eq!(err.status(), Status::HEADER_TOO_LARGE);
    }

    #[test]
    fn routes_flv_streams_with_any_app_depth() {
        let flv = |app: &str, name: &str, query: &str| Route::Stream {
            key: StreamKey::new(app, name),
            query: query.into(),
            container: Container::Flv,
        };
        assert_eq!(route_of("GET", "/live/cam.flv"), flv("live", "cam", ""));
        assert_eq!(route_of("GET", "/live/cam.flv?key=s3"), flv("live", "cam", "key=s3"));
        assert_eq!(route_of("GET", "/a/b/c.flv"), flv("a/b", "c", ""));
        assert_eq!(route_of("GET", "/live/my%20cam.flv"), flv("live", "my cam", ""));
        assert_eq!(route_of("OPTIONS", "/live/cam.flv"), Route::Preflight { media: true });
        assert_eq!(
            route_of("OPTIONS", "/live/cam/seg3.m4s"),
            Route::Preflight { media: true }
        );
        assert_eq!(
            route_of("OPTIONS", "/api/v1/clients/3"),
            Route::Preflight { media: false }
        );
        assert_eq!(route_of("OPTIONS", "/metrics"), Route::Preflight { media: false });
        let mp4 = Route::Stream {
            key: StreamKey::new("live", "cam"),
            query: String::new(),
            container: Container::Mp4,
        };
        assert_eq!(route_of("GET", "/live/cam.mp4"), mp4);
    }

    #[test]
    fn refuses_traversal_unknown_paths_and_methods() {
        let status = |method, target| match route_of(method, target) {
            Route::Refuse(status, _) => status,
            other => panic!("{target}: {other:?}"),
        };
        for target in [
            "/../etc/passwd",
            "/live/../x.flv",
            "/live/%2e%2e/x.flv",
            "/live/%2E%2E/x.flv",
            "/live//x.flv",
            "/live/./x.flv",
            "/live/a%2fb.flv",
            "/live/a%00.flv",
            "/live/a%zz.flv",
            "/live/%ff.flv",
            "live/x.flv",
            "*",
        ] {
            assert_eq!(status("GET", target), Status::BAD_REQUEST, "{target}");
        }
        assert_eq!(route_of("GET", "/"), Route::Dashboard);
        assert_eq!(route_of("GET", "/api/v1/streams"), Route::Api(ApiCall::Streams));
        assert_eq!(
            route_of("GET", "/api/v1/streams/3"),
            Route::Api(ApiCall::Stream("3".into()))
        );
        assert_eq!(route_of("GET", "/api/v1/clients"), Route::Api(ApiCall::Clients));
        assert_eq!(
            route_of("GET", "/api/v1/clients/9"),
            Route::Api(ApiCall::Client("9".into()))
        );
        assert_eq!(
            route_of("DELETE", "/api/v1/clients/9"),
            Route::Api(ApiCall::Kick("9".into()))
        );
        assert_eq!(route_of("GET", "/api/v1/summaries"), Route::Api(ApiCall::Summaries));
        assert_eq!(route_of("GET", "/healthz"), Route::Health);
        assert_eq!(route_of("POST", "/api/v1/drain"), Route::Api(ApiCall::Drain(true)));
        assert_eq!(route_of("DELETE", "/api/v1/drain"), Route::Api(ApiCall::Drain(false)));
        assert_eq!(status("GET", "/api/v1/drain"), Status::METHOD_NOT_ALLOWED);
        assert_eq!(
            route_of("POST", "/api/v1/streams/3/push?url=rtmp%3A%2F%2Fh%2Flive%2Fk"),
            Route::Api(ApiCall::AddPush("3".into(), "rtmp://h/live/k".into()))
        );
        assert_eq!(
            route_of("DELETE", "/api/v1/streams/3/push?x=1&url=rtmp://h/live/k"),
            Route::Api(ApiCall::RemovePush("3".into(), "rtmp://h/live/k".into()))
        );
        assert_eq!(status("POST", "/api/v1/streams/3/push"), Status::BAD_REQUEST);
        assert_eq!(
            route_of("POST", "/api/v1/streams/3/record"),
            Route::Api(ApiCall::StartRecord("3".into()))
        );
        assert_eq!(
            route_of("DELETE", "/api/v1/streams/3/record"),
            Route::Api(ApiCall::StopRecord("3".into()))
        );
        assert_eq!(
            status("GET", "/api/v1/streams/3/push?url=x"),
            Status::METHOD_NOT_ALLOWED
        );
        assert_eq!(status("DELETE", "/api/v1/streams/3"), Status::METHOD_NOT_ALLOWED);
        let auth = request("DELETE /api/v1/clients/9 HTTP/1.1\r\nAuthorization: Bearer t0k\r\n\r\n");
        assert_eq!(auth.authorization.as_deref(), Some("Bearer t0k"));
        assert_eq!(status("POST", "/api/v1/streams"), Status::METHOD_NOT_ALLOWED);
        assert_eq!(status("GET", "/api/v1"), Status::NOT_FOUND);
        assert_eq!(status("GET", "/cam.flv"), Status::NOT_FOUND);
        assert_eq!(status("GET", "/live/.flv"), Status::NOT_FOUND);
        assert_eq!(status("GET", "/live/cam.mkv"), Status::NOT_FOUND);
        assert_eq!(status("POST", "/live/cam.flv"), Status::METHOD_NOT_ALLOWED);
        assert_eq!(status("DELETE", "/live/cam.flv"), Status::METHOD_NOT_ALLOWED);
        let with_body = request("GET /live/cam.flv HTTP/1.1\r\nContent-Length: 3\r\n\r\n");
        assert!(matches!(route(&with_body), Route::Refuse(Status::PAYLOAD_TOO_LARGE, _)));
    }
}
