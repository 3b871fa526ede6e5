//! `GET /metrics`, read by a strict parser of Prometheus's text format
//! while ffmpeg publishes and plays: every family typed, names and labels
//! well formed, counters ending in `_total` and never going down.

mod common;

use std::collections::HashMap;
use std::net::TcpStream;

use common::http;
use common::*;
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
            assert!(name.starts_with("rustic_rtmp_"), "{name}");
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
        max_connections: 2,
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
