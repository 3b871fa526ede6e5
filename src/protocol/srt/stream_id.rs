//! `StreamRequest`: what an SRT caller asks for in its stream id (the SID
//! handshake extension, draft-sharabayko-srt §3.2.1.3), parsed into a mode,
//! an app, a name and a query. Pure.
//!
//! SRT has no publish or play command: the caller says what it wants in one
//! free-form string of at most [`MAX_LEN`] bytes. Encoders are configured for
//! the servers people already run, so three conventions are read:
//!
//! | Stream id | Mode | App | Name | Query |
//! |---|---|---|---|---|
//! | `publish:live/cam` (MediaMTX) | publish | `live` | `cam` | |
//! | `read:live/cam:key=k` (MediaMTX) | read | `live` | `cam` | `key=k` |
//! | `#!::r=live/cam,m=publish` ([SRT access control]) | publish | `live` | `cam` | |
//! | `#!::r=live/cam?key=k,m=request` | read | `live` | `cam` | `key=k` |
//! | `#!::h=live/cam,m=publish` (SRS before 5.0) | publish | `live` | `cam` | |
//! | `live/cam?key=k` (bare) | read | `live` | `cam` | `key=k` |
//!
//! Decisions, where the conventions leave a choice:
//! - The path splits at its last `/`, as `rtmp://host/app/more/name` and the
//!   HTTP routes do: `a/b/cam` is app `a/b`, name `cam`. One leading `/` is
//!   dropped, since people paste a URL's path. An empty, `.` or `..` segment
//!   is refused, as the HTTP routes refuse it: such a stream could never be
//!   played back by URL.
//! - There is no default app. SRS files `r=livestream` under its configured
//!   default app; a parser has no configuration, and guessing `live` would
//!   put a stream where the operator never looked, so a path without a `/`
//!   is an error that shows the expected form.
//! - MediaMTX's `publish:PATH:USER:PASS[:QUERY]` is refused, not read:
//!   this server authenticates publishers by the query (`?key=`, as RTMP
//!   does) and has no user list, so accepting it would drop the password
//!   silently and the publisher would not learn why it is turned away.
//!   `publish:PATH:QUERY` (three parts) is read, its third part as the query.
//! - Access-control keys: `r` is the path, with an optional `?query`; `m` is
//!   `publish` or `request` (case-insensitive, as SRS reads it; absent means
//!   `request`), and `bidirectional` is refused. `u`, `s` and `t` are
//!   tolerated and dropped: a user name and a one-shot session id that
//!   nothing here checks, and a type that live streaming does not vary.
//!   `h` is a host name and dropped, unless it holds a `/` and there is no
//!   `r`: then it is the path, as SRS 4 and its docs wrote it. SRS's
//!   `h=vhost/live/cam` then lands in app `vhost/live`, which is also how SRS
//!   itself names it over RTMP (`rtmp://host/vhost/live/cam`).
//! - Any other key is not an error (the convention reserves single letters
//!   and leaves `user_*` keys to applications) and is kept: it is appended
//!   to the query as `key=value`, as SRS and ZLMediaKit pass such keys on to
//!   their authentication. So `#!::r=live/cam,m=publish,key=k` authenticates
//!   like `live/cam?key=k`.
//! - `r`, `m` and `h` given twice are an error rather than one of them
//!   winning silently; an empty pair (a trailing `,`) is skipped.
//!
//! The stream id is refused whole if it passes [`MAX_LEN`] bytes or holds a
//! control character anywhere (the query included, which `StreamKey::fault`
//! does not see). The caller makes the app and name a `media::StreamKey`
//! (protocol/ names nothing above it); whether they are fit to publish
//! under is `StreamKey::fault`'s question, not this module's.
//!
//! In scope: the flat `#!::` syntax, MediaMTX's and the bare form.
//! Out of scope: the nested `#!:{...}` syntax (refused), percent-decoding
//! (no encoder percent-encodes a stream id), vhosts.
//!
//! [SRT access control]: https://github.com/Haivision/srt/blob/master/docs/features/access-control.md
//!
//! ```
//! use rustic_rtmp::protocol::srt::{Mode, StreamRequest};
//!
//! let request = StreamRequest::parse("#!::r=live/cam,m=publish,key=s3cr3t")?;
//! assert_eq!(request.mode, Mode::Publish);
//! assert_eq!((request.app.as_str(), request.name.as_str()), ("live", "cam"));
//! assert_eq!(request.query, "key=s3cr3t");
//!
//! let refused = StreamRequest::parse("publish:cam").unwrap_err();
//! assert_eq!(refused.to_string(), "path \"cam\" has no app: expected APP/NAME");
//! # Ok::<(), rustic_rtmp::protocol::srt::StreamIdError>(())
//! ```

use std::fmt;

use crate::protocol::escape::Escaped;

/// Bytes of a stream id at most: libsrt refuses to set a longer one, so a
/// longer one did not come from a conforming caller.
pub const MAX_LEN: usize = 512;

/// What the caller wants to do with the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Send media to the server (`publish:`, `m=publish`).
    Publish,
    /// Receive media from the server (`read:`, `m=request`, or no mode).
    Read,
}

/// A parsed stream id: the SRT counterpart of RTMP's `connect` plus
/// `publish`/`play`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRequest {
    /// Publish or read.
    pub mode: Mode,
    /// The application, everything before the path's last `/`.
    pub app: String,
    /// The stream name, after the path's last `/`, without its query.
    pub name: String,
    /// The query without its `?` (empty when there is none), as RTMP's
    /// stream name carries it: where `key=` travels.
    pub query: String,
}

/// Why a stream id was refused. Peer text in the message is cut and
/// escaped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamIdError {
    /// The stream id is the empty string.
    Empty,
    /// The stream id is longer than [`MAX_LEN`] bytes.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The stream id holds a control character.
    Control {
        /// The character.
        c: char,
        /// Its byte offset in the stream id.
        at: usize,
    },
    /// `#!` is followed by something other than `::` (the nested `#!:{`
    /// syntax, or none SRT defines).
    Syntax {
        /// The stream id.
        id: String,
    },
    /// An access-control pair has no `=`.
    PairWithoutValue {
        /// The pair.
        pair: String,
    },
    /// An access-control key that must appear once appears again.
    DuplicateKey {
        /// The key (`r`, `m` or `h`).
        key: &'static str,
    },
    /// `m=` holds neither `publish` nor `request`.
    Mode {
        /// The value.
        value: String,
    },
    /// The access-control form names no path (no `r`, and no `h` with a
    /// `/`).
    NoPath {
        /// The stream id.
        id: String,
    },
    /// MediaMTX's form has more than three `:`-separated parts: a user and
    /// a password, which are not supported.
    Credentials {
        /// How many parts there were.
        parts: usize,
    },
    /// The path has no `/`, so no app.
    NoApp {
        /// The path.
        path: String,
    },
    /// The path ends in `/`, so the name is empty.
    EmptyName {
        /// The path.
        path: String,
    },
    /// The path has an empty, `.` or `..` segment.
    BadSegment {
        /// The path.
        path: String,
    },
}

impl fmt::Display for StreamIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamIdError::Empty => write!(f, "the stream id is empty"),
            StreamIdError::TooLong { len } => {
                write!(f, "stream id of {len} bytes exceeds srt's limit {MAX_LEN}")
            }
            StreamIdError::Control { c, at } => write!(
                f,
                "stream id holds control character U+{:04X} at byte {at}",
                u32::from(*c)
            ),
            StreamIdError::Syntax { id } => write!(
                f,
                "stream id \"{}\" starts with #! but not #!:: (only flat key=value pairs are read)",
                Escaped(id)
            ),
            StreamIdError::PairWithoutValue { pair } => {
                write!(f, "stream id pair \"{}\" has no '='", Escaped(pair))
            }
            StreamIdError::DuplicateKey { key } => {
                write!(f, "stream id key {key} appears more than once")
            }
            StreamIdError::Mode { value } => write!(
                f,
                "stream id mode \"{}\" is neither publish nor request",
                Escaped(value)
            ),
            StreamIdError::NoPath { id } => {
                write!(f, "stream id \"{}\" names no path: expected r=APP/NAME", Escaped(id))
            }
            StreamIdError::Credentials { parts } => write!(
                f,
                "stream id has {parts} ':'-separated parts; only MODE:PATH[:QUERY] is read, \
                 a user and password are not supported (send ?key= in the query)"
            ),
            StreamIdError::NoApp { path } => {
                write!(f, "path \"{}\" has no app: expected APP/NAME", Escaped(path))
            }
            StreamIdError::EmptyName { path } => {
                write!(f, "path \"{}\" has an empty name", Escaped(path))
            }
            StreamIdError::BadSegment { path } => {
                write!(f, "path \"{}\" has an empty, '.' or '..' segment", Escaped(path))
            }
        }
    }
}

impl std::error::Error for StreamIdError {}

impl StreamRequest {
    /// Parses the stream id a caller sent; see the module docs for the
    /// forms and the decisions.
    pub fn parse(id: &str) -> Result<StreamRequest, StreamIdError> {
        if id.len() > MAX_LEN {
            return Err(StreamIdError::TooLong { len: id.len() });
        }
        if let Some((at, c)) = id.char_indices().find(|(_, c)| c.is_control()) {
            return Err(StreamIdError::Control { c, at });
        }
        if id.is_empty() {
            return Err(StreamIdError::Empty);
        }
        if let Some(content) = id.strip_prefix("#!") {
            let pairs = content
                .strip_prefix("::")
                .ok_or_else(|| StreamIdError::Syntax { id: id.into() })?;
            return access_control(id, pairs);
        }
        if let Some(rest) = id.strip_prefix("publish:") {
            return mediamtx(Mode::Publish, rest);
        }
        if let Some(rest) = id.strip_prefix("read:") {
            return mediamtx(Mode::Read, rest);
        }
        request(Mode::Read, id, &[])
    }
}

/// The flat access-control syntax: `key=value` pairs after `#!::`.
fn access_control(id: &str, pairs: &str) -> Result<StreamRequest, StreamIdError> {
    let (mut path, mut mode, mut host) = (None, None, None);
    let mut extra = Vec::new();
    for pair in pairs.split(',').filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| StreamIdError::PairWithoutValue { pair: pair.into() })?;
        match key {
            "r" => set_once(&mut path, value, "r")?,
            "m" => set_once(&mut mode, parse_mode(value)?, "m")?,
            "h" => set_once(&mut host, value, "h")?,
            "u" | "s" | "t" => {}
            _ => extra.push(pair),
        }
    }
    // Interop: SRS 4 put the path in `h` (`#!::h=live/livestream`).
    let path = path
        .or(host.filter(|h| h.contains('/')))
        .ok_or_else(|| StreamIdError::NoPath { id: id.into() })?;
    request(mode.unwrap_or(Mode::Read), path, &extra)
}

fn set_once<T>(slot: &mut Option<T>, value: T, key: &'static str) -> Result<(), StreamIdError> {
    match slot.replace(value) {
        Some(_) => Err(StreamIdError::DuplicateKey { key }),
        None => Ok(()),
    }
}

fn parse_mode(value: &str) -> Result<Mode, StreamIdError> {
    if value.eq_ignore_ascii_case("publish") {
        Ok(Mode::Publish)
    } else if value.eq_ignore_ascii_case("request") {
        Ok(Mode::Read)
    } else {
        Err(StreamIdError::Mode { value: value.into() })
    }
}

/// MediaMTX's `MODE:PATH[:QUERY]`, after the mode.
fn mediamtx(mode: Mode, rest: &str) -> Result<StreamRequest, StreamIdError> {
    let mut parts = rest.splitn(3, ':');
    let path = parts.next().unwrap_or_default();
    let query = parts.next();
    if let Some(more) = parts.next() {
        // MODE, PATH, USER, PASS and maybe QUERY: count them for the message.
        let parts = 4 + more.matches(':').count();
        return Err(StreamIdError::Credentials { parts });
    }
    request(mode, path, query.as_slice())
}

/// Splits `path[?query]` into app, name and query; `extra` are further
/// query parts, joined after the path's own with `&`.
fn request(mode: Mode, path: &str, extra: &[&str]) -> Result<StreamRequest, StreamIdError> {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    // Interop: people paste a URL's path, `/live/cam`.
    let path = path.strip_prefix('/').unwrap_or(path);
    let bad = |make: fn(String) -> StreamIdError| Err(make(path.into()));
    if path.split('/').any(|s| s == "." || s == "..") {
        return bad(|path| StreamIdError::BadSegment { path });
    }
    let Some((app, name)) = path.rsplit_once('/') else {
        return bad(|path| StreamIdError::NoApp { path });
    };
    if name.is_empty() {
        return bad(|path| StreamIdError::EmptyName { path });
    }
    if app.split('/').any(str::is_empty) {
        return bad(|path| StreamIdError::BadSegment { path });
    }
    let query: Vec<&str> = [query].iter().chain(extra).copied().filter(|q| !q.is_empty()).collect();
    Ok(StreamRequest {
        mode,
        app: app.into(),
        name: name.into(),
        query: query.join("&"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `id` parses to `mode`, `app`, `name` and `query`.
    macro_rules! parses {
        ($id:expr, $mode:ident, $app:expr, $name:expr, $query:expr) => {
            assert_eq!(
                StreamRequest::parse($id),
                Ok(StreamRequest {
                    mode: Mode::$mode,
                    app: $app.into(),
                    name: $name.into(),
                    query: $query.into(),
                }),
                "{:?}",
                $id
            )
        };
    }

    #[test]
    fn mediamtx_forms() {
        // MediaMTX docs: `srt://localhost:8890?streamid=publish:mystream`,
        // with an app as this server needs one.
        parses!("publish:live/mystream", Publish, "live", "mystream", "");
        parses!("read:live/mystream", Read, "live", "mystream", "");
        parses!("read:live/cam:key=k", Read, "live", "cam", "key=k");
        parses!("publish:live/cam?key=k", Publish, "live", "cam", "key=k");
        parses!("publish:a/b/cam", Publish, "a/b", "cam", "");
    }

    #[test]
    fn access_control_forms() {
        // srt-live-transmit, OBS and ffmpeg users per the SRT and SRS docs.
        parses!("#!::r=live/livestream,m=publish", Publish, "live", "livestream", "");
        parses!("#!::r=live/livestream,m=request", Read, "live", "livestream", "");
        parses!("#!::m=publish,r=live/cam", Publish, "live", "cam", "");
        parses!("#!::r=live/test", Read, "live", "test", "");
        parses!(
            "#!::u=admin,r=live/bluesbrothers1_hi",
            Read,
            "live",
            "bluesbrothers1_hi",
            ""
        );
        parses!(
            "#!::u=johnny,t=file,m=publish,r=live/results",
            Publish,
            "live",
            "results",
            ""
        );
        parses!(
            "#!::h=srs.srt.com.cn,r=live/livestream,m=publish",
            Publish,
            "live",
            "livestream",
            ""
        );
        parses!("#!::r=live/cam?key=k,m=publish", Publish, "live", "cam", "key=k");
        parses!("#!::r=live/cam,m=PUBLISH,", Publish, "live", "cam", "");
        parses!("#!::s=abc123,r=/live/cam", Read, "live", "cam", "");
    }

    #[test]
    fn other_keys_join_the_query() {
        // SRS: `#!::r=app/stream,key1=value1,key2=value2`.
        parses!(
            "#!::r=live/cam?a=1,key1=value1,m=publish,key2=value2",
            Publish,
            "live",
            "cam",
            "a=1&key1=value1&key2=value2"
        );
        parses!("#!::r=live/cam,user_x=", Read, "live", "cam", "user_x=");
    }

    #[test]
    fn srs_path_in_h() {
        parses!("#!::h=live/livestream,m=publish", Publish, "live", "livestream", "");
        parses!("#!::h=live/livestream,m=request", Read, "live", "livestream", "");
        parses!(
            "#!::h=srs.srt.com.cn/live/livestream,m=publish",
            Publish,
            "srs.srt.com.cn/live",
            "livestream",
            ""
        );
        // SRS's old auth form: the query inside `h`.
        parses!(
            "#!::h=live/livestream?secret=xxx,m=publish",
            Publish,
            "live",
            "livestream",
            "secret=xxx"
        );
        // `r` wins over a path in `h`.
        parses!("#!::h=old/one,r=live/cam", Read, "live", "cam", "");
    }

    #[test]
    fn bare_forms() {
        parses!("live/cam", Read, "live", "cam", "");
        parses!("live/cam?key=s3cr3t&x=1", Read, "live", "cam", "key=s3cr3t&x=1");
        parses!("/live/cam", Read, "live", "cam", "");
        parses!("a/b/c/cam", Read, "a/b/c", "cam", "");
    }

    #[test]
    fn bad_ids_name_what_was_wrong() {
        let cases: &[(&str, &str)] = &[
            ("", "the stream id is empty"),
            ("publish:cam", "path \"cam\" has no app: expected APP/NAME"),
            ("#!::r=livestream", "path \"livestream\" has no app: expected APP/NAME"),
            ("livestream", "path \"livestream\" has no app: expected APP/NAME"),
            ("publish:", "path \"\" has no app: expected APP/NAME"),
            ("publish:live/", "path \"live/\" has an empty name"),
            ("#!::r=live/?key=k", "path \"live/\" has an empty name"),
            ("live/..", "path \"live/..\" has an empty, '.' or '..' segment"),
            (
                "../../etc/passwd",
                "path \"../../etc/passwd\" has an empty, '.' or '..' segment",
            ),
            ("live/./cam", "path \"live/./cam\" has an empty, '.' or '..' segment"),
            ("live//cam", "path \"live//cam\" has an empty, '.' or '..' segment"),
            ("//cam", "path \"/cam\" has an empty, '.' or '..' segment"),
            (
                "publish:live/cam:user:pass",
                "stream id has 4 ':'-separated parts; only MODE:PATH[:QUERY] is read, \
                 a user and password are not supported (send ?key= in the query)",
            ),
            (
                "read:live/cam:user:pass:q=1",
                "stream id has 5 ':'-separated parts; only MODE:PATH[:QUERY] is read, \
                 a user and password are not supported (send ?key= in the query)",
            ),
            (
                "#!::m=publish",
                "stream id \"#!::m=publish\" names no path: expected r=APP/NAME",
            ),
            (
                "#!::h=example.com,m=publish",
                "stream id \"#!::h=example.com,m=publish\" names no path: expected r=APP/NAME",
            ),
            (
                "#!::r=live/cam,m=bidirectional",
                "stream id mode \"bidirectional\" is neither publish nor request",
            ),
            (
                "#!::r=live/cam,m=play",
                "stream id mode \"play\" is neither publish nor request",
            ),
            ("#!::r=live/cam,publish", "stream id pair \"publish\" has no '='"),
            ("#!::r=live/a,r=live/b", "stream id key r appears more than once"),
            (
                "#!::m=publish,r=live/a,m=request",
                "stream id key m appears more than once",
            ),
            (
                "#!:{r=live/cam}",
                "stream id \"#!:{r=live/cam}\" starts with #! but not #!:: (only flat key=value pairs are read)",
            ),
            (
                "live/cam\n[INFO] forged",
                "stream id holds control character U+000A at byte 8",
            ),
            (
                "#!::r=live/cam,key=a\u{7f}",
                "stream id holds control character U+007F at byte 20",
            ),
            ("publish:live/\0", "stream id holds control character U+0000 at byte 13"),
        ];
        for (id, message) in cases {
            match StreamRequest::parse(id) {
                Err(e) => assert_eq!(e.to_string(), *message, "{id:?}"),
                Ok(r) => panic!("{id:?} parsed: {r:?}"),
            }
        }
    }

    #[test]
    fn length_limit_is_srts() {
        let at_limit = format!("live/{}", "n".repeat(MAX_LEN - 5));
        assert_eq!(StreamRequest::parse(&at_limit).map(|r| r.name.len()), Ok(MAX_LEN - 5));
        let over = format!("{at_limit}n");
        assert_eq!(
            StreamRequest::parse(&over).unwrap_err().to_string(),
            "stream id of 513 bytes exceeds srt's limit 512"
        );
    }

    #[test]
    fn peer_text_in_messages_is_cut_and_escaped() {
        let path = format!("\"{}", "é".repeat(200));
        let message = StreamRequest::parse(&path).unwrap_err().to_string();
        assert!(message.starts_with("path \"\\\"éé"), "{message}");
        assert!(message.contains("...(") && message.len() < 200, "{message}");
    }

    #[test]
    fn names_refused_elsewhere_are_only_split() {
        // `StreamKey::fault` refuses a leading `-` and non-characters.
        parses!("#!::r=live/-rf,m=publish", Publish, "live", "-rf", "");
        parses!("-app/cam\u{fffe}", Read, "-app", "cam\u{fffe}", "");
    }

    #[test]
    fn every_prefix_parses_or_errs() {
        let ids = [
            "publish:live/cam:key=k",
            "#!::h=srs.srt.com.cn/live/livestream?secret=xxx,m=publish,u=a,s=b,t=stream,x=y",
            "read:a/é/名前?k=v",
            "/live/cam?key=s3cr3t",
        ];
        for id in ids {
            for (end, _) in id.char_indices() {
                let prefix = &id[..end];
                if let Ok(request) = StreamRequest::parse(prefix) {
                    assert!(!request.app.is_empty() && !request.name.is_empty(), "{prefix:?}");
                }
            }
        }
    }
}
