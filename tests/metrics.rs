//! `GET /metrics`, read by a strict parser of Prometheus's text format
//! while ffmpeg publishes and plays: every family typed, names and labels
//! well formed, counters ending in `_total` and never going down; the
//! bytes of HLS segments fetched counted in the bytes sent, the server's
//! and the stream's; the standard `process_*` families there and sane.

mod common;

use std::collections::HashMap;
use std::net::TcpStream;

use common::http;
use common::*;
use rustic_rtmp::Limits;
use rustic_rtmp::{Config, ServerHandle};

/// One sample of a series: its name, labels and value.
#[derive(Debug, Clone, PartialEq)]
struct Series {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `k="v",k2="v2"`, with `\\`, `\"` and `\n` escapes.
fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("a label in {text:?}"));
        assert!(valid_name(key), "label name {key:?}");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c @ ('\\' | '"'))) => value.push(c),
                    other => panic!("bad escape {other:?} in {text:?}"),
                },
                Some((i, '"')) => break i,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value in {text:?}"),
            }
        };
        labels.push((key.to_owned(), value));
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    labels
}

/// Parses an exposition strictly: every sample's family has a `# TYPE`
/// line before it, each family is typed once, counters end in `_total`.
fn parse(text: &str) -> (HashMap<String, String>, Vec<Series>) {
    assert!(text.ends_with('\n'), "ends with a newline");
    let mut types = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(help) = line.strip_prefix("# HELP ") {
            let (name, _) = help.split_once(' ').expect("HELP name text");
            assert!(valid_name(name), "{line}");
        } else if let Some(kind) = line.strip_prefix("# TYPE ") {
            let (name, kind) = kind.split_once(' ').expect("TYPE name type");
            assert!(valid_name(name), "{line}");
            assert!(matches!(kind, "counter" | "gauge"), "{line}");
            if kind == "counter" {
                assert!(name.ends_with("_total"), "a counter ends in _total: {name}");
            }
            assert!(
                name.starts_with("rustic_rtmp_") || name.starts_with("process_"),
                "{name}"
            );
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "{name} typed twice"
            );
        } else {
            let (series, value) = line.rsplit_once(' ').expect("a sample");
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, parse_labels(labels.strip_suffix('}').expect("labels end with }"))),
                None => (series, Vec::new()),
            };
            assert!(valid_name(name), "{line}");
            assert!(types.contains_key(name), "{name} has no TYPE before its samples");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("a number in {line:?}"));
            samples.push(Series {
                name: name.to_owned(),
                labels,
                value,
            });
        }
    }
    (types, samples)
}

fn scrape(server: &ServerHandle) -> (HashMap<String, String>, Vec<Series>) {
    let response = http::call(server.http_addr().unwrap(), "GET", "/metrics", "");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    parse(std::str::from_utf8(&response.body).unwrap())
}

fn value(samples: &[Series], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
        })
        .unwrap_or_else(|| panic!("{name}{labels:?} in {samples:?}"))
        .value
}

#[test]
fn metrics_parse_strictly_and_counters_only_grow() {
    let server = http::server(Config::default());
    let scratch = Scratch::new("metrics");
    let name = unique("metrics");
    let rtmp = url(&server, &format!("live/{name}"));
    let mut publisher = publish(&Sample::LongAudioVideo.path(), &rtmp, &[]);
    let mut player = play(
        &http::url(&server, &format!("live/{name}.flv")),
        &scratch.path("got.flv"),
    );
    wait_for_players(&server, "live", &name, 1);
    wait_until("frames flowing", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.last_timestamp.0 > 1000)
    });
    let (types, first) = scrape(&server);
    assert_eq!(value(&first, "rustic_rtmp_build_info", &[]), 1.0);
    assert!(
        first
            .iter()
            .any(|s| s.name == "rustic_rtmp_build_info" && s.labels[0].0 == "version")
    );
    assert_eq!(value(&first, "rustic_rtmp_players", &[("protocol", "flv")]), 1.0);
    assert_eq!(value(&first, "rustic_rtmp_players", &[("protocol", "rtmp")]), 0.0);
    assert!(value(&first, "rustic_rtmp_streams", &[]) >= 1.0);
    assert!(value(&first, "rustic_rtmp_connections_accepted_total", &[]) >= 3.0);
    let stream = [("app", "live"), ("name", name.as_str())];
    assert_eq!(value(&first, "rustic_rtmp_stream_players", &stream), 1.0);
    assert!(value(&first, "rustic_rtmp_stream_received_bytes_total", &stream) > 0.0);
    wait_until("bytes to grow", || {
        let (_, now) = scrape(&server);
        value(&now, "rustic_rtmp_received_bytes_total", &[]) > value(&first, "rustic_rtmp_received_bytes_total", &[])
    });
    let (_, second) = scrape(&server);
    for sample in first.iter().filter(|s| types[&s.name] == "counter") {
        let later = second
            .iter()
            .find(|s| s.name == sample.name && s.labels == sample.labels);
        let later = later.unwrap_or_else(|| panic!("{sample:?} gone"));
        assert!(
            later.value >= sample.value,
            "{} went down: {} -> {}",
            sample.name,
            sample.value,
            later.value
        );
    }
    assert!(publisher.wait().success());
    player.wait();
}

#[test]
fn refused_connections_are_counted_by_reason() {
    let server = http::server(Config {
        limits: Limits {
            max_connections: 2,
            ..Default::default()
        },
        ..Config::default()
    });
    let held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(server.local_addr()).unwrap())
        .collect();
    wait_until("two connections open", || server.connections() == 2);
    // While both are held, a third is closed at once: refused.
    let mut refused = TcpStream::connect(server.local_addr()).unwrap();
    refused.set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(
        std::io::Read::read(&mut refused, &mut [0u8; 1]).unwrap_or(0),
        0,
        "closed at once"
    );
    drop(held);
    wait_until("the held ones to close", || server.connections() == 0);
    let (_, samples) = scrape(&server);
    let count = value(
        &samples,
        "rustic_rtmp_connections_refused_total",
        &[("reason", "max_connections")],
    );
    assert!(count >= 1.0, "{count}");
    assert_eq!(
        value(
            &samples,
            "rustic_rtmp_connections_refused_total",
            &[("reason", "max_connections_per_ip")]
        ),
        0.0
    );
}

/// The stream's `send_bytes` in the API's stream list.
fn api_send_bytes(server: &ServerHandle, name: &str) -> u64 {
    let response = http::call(server.http_addr().unwrap(), "GET", "/api/v1/streams", "");
    let json: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    let streams = json["streams"].as_array().unwrap();
    let stream = streams
        .iter()
        .find(|s| s["name"] == name)
        .expect("the stream in the API");
    stream["send_bytes"].as_u64().unwrap()
}

#[test]
fn hls_segments_served_count_in_the_bytes_sent_and_process_figures_are_there() {
    let server = http::server(Config::default());
    let addr = server.http_addr().unwrap();
    let name = unique("hls-bytes");
    let _publisher = spawn(
        ffmpeg()
            .args(["-loglevel", "error", "-re", "-stream_loop", "-1", "-i"])
            .arg(Sample::AudioVideo.path())
            .args(["-c", "copy", "-f", "flv", &url(&server, &format!("live/{name}"))])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    );
    wait_until("the stream to be live", || {
        stream_stats(&server, "live", &name).is_some_and(|s| s.publishing)
    });
    // The multivariant playlist waits for three segments.
    let index = http::call(addr, "GET", &format!("/live/{name}/index.m3u8"), "");
    assert_eq!(index.status, 200, "{}", String::from_utf8_lossy(&index.body));
    let playlist = http::call(addr, "GET", &format!("/live/{name}/stream.m3u8"), "");
    let text = String::from_utf8(playlist.body).unwrap();
    let segments: Vec<&str> = text.lines().filter(|l| l.starts_with("seg")).collect();
    assert!(segments.len() >= 2, "{text}");

    let (_, before) = scrape(&server);
    let stream_before = api_send_bytes(&server, &name);
    // Each segment fetched ten times: many times more bytes than the
    // stream hands its muxer meanwhile, which counts too.
    let mut fetched = 0;
    for _ in 0..10 {
        for uri in &segments {
            let segment = http::call(addr, "GET", &format!("/live/{name}/{uri}"), "");
            assert_eq!(segment.status, 200, "{uri}");
            fetched += segment.body.len();
        }
    }
    let fetched = fetched as f64;
    assert!(fetched > 100_000.0, "{fetched} bytes of segments");
    let (types, after) = scrape(&server);
    let sent = |samples: &[Series]| value(samples, "rustic_rtmp_sent_bytes_total", &[]);
    let grew = sent(&after) - sent(&before);
    assert!(
        grew >= fetched,
        "sent_bytes_total grew by {grew} for {fetched} bytes of segments"
    );
    let stream = [("app", "live"), ("name", name.as_str())];
    let per_stream = |samples: &[Series]| value(samples, "rustic_rtmp_stream_sent_bytes_total", &stream);
    let grew = per_stream(&after) - per_stream(&before);
    assert!(grew >= fetched, "the stream's sent bytes grew by {grew} for {fetched}");
    let grew = (api_send_bytes(&server, &name) - stream_before) as f64;
    assert!(grew >= fetched, "the API's send_bytes grew by {grew} for {fetched}");

    // The process families, typed as Prometheus's client libraries type
    // them, with values a live process has.
    for (family, kind) in [
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_virtual_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_max_fds", "gauge"),
        ("process_start_time_seconds", "gauge"),
        ("rustic_rtmp_threads", "gauge"),
    ] {
        assert_eq!(types.get(family).map(String::as_str), Some(kind), "{family}");
    }
    let figure = |family: &str| value(&after, family, &[]);
    assert!(figure("process_cpu_seconds_total") > 0.0);
    let resident = figure("process_resident_memory_bytes");
    assert!(resident > 1e6 && figure("process_virtual_memory_bytes") >= resident);
    let open = figure("process_open_fds");
    assert!(open >= 3.0 && figure("process_max_fds") >= open);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let started = figure("process_start_time_seconds");
    assert!(
        started <= now + 1.0 && started > now - 3600.0,
        "started {started}, now {now}"
    );
    assert!(figure("rustic_rtmp_threads") >= 2.0);
}
