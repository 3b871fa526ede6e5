//! Who may drive the API, proven from outside against the real binary: a
//! page of another site in a real browser, a proxy, a name the server
//! does not answer to (DNS rebinding), the token, the API's own address,
//! and the bounds on what a change may start.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::time::Duration;

use common::binary::{Binary, program};
use common::browser::Browser;
use common::http::{self, Response};
use common::*;
use serde_json::Value;

/// The address a log line `... on ADDR` names.
fn addr_after(server: &Binary, needle: &str) -> SocketAddr {
    let line = server.wait_for_log(needle);
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

fn http_addr(server: &Binary) -> SocketAddr {
    addr_after(server, "listening for HTTP on")
}

/// `METHOD target` with `headers` (each line ending in CRLF, `Host`
/// among them when wanted).
fn ask(addr: SocketAddr, method: &str, target: &str, headers: &str) -> Response {
    let request = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n{headers}\r\n");
    http::read_to_close(http::send(addr, request.as_bytes()))
}

fn json(response: &Response) -> Value {
    serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.head))
}

/// A publisher of `name` on `server`, live once it returns: the stream's
/// API id and its publisher's client id.
fn live_stream(server: &Binary, api: SocketAddr, name: &str) -> (Proc, String, String) {
    let publisher = publish(
        &Sample::LongAudioVideo.path(),
        &server.url(&format!("live/{name}")),
        &[],
    );
    let mut ids = None;
    wait_until("the stream to be live in the API", || {
        let streams = json(&ask(api, "GET", "/api/v1/streams", "Host: 127.0.0.1\r\n"));
        let stream = streams["streams"].as_array().and_then(|all| {
            all.iter()
                .find(|s| s["name"] == name && s["publish"]["active"] == true)
                .cloned()
        });
        ids = stream.map(|s| {
            let id = |v: &Value| v.as_str().unwrap().to_owned();
            (id(&s["id"]), id(&s["publish"]["cid"]))
        });
        ids.is_some()
    });
    let (stream, client) = ids.unwrap();
    (publisher, stream, client)
}

/// Whether client `id` is still connected, as the API says.
fn connected(api: SocketAddr, id: &str) -> bool {
    let clients = json(&ask(api, "GET", "/api/v1/clients", "Host: 127.0.0.1\r\n"));
    clients["clients"].as_array().unwrap().iter().any(|c| c["id"] == id)
}

/// The destinations stream `id` is pushed to, as the API says.
fn pushes(api: SocketAddr, id: &str) -> usize {
    let stream = json(&ask(
        api,
        "GET",
        &format!("/api/v1/streams/{id}"),
        "Host: 127.0.0.1\r\n",
    ));
    stream["stream"]["push"].as_array().unwrap().len()
}

/// Serves `page` to every request on a port of its own: another site.
fn serve_page(page: String) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for socket in listener.incoming().take(64) {
            let Ok(mut socket) = socket else { continue };
            socket.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut head = [0u8; 4096];
            let _ = socket.read(&mut head);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = socket.write_all(answer.as_bytes());
        }
    });
    addr
}

#[test]
fn a_page_of_another_site_in_chromium_can_neither_change_nor_read_the_api() {
    let server = Binary::start(&["--http-bind", "127.0.0.1", "--http-port", "0"]);
    let api = http_addr(&server);
    let name = unique("csrf");
    let (_publisher, stream, client) = live_stream(&server, api, &name);
    // What a malicious page open in the operator's browser tries: kick
    // the publisher (DELETE, preflighted), push the stream away and start
    // a recording (body-less POSTs, which need no preflight), read the
    // stream list; and what any page may do: read the stream.
    let server_url = format!("http://127.0.0.1:{}", api.port());
    let page = format!(
        r#"<!doctype html><script>
        window.results = {{}};
        const api = "{server_url}";
        const attempt = async (what, run) => {{
          try {{ results[what] = await run(); }} catch (e) {{ results[what] = "blocked"; }}
        }};
        (async () => {{
          await attempt("kick", async () => (await fetch(api + "/api/v1/clients/{client}", {{ method: "DELETE" }})).status);
          await attempt("push", async () => (await fetch(api + "/api/v1/streams/{stream}/push?url=" +
              encodeURIComponent("rtmp://127.0.0.1:9/away/{name}"), {{ method: "POST", mode: "no-cors" }})).type);
          await attempt("record", async () => (await fetch(api + "/api/v1/streams/{stream}/record",
              {{ method: "POST", mode: "no-cors" }})).type);
          await attempt("read", async () => await (await fetch(api + "/api/v1/streams")).text());
          await attempt("media", async () => {{
            const r = await fetch(api + "/live/{name}.flv");
            const status = r.status;
            await r.body.cancel();
            return status;
          }});
          results.done = true;
        }})();
        </script>"#
    );
    let attacker = serve_page(page);
    let mut browser = Browser::start();
    browser.open(&format!("http://localhost:{}/", attacker.port()));
    let results = browser.wait_for("the page's attempts", "window.results", |r| r["done"] == true);
    eprintln!("a page of another site tried: {results}");
    assert_eq!(results["kick"], "blocked", "the DELETE's preflight grants nothing");
    assert_eq!(results["read"], "blocked", "the API's answers are not for other pages");
    assert_eq!(results["media"], 200, "media is for any page");
    assert!(connected(api, &client), "the publisher was kicked: {results}");
    assert_eq!(pushes(api, &stream), 0, "the stream was pushed away");
    let refused = || server.count_lines("another origin") + server.count_lines("another site");
    wait_until("the POSTs' refusals in the log", || refused() >= 2);
    // The same changes from a plain client on the server's own host work.
    let kick = ask(
        api,
        "DELETE",
        &format!("/api/v1/clients/{client}"),
        "Host: 127.0.0.1\r\n",
    );
    assert_eq!(kick.status, 200, "{}", kick.head);
    wait_until("the kicked publisher to be gone", || !connected(api, &client));
}

#[test]
fn proxies_foreign_origins_and_rebound_names_are_refused_and_curl_is_not() {
    let server = Binary::start(&["--http-bind", "127.0.0.1", "--http-port", "0"]);
    let api = http_addr(&server);
    let name = unique("trust");
    let (_publisher, stream, _client) = live_stream(&server, api, &name);
    let push = format!("/api/v1/streams/{stream}/push?url=rtmp%3A%2F%2F127.0.0.1%3A9%2Faway%2F{name}");
    for (what, headers) in [
        ("a proxy", "Host: 127.0.0.1\r\nX-Forwarded-For: 203.0.113.9\r\n"),
        ("a proxy", "Host: 127.0.0.1\r\nForwarded: for=203.0.113.9\r\n"),
        ("another origin", "Host: 127.0.0.1\r\nOrigin: http://evil.example\r\n"),
        ("another site", "Host: 127.0.0.1\r\nSec-Fetch-Site: cross-site\r\n"),
    ] {
        let refused = ask(api, "POST", &push, headers);
        assert_eq!(refused.status, 403, "{what}: {}", refused.head);
        assert!(String::from_utf8_lossy(&refused.body).contains("api-token"), "{what}");
    }
    // DNS rebinding: a page on a name pointed at this server.
    for (method, target) in [
        ("GET", "/api/v1/streams"),
        ("GET", "/metrics"),
        ("GET", "/"),
        ("POST", &push[..]),
    ] {
        let rebound = ask(api, method, target, "Host: evil.example:8080\r\n");
        assert_eq!(rebound.status, 421, "{target}: {}", rebound.head);
    }
    assert_eq!(pushes(api, &stream), 0);
    // Names it answers to; media answers to any name, with CORS.
    for host in ["localhost:1", "127.0.0.1", "[::1]:8080"] {
        let ok = ask(api, "GET", "/api/v1/streams", &format!("Host: {host}\r\n"));
        assert_eq!(ok.status, 200, "{host}: {}", ok.head);
        assert_eq!(ok.header("Access-Control-Allow-Origin"), None, "never on the API");
    }
    let metrics = ask(api, "GET", "/metrics", "Host: 127.0.0.1\r\n");
    assert_eq!(metrics.header("Access-Control-Allow-Origin"), None, "never on /metrics");
    let hls = ask(api, "GET", &format!("/live/{name}/index.m3u8"), "Host: cdn.example\r\n");
    assert_eq!(hls.header("Access-Control-Allow-Origin"), Some("*"), "{}", hls.head);
    // The API's preflight grants nothing; a stream's grants a player's GET.
    let preflight = "Host: 127.0.0.1\r\nOrigin: http://evil.example\r\nAccess-Control-Request-Method: DELETE\r\n";
    let answer = ask(api, "OPTIONS", "/api/v1/clients/1", preflight);
    assert_eq!(answer.status, 204);
    for header in [
        "Access-Control-Allow-Origin",
        "Access-Control-Allow-Methods",
        "Access-Control-Allow-Headers",
    ] {
        assert_eq!(answer.header(header), None, "{header}: {}", answer.head);
    }
    // A plain client on the server's own host changes things, once per
    // destination and at most 16 destinations.
    let added = ask(api, "POST", &push, "Host: 127.0.0.1\r\n");
    assert_eq!(added.status, 200, "{}", added.head);
    let again = ask(api, "POST", &push, "Host: 127.0.0.1\r\n");
    assert_eq!(again.status, 409, "the same destination twice: {}", again.head);
    for n in 2..=17 {
        let target = format!("/api/v1/streams/{stream}/push?url=rtmp%3A%2F%2F127.0.0.1%3A9%2Faway{n}%2F{name}");
        let answer = ask(api, "POST", &target, "Host: 127.0.0.1\r\n");
        let expected = if n <= 16 { 200 } else { 409 };
        assert_eq!(answer.status, expected, "destination {n}: {}", answer.head);
    }
    assert_eq!(pushes(api, &stream), 16);
    let bad = format!("/api/v1/streams/{stream}/push?url=htp%3A%2F%2Fhost%2Flive%2FSECRETKEY");
    let answer = ask(api, "POST", &bad, "Host: 127.0.0.1\r\n");
    assert_eq!(answer.status, 400, "{}", answer.head);
    assert!(
        !String::from_utf8_lossy(&answer.body).contains("SECRETKEY"),
        "the key in the answer"
    );
}

#[test]
fn api_token_auto_is_told_once_kept_for_its_owner_and_needed() {
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("token");
    let runtime = scratch.path("run");
    std::fs::create_dir_all(&runtime).unwrap();
    let mut cmd = Command::new(program());
    cmd.env("XDG_RUNTIME_DIR", &runtime);
    let server = Binary::start_with(
        cmd,
        &["--http-bind", "127.0.0.1", "--http-port", "0", "--api-token", "auto"],
    );
    let api = http_addr(&server);
    let line = server.wait_for_log("API token");
    let token = line.rsplit(' ').next().unwrap().to_owned();
    assert!(token.len() >= 40, "a token of 32 random bytes: {line}");
    assert_eq!(server.count_lines(&token), 1, "told once");
    let file = runtime.join(format!("rustic_rtmp/api-token-{}", api.port()));
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), token);
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "only its owner reads it");
    let name = unique("token");
    let (_publisher, _stream, client) = live_stream(&server, api, &name);
    let kick = format!("/api/v1/clients/{client}");
    let without = ask(api, "DELETE", &kick, "Host: 127.0.0.1\r\n");
    assert_eq!(without.status, 401, "even from loopback: {}", without.head);
    let wrong = ask(
        api,
        "DELETE",
        &kick,
        "Host: 127.0.0.1\r\nAuthorization: Bearer nope\r\n",
    );
    assert_eq!(wrong.status, 401);
    // With the token, a change is taken whoever sends it.
    let headers = format!("Host: 127.0.0.1\r\nOrigin: http://tool.example\r\nAuthorization: Bearer {token}\r\n");
    let with = ask(api, "DELETE", &kick, &headers);
    assert_eq!(with.status, 200, "{}", with.head);
    let stopped = Command::new("kill").args(["-TERM", &server.pid().to_string()]).status();
    assert!(stopped.unwrap().success());
    wait_until("the token file to be removed at the stop", || !file.exists());
}

#[test]
fn api_bind_keeps_the_api_off_the_players_address() {
    let server = Binary::start(&[
        "--http-bind",
        "127.0.0.1",
        "--http-port",
        "0",
        "--api-bind",
        "127.0.0.1:0",
    ]);
    let public = http_addr(&server);
    let api = addr_after(&server, "listening for the API");
    assert_ne!(public, api);
    let name = unique("apibind");
    let (_publisher, stream, client) = live_stream(&server, api, &name);
    for target in ["/api/v1/streams", "/metrics", "/stat", "/"] {
        let answer = ask(public, "GET", target, "Host: 127.0.0.1\r\n");
        assert_eq!(answer.status, 404, "{target} on the players' address: {}", answer.head);
    }
    let kick = ask(
        public,
        "DELETE",
        &format!("/api/v1/clients/{client}"),
        "Host: 127.0.0.1\r\n",
    );
    assert_eq!(kick.status, 404, "{}", kick.head);
    assert!(connected(api, &client));
    let flv = http::send(public, &http::get_request(&format!("/live/{name}.flv"), 1));
    let (head, _) = http::read_head_and(&mut { flv }, 0);
    assert!(head.starts_with("HTTP/1.1 200"), "players still play there: {head}");
    assert_eq!(pushes(api, &stream), 0);
}

#[test]
fn under_a_keys_file_names_are_shown_only_to_the_token() {
    let scratch = Scratch::new("names");
    let name = unique("s3cret");
    let keys = scratch.path("keys");
    std::fs::write(&keys, format!("live/{name}\n")).unwrap();
    let token_file = scratch.path("token");
    std::fs::write(&token_file, "t0ken-for-names\n").unwrap();
    let server = Binary::start(&[
        "--http-bind",
        "127.0.0.1",
        "--http-port",
        "0",
        "--publish-keys-file",
        keys.to_str().unwrap(),
        "--api-token-file",
        token_file.to_str().unwrap(),
    ]);
    let api = http_addr(&server);
    let _publisher = publish(
        &Sample::LongAudioVideo.path(),
        &server.url(&format!("live/{name}")),
        &[],
    );
    server.wait_for_log("publish start");
    let bearer = "Authorization: Bearer t0ken-for-names\r\n";
    let read = |target: &str, headers: &str| {
        let answer = ask(api, "GET", target, &format!("Host: 127.0.0.1\r\n{headers}"));
        assert_eq!(answer.status, 200, "{target}: {}", answer.head);
        String::from_utf8(answer.body).unwrap()
    };
    wait_until("the stream in the API", || {
        read("/api/v1/streams", bearer).contains(&name)
    });
    for target in ["/api/v1/streams", "/api/v1/clients", "/stat", "/metrics"] {
        assert!(read(target, bearer).contains(&name), "{target} with the token");
        let without = read(target, "");
        assert!(!without.contains(&name), "{target} without the token: {without}");
        assert!(without.contains('~'), "{target} shows a stand-in: {without}");
        let foreign = read(target, &format!("{bearer}Origin: http://evil.example\r\n"));
        assert!(!foreign.contains(&name), "{target} to another origin, token or not");
    }
    // The stand-in is the same in every answer.
    let streams: Value = serde_json::from_str(&read("/api/v1/streams", "")).unwrap();
    let shown = streams["streams"][0]["name"].as_str().unwrap().to_owned();
    assert!(read("/metrics", "").contains(&shown), "{shown}");
}
