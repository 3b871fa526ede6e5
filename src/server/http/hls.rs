//! Answers HLS requests: playlists (held when they ask for a segment or
//! part to come, as LL-HLS clients do), the init segment, segments and
//! parts, and a page that plays the stream in a `<video>` element.
//!
//! The access rules (`?key=`, address lists) apply to every request; the
//! viewer's own query is carried into every URI of the playlists it gets,
//! so its key reaches the segments. The `Policy` and the `on_play` hook
//! are asked for the multivariant playlist, where players start; when
//! either decides plays, the playlist's URI carries a signed token of
//! what they admitted (the stream, renamed maybe, and the viewer's
//! address; `hls_token`), the media playlist carries it on (renewed past
//! half its 6 min life) into its segments', parts' and init segment's
//! URIs, and every file but the multivariant playlist and the page is
//! refused with 403 without a valid one for that stream and address.
//! Without a `Policy` or `on_play` hook every viewer is admitted alike
//! and no token is asked for. A playlist request for a stream nobody
//! publishes or pulls gets 404 at once and starts no muxer.
//!
//! Segments, parts and init segments never change under their URL (a
//! muxer started again numbers its segments from later on), so they are
//! cacheable for an hour; playlists for a second. An HTTP cache in front
//! then asks once per segment and playlist update, however many viewers.

use std::io::{self, IoSlice, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use super::hls_token;
use super::request::{HLS_TOKEN, HlsFile, own_query, percent_encode};
use super::response::{self, Body, Status};
use crate::media::StreamKey;
use crate::media::hls::{Ready, Variant, multivariant_playlist};
use crate::server::control::admission;
use crate::server::control::live::Live;
use crate::server::hls::muxer::{Hls, NoHls};
use crate::server::http::Http;

/// An answer: its status, content type, body and extra headers.
pub(crate) struct Answer {
    pub(crate) status: Status,
    pub(crate) content_type: &'static str,
    /// The body in pieces (a segment's parts), shared with the muxer:
    /// written without a copy.
    pub(crate) body: Vec<Arc<[u8]>>,
    pub(crate) headers: Vec<(&'static str, String)>,
    /// Close the connection after it (whatever the request asked): a
    /// client turned away for holding too many requests keeps no thread.
    pub(crate) close: bool,
}

impl Answer {
    fn new(status: Status, content_type: &'static str, body: impl Into<Arc<[u8]>>) -> Answer {
        Answer::in_pieces(status, content_type, vec![body.into()])
    }

    fn in_pieces(status: Status, content_type: &'static str, body: Vec<Arc<[u8]>>) -> Answer {
        Answer {
            status,
            content_type,
            body,
            headers: Vec::new(),
            close: false,
        }
    }

    fn refusal(status: Status, why: &str) -> Answer {
        Answer::new(
            status,
            "text/plain; charset=utf-8",
            format!("{} {}: {why}\n", status.0, status.1).into_bytes(),
        )
    }

    fn cached(mut self, seconds: u32, etag: Option<String>) -> Answer {
        self.headers
            .push(("Cache-Control", format!("public, max-age={seconds}")));
        if let Some(tag) = etag {
            self.headers.push(("ETag", format!("\"{tag}\"")));
        }
        self
    }

    fn modified(mut self, unix: u64) -> Answer {
        self.headers
            .push(("Last-Modified", crate::server::net::calendar::http_date(unix)));
        self
    }

    /// Writes the response, head and body, in as few writes as the
    /// socket takes (one `writev` for a head and a segment's parts).
    pub(crate) fn write_to(&self, socket: &mut impl Write, minor_version: u8, keep_alive: bool) -> io::Result<()> {
        let own = self.headers.iter().map(|(k, v)| (*k, v.as_str()));
        let extra: Vec<(&str, &str)> = std::iter::once(response::ANY_ORIGIN).chain(own).collect();
        let body = Body::Length(self.body.iter().map(|piece| piece.len()).sum());
        let head = response::head(
            minor_version,
            self.status,
            Some(self.content_type),
            body,
            keep_alive,
            &extra,
        );
        let pieces = std::iter::once(&head[..]).chain(self.body.iter().map(|piece| &piece[..]));
        let mut slices: Vec<IoSlice<'_>> = pieces.map(IoSlice::new).collect();
        let mut slices = &mut slices[..];
        while !slices.is_empty() {
            match socket.write_vectored(slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut slices, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

const PLAYLIST: &str = "application/vnd.apple.mpegurl";

/// Segments a new muxer's first playlists wait for, or as many segment
/// targets of running: players start three target durations from the end
/// (RFC 8216 §6.3.3), and Chrome's own HLS player gives up on a live
/// stream whose playlist it has played out before the next reload
/// brings more (`DEMUXER_ERROR_COULD_NOT_PARSE`), which a playlist of one
/// segment makes it do.
const START_SEGMENTS: usize = 3;

/// Who asks: the connection's number and address, and the request's
/// `User-Agent`, which with the address tells viewers apart.
pub(crate) struct Asker<'a> {
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) agent: &'a str,
}

/// The answer to `file` of `key`'s HLS, asked by `asker` with `query`.
pub(crate) fn answer(
    http: &Http,
    live: &Live,
    asker: &Asker<'_>,
    key: &StreamKey,
    file: HlsFile,
    query: &str,
) -> Answer {
    let config = &live.config;
    // The page plays the `.mp4` where it can: it is there with HLS off.
    if !config.hls.enabled && file != HlsFile::Page {
        return Answer::refusal(Status::NOT_FOUND, "HLS is off");
    }
    let (id, peer) = (asker.id, asker.peer);
    if let Err(why) = admission::may_go_on(live, peer.ip(), key, query, admission::Doing::Playing) {
        return Answer::refusal(Status::FORBIDDEN, &why);
    }
    let asked = key;
    // One decision per viewer: the Policy and the hook are asked for the
    // multivariant playlist, where players start, and what they admitted
    // rides in a token (when they decide plays at all) that every other
    // file needs.
    let decided = live.decides_plays(&key.app);
    let (key, token) = match file {
        HlsFile::Multivariant { .. } => {
            match http
                .admission
                .may_play(live, &admission::Asker::http(id, peer), key, query)
            {
                Ok(key) => {
                    let token =
                        decided.then(|| hls_token::sign(&http.secret, &key, peer.ip(), hls_token::expiry(now())));
                    (key, token)
                }
                Err(why) => return Answer::refusal(Status::FORBIDDEN, &why),
            }
        }
        HlsFile::Page => (key.clone(), None),
        _ if decided => match admitted(http, key, query, peer.ip()) {
            Ok(token) => (key.clone(), Some(token)),
            Err(why) => return Answer::refusal(Status::FORBIDDEN, &why),
        },
        _ => (key.clone(), None),
    };
    let own = own_query(query);
    let mut pairs: Vec<String> = (!own.is_empty()).then_some(own).into_iter().collect();
    pairs.extend(token.map(|token| format!("{HLS_TOKEN}={token}")));
    let q = match pairs.is_empty() {
        true => String::new(),
        false => format!("?{}", pairs.join("&")),
    };
    if file == HlsFile::Page {
        let live_type = (http.registry.stats().into_iter())
            .find(|s| s.key == key && s.publishing)
            .and_then(|s| s.mse_type);
        let body = page(&key, &q, live_type.as_deref(), config.hls.enabled).into_bytes();
        let mut answer = Answer::new(Status::OK, "text/html; charset=utf-8", body);
        // It says whether the stream is live now.
        answer.headers.push(("Cache-Control", "no-cache".into()));
        return answer;
    }
    // Only a playlist starts muxing: a segment's URL comes from one.
    let start = matches!(file, HlsFile::Multivariant { .. } | HlsFile::Media { .. });
    http.muxers.count_request(file.counted());
    // Asked before the muxers' lock, which is taken before the registry's
    // (a muxer joins the stream's players under it).
    let fed = start && (http.registry.is_live(&key) || http.pulls.pulls(&key));
    let hls = match http.muxers.for_stream(live, &key, fed) {
        Ok(hls) => hls,
        Err(NoHls::TooMany) => return busy(),
        Err(NoHls::NotLive) => return Answer::refusal(Status::NOT_FOUND, "no HLS for that stream now"),
    };
    // The media playlist's URI, from where the player asked; from the
    // server's root when the Policy renamed the stream, so that the
    // player's next requests name the stream it plays.
    let media = match file {
        HlsFile::Multivariant { .. } if key != *asked => {
            let app: Vec<String> = key.app.split('/').map(percent_encode).collect();
            format!("/{}/{}/stream.m3u8{q}", app.join("/"), percent_encode(&key.name))
        }
        HlsFile::Multivariant { beside: true } => format!("{}/stream.m3u8{q}", percent_encode(&asked.name)),
        _ => format!("stream.m3u8{q}"),
    };
    let answer = from_muxer(http, live, &hls, (file, &media), &q, peer.ip());
    if answer.status == Status::OK {
        let bytes: usize = answer.body.iter().map(|p| p.len()).sum();
        hls.viewed(&http.registry, peer.ip(), asker.agent, bytes);
        // The stream's bytes out, as its players' are counted.
        http.registry.count_sent(&key, bytes as u64);
    }
    answer
}

/// The answer to `file` from the stream's muxer, `q` the query its URIs
/// carry.
fn from_muxer(http: &Http, live: &Live, hls: &Hls, (file, media): (HlsFile, &str), q: &str, ip: IpAddr) -> Answer {
    let config = &live.config;
    let target = hls.target();
    let tag = |what: String| Some(format!("hls{}-{what}", hls.id));
    match file {
        HlsFile::Multivariant { .. } | HlsFile::Media { msn: None, .. } => {
            let started = hls.until_run_for(START_SEGMENTS as u32);
            let _ = hls.wait(started, |s| ready_if(s.segments().count() >= START_SEGMENTS));
            if hls.wait(config.http.wait_for_publisher, |s| ready_if(s.has_segment())) != Ready::Now {
                let why = format!("nothing published within {:?}", config.http.wait_for_publisher);
                return Answer::refusal(Status::NOT_FOUND, &why);
            }
            let text = hls.read(|segmenter, init| match file {
                HlsFile::Multivariant { .. } => {
                    multivariant_playlist(hls.variant, segmenter.peak_bandwidth(), &init.codecs, media)
                }
                _ => segmenter.media_playlist(&format!("init{}.mp4", init.version), q),
            });
            playlist(text)
        }
        HlsFile::Media { msn: Some(msn), part } => {
            let Some(_held) = http.held.take(ip, live) else {
                return busy();
            };
            match hls.wait(target * 3, |s| s.playlist_ready(msn, part)) {
                Ready::Now => {
                    let text = hls.read(|s, init| s.media_playlist(&format!("init{}.mp4", init.version), q));
                    playlist(text)
                }
                Ready::Never => Answer::refusal(Status::BAD_REQUEST, "that segment or part is too far ahead"),
                Ready::Later => Answer::refusal(Status::SERVICE_UNAVAILABLE, "not there in time"),
            }
        }
        HlsFile::Init(asked) => {
            let fmp4 = hls.variant == Variant::Fmp4;
            match hls.read(|_, init| (fmp4 && init.version == asked).then(|| (init.bytes.clone(), init.made))) {
                Some(Some((bytes, made))) => Answer::new(Status::OK, "video/mp4", bytes)
                    .cached(3600, tag(format!("init{asked}")))
                    .modified(made),
                _ => Answer::refusal(Status::NOT_FOUND, "no such init segment"),
            }
        }
        HlsFile::Segment(msn, variant) => {
            let found = (variant == hls.variant)
                .then(|| hls.read(|s, _| s.segment(msn).map(|s| (s.pieces(), s.made()))))
                .flatten()
                .flatten();
            let content_type = match variant {
                Variant::Fmp4 => "video/iso.segment",
                Variant::MpegTs => "video/mp2t",
            };
            match found {
                Some((pieces, made)) => Answer::in_pieces(Status::OK, content_type, pieces)
                    .cached(3600, tag(format!("seg{msn}")))
                    .modified(made),
                None => Answer::refusal(Status::NOT_FOUND, "no such segment"),
            }
        }
        HlsFile::Part(msn, index) => {
            let ready = hls.read(|s, _| s.part_ready(msn, index)).unwrap_or(Ready::Never);
            let ready = match ready {
                // The preload hint: held until it exists.
                Ready::Later => match http.held.take(ip, live) {
                    Some(_held) => hls.wait(target * 3, |s| s.part_ready(msn, index)),
                    None => return busy(),
                },
                other => other,
            };
            let bytes = (ready == Ready::Now)
                .then(|| hls.read(|s, _| s.part(msn, index).map(|p| (p.bytes.clone(), p.made))))
                .flatten()
                .flatten();
            match bytes {
                Some((bytes, made)) => Answer::new(Status::OK, "video/iso.segment", bytes)
                    .cached(3600, tag(format!("part{msn}.{index}")))
                    .modified(made),
                None => Answer::refusal(Status::NOT_FOUND, "no such part"),
            }
        }
        HlsFile::Page => unreachable!("answered above"),
    }
}

/// The token to write into the URIs of a file of `key` asked with `query`
/// from `ip`: the token the query carries (renewed when past half its
/// life), if it admits `ip` to `key`; else why not.
fn admitted(http: &Http, key: &StreamKey, query: &str, ip: IpAddr) -> Result<String, String> {
    let presented = (query.split('&')).find_map(|pair| pair.strip_prefix(HLS_TOKEN)?.strip_prefix('='));
    let Some(token) = presented else {
        return Err("play refused: no hls_token; start from index.m3u8".into());
    };
    hls_token::renew(&http.secret, token, key, ip, now()).map_err(|e| format!("play refused: {e}"))
}

/// Seconds since 1970, now.
fn now() -> u64 {
    crate::server::net::calendar::since_1970().as_secs()
}

fn ready_if(yes: bool) -> Ready {
    if yes { Ready::Now } else { Ready::Later }
}

fn playlist(text: Option<String>) -> Answer {
    match text {
        Some(text) => Answer::new(Status::OK, PLAYLIST, text.into_bytes()).cached(1, None),
        None => Answer::refusal(Status::NOT_FOUND, "the stream ended"),
    }
}

fn busy() -> Answer {
    let mut answer = Answer::refusal(Status::SERVICE_UNAVAILABLE, "too many requests held waiting");
    answer.headers.push(("Retry-After", "1".into()));
    answer.close = true;
    answer
}

/// A page playing the stream, `query` carried to what it plays: the
/// shared live player (`player.js`) on `/APP/NAME.mp4` given the
/// stream's MSE type, `mse_type` (`None` when it is not live: the page
/// then asks for itself again until it is), or, where MSE is missing or
/// cannot play that type, the browser's own HLS player (Safari's, and
/// Chrome's) on `index.m3u8`, when `hls` is on.
fn page(key: &StreamKey, query: &str, mse_type: Option<&str>, hls: bool) -> String {
    let title = html_escape(&key.to_string());
    let mp4 = html_escape(&format!("../{}.mp4{query}", percent_encode(&key.name)));
    let hls = match hls {
        true => html_escape(&format!("index.m3u8{query}")),
        false => String::new(),
    };
    let mse_type = html_escape(mse_type.unwrap_or(""));
    let script = super::dashboard::SCRIPT;
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title></head>\n<body style=\"margin:0;background:#000;color:#ccc;font:14px system-ui,sans-serif\">\
         <video id=\"video\" controls autoplay muted playsinline style=\"display:block;width:100%;height:100vh\" \
         data-mp4=\"{mp4}\" data-hls=\"{hls}\" data-type=\"{mse_type}\"></video>\
         <p id=\"note\" style=\"position:fixed;top:0;left:0;margin:.5em\"></p>\n\
         <script>\n\"use strict\";\n{script}\n{PAGE_SCRIPT}</script></body></html>\n"
    )
}

/// The page's own script, after the player's: which way to play, and
/// waiting for the stream to go live (again).
const PAGE_SCRIPT: &str = r#"const video = document.getElementById("video");
const note = document.getElementById("note");
const page = { mode: "waiting", type: video.dataset.type, player: null, error: null, tries: 0 };
const say = (text) => { note.textContent = text; };
const later = () => new Promise((done) => setTimeout(done, 2000));

// Every 2 s for 10 min at most, then the viewer reloads.
async function again(why) {
  if (page.player) page.player.stop();
  page.player = null;
  page.mode = "waiting";
  if (++page.tries > 300) { say(why + "; reload the page to try again"); return; }
  say(why);
  await later();
  start();
}

// The stream's MSE type as the server says now, from this page asked
// again: empty while it is not live.
async function typeNow() {
  try {
    const response = await fetch(location.href, { cache: "no-store" });
    const html = new DOMParser().parseFromString(await response.text(), "text/html");
    const v = html.getElementById("video");
    return v ? v.dataset.type : "";
  } catch (e) {
    return "";
  }
}

async function start() {
  // Safari on an iPhone has no MSE: its own HLS player, as soon as asked.
  if (window.MediaSource && !page.type) page.type = await typeNow();
  if (window.MediaSource && !page.type) return again("waiting for the stream to go live");
  if (livePlayerPlays(page.type)) {
    say("");
    page.mode = "mse";
    page.error = null;
    page.player = livePlayer(video, video.dataset.mp4, page.type, {
      error: (text) => { page.error = text; page.type = ""; again(text); },
      ended: () => { page.type = ""; again("the stream ended"); },
    });
  } else if (video.dataset.hls) {
    say("");
    page.mode = "hls";
    page.error = null;
    video.src = video.dataset.hls;
  } else {
    page.mode = "none";
    page.error = "this browser cannot play " + (page.type || "this stream") + " here";
    say(page.error);
  }
}

// The native player's failures (the stream not live yet, or ended):
// tried again the same way.
video.addEventListener("error", () => {
  if (page.mode !== "hls") return;
  page.error = video.error && video.error.message;
  video.removeAttribute("src");
  again("waiting for the stream");
});

// What a test (or a curious viewer) can read from the console.
window.pageState = () => ({
  mode: page.mode,
  type: page.type,
  currentTime: video.currentTime,
  videoWidth: video.videoWidth,
  videoHeight: video.videoHeight,
  appended: page.player ? page.player.appended : 0,
  error: page.error,
  waited: page.tries,
});

start();
"#;

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_carries_the_query_and_the_type_escaped_into_its_attributes() {
        let key = StreamKey::new("live", "my cam<");
        let text = page(&key, "?key=a&b", Some("video/mp4; codecs=\"avc1.64001f\""), true);
        assert!(text.contains("<title>live/my cam&lt;</title>"), "{text}");
        assert!(text.contains("data-mp4=\"../my%20cam%3C.mp4?key=a&amp;b\""), "{text}");
        assert!(text.contains("data-hls=\"index.m3u8?key=a&amp;b\""), "{text}");
        assert!(
            text.contains("data-type=\"video/mp4; codecs=&quot;avc1.64001f&quot;\""),
            "{text}"
        );
        assert!(text.contains("function livePlayer("), "the shared player, inline");
        // Not live, and HLS off: no type, no fallback.
        let text = page(&key, "", None, false);
        assert!(text.contains("data-hls=\"\" data-type=\"\""), "{text}");
    }
}
