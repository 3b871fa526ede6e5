//! `GET /metrics`: Prometheus's text exposition format (version 0.0.4),
//! every name prefixed `rustic_rtmp_` but the standard `process_*`
//! families (CPU, memory, file descriptors, start time) that every
//! Prometheus client library exports, counters ending in `_total`.
//! Labels stay few: per stream (`app`, `name`) and per protocol, never
//! per client. Pure: figures in, text out.

use std::fmt::Write as _;

use super::process::Process;
use super::request::HLS_COUNTED;
use crate::server::control::clients::{ClientStats, SrtStats};
use crate::server::relay::push::PushStats;
use crate::server::stream::StreamStats;

/// Server-wide figures besides the streams'.
pub(crate) struct Totals {
    pub(crate) connections: usize,
    pub(crate) accepted: u64,
    /// Connections refused, by reason.
    pub(crate) refused: Vec<(&'static str, u64)>,
    pub(crate) recv_bytes: u64,
    pub(crate) send_bytes: u64,
    pub(crate) slow_players_disconnected: u64,
    pub(crate) record_errors: u64,
    /// Events the webhooks and exec workers had no room for.
    pub(crate) hook_events_dropped: u64,
    /// HLS requests answered: playlists, init segments, segments, parts.
    pub(crate) hls_requests: [u64; 4],
}

/// SRT's own figures, over the SRT connections open now: how many,
/// their packets by fate, and the longest round trip.
fn srt_families(out: &mut String, clients: &[ClientStats]) {
    let srt: Vec<&SrtStats> = clients.iter().filter_map(|c| c.srt.as_ref()).collect();
    family(
        out,
        "srt_connections",
        "gauge",
        "SRT connections open, publishers and readers.",
        &[(String::new(), srt.len() as f64)],
    );
    let sum = |f: fn(&SrtStats) -> u64| srt.iter().map(|s| f(s)).sum::<u64>() as f64;
    let packets = [
        ("received", sum(|s| s.packets_received)),
        ("lost", sum(|s| s.packets_lost)),
        ("recovered", sum(|s| s.packets_recovered)),
        ("dropped", sum(|s| s.packets_dropped)),
        ("sent", sum(|s| s.packets_sent)),
        ("retransmitted", sum(|s| s.packets_retransmitted)),
    ]
    .map(|(fate, n)| (format!("fate=\"{fate}\""), n));
    family(
        out,
        "srt_packets",
        "gauge",
        "Data packets of the SRT connections open now, by fate: received and sent (first copies), lost (asked again), recovered (came again in time), dropped (given up), retransmitted (sent again).",
        &packets,
    );
    let held = srt.iter().map(|s| s.buffer_bytes).sum::<usize>();
    family(
        out,
        "srt_buffer_bytes",
        "gauge",
        "Payload bytes the SRT connections hold: to play in order (publishers), kept to send again (readers).",
        &[(String::new(), held as f64)],
    );
    let rtt = srt.iter().map(|s| s.rtt_us).max().unwrap_or(0);
    family(
        out,
        "srt_rtt_max_seconds",
        "gauge",
        "The longest round trip among the SRT connections open now.",
        &[(String::new(), f64::from(rtt) / 1e6)],
    );
}

/// A label value as the format wants it: `\`, `"` and newlines escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Writes one metric family, `rustic_rtmp_{name}`: its help, its type,
/// and its samples (labels as written between braces, and the value).
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    named_family(out, &format!("rustic_rtmp_{name}"), kind, help, samples);
}

/// `family`, named `name` as it stands.
fn named_family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        match labels.is_empty() {
            true => {
                let _ = writeln!(out, "{name} {value}");
            }
            false => {
                let _ = writeln!(out, "{name}{{{labels}}} {value}");
            }
        }
    }
}

/// The standard `process_*` families (as the Prometheus client libraries
/// name them), and the thread count, which has no standard name; a
/// figure /proc did not give is left out.
fn process_families(out: &mut String, process: &Process) {
    let standard = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            process.cpu_seconds,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            process.resident_bytes.map(|b| b as f64),
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            process.virtual_bytes.map(|b| b as f64),
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            process.open_fds.map(|n| n as f64),
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            process.max_fds.map(|n| n as f64),
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            process.start_time_seconds,
        ),
    ];
    for (name, kind, help, value) in standard {
        if let Some(value) = value {
            named_family(out, name, kind, help, &[(String::new(), value)]);
        }
    }
    if let Some(threads) = process.threads {
        let one = [(String::new(), threads as f64)];
        family(out, "threads", "gauge", "Threads of the process.", &one);
    }
}

/// The body of `GET /metrics`.
pub(crate) fn render(
    totals: &Totals,
    (streams, clients, pushes): (&[StreamStats], &[ClientStats], &[PushStats]),
    process: &Process,
) -> String {
    let mut out = String::with_capacity(4096);
    process_families(&mut out, process);
    let one = |value: f64| vec![(String::new(), value)];
    let version = format!("version=\"{}\"", env!("CARGO_PKG_VERSION"));
    family(
        &mut out,
        "build_info",
        "gauge",
        "The running build; always 1.",
        &[(version, 1.0)],
    );
    let live = streams.iter().filter(|s| s.publishing).count();
    family(
        &mut out,
        "streams",
        "gauge",
        "Streams with a publisher.",
        &one(live as f64),
    );
    let count = |f: fn(&StreamStats) -> usize| streams.iter().map(f).sum::<usize>() as f64;
    let players = [
        ("protocol=\"rtmp\"".to_owned(), count(|s| s.players_by_protocol.rtmp)),
        ("protocol=\"flv\"".to_owned(), count(|s| s.players_by_protocol.flv)),
        ("protocol=\"mp4\"".to_owned(), count(|s| s.players_by_protocol.mp4)),
        ("protocol=\"local\"".to_owned(), count(|s| s.players_by_protocol.local)),
        (
            "protocol=\"record\"".to_owned(),
            count(|s| s.players_by_protocol.recorders),
        ),
        ("protocol=\"push\"".to_owned(), count(|s| s.players_by_protocol.pushes)),
        ("protocol=\"hls\"".to_owned(), count(|s| s.players_by_protocol.hls)),
        ("protocol=\"srt\"".to_owned(), count(|s| s.players_by_protocol.srt)),
    ];
    family(&mut out, "players", "gauge", "Players, by protocol.", &players);
    srt_families(&mut out, clients);
    family(
        &mut out,
        "connections",
        "gauge",
        "Open connections, RTMP and HTTP.",
        &one(totals.connections as f64),
    );
    family(
        &mut out,
        "connections_accepted_total",
        "counter",
        "Connections accepted.",
        &one(totals.accepted as f64),
    );
    let refused: Vec<(String, f64)> = totals
        .refused
        .iter()
        .map(|(reason, n)| (format!("reason=\"{reason}\""), *n as f64))
        .collect();
    family(
        &mut out,
        "connections_refused_total",
        "counter",
        "Connections closed at accept, by the limit they passed.",
        &refused,
    );
    family(
        &mut out,
        "received_bytes_total",
        "counter",
        "Bytes read from every connection.",
        &one(totals.recv_bytes as f64),
    );
    family(
        &mut out,
        "sent_bytes_total",
        "counter",
        "Bytes written to every connection: media, the RTMP handshake, every HTTP answer (HLS files, the API, refusals).",
        &one(totals.send_bytes as f64),
    );
    family(
        &mut out,
        "slow_players_disconnected_total",
        "counter",
        "Players disconnected for falling too far behind.",
        &one(totals.slow_players_disconnected as f64),
    );
    family(
        &mut out,
        "record_errors_total",
        "counter",
        "Recordings stopped by a write error (a full disk, a directory it may not write).",
        &one(totals.record_errors as f64),
    );
    family(
        &mut out,
        "hook_events_dropped_total",
        "counter",
        "Events the webhooks and exec workers were too far behind to queue; never an end (a publish, play or connection closing, a recording done).",
        &one(totals.hook_events_dropped as f64),
    );
    let hls: Vec<(String, f64)> = (HLS_COUNTED.iter().zip(totals.hls_requests))
        .map(|(file, n)| (format!("file=\"{file}\""), n as f64))
        .collect();
    family(
        &mut out,
        "hls_requests_total",
        "counter",
        "HLS requests answered, by what they asked for.",
        &hls,
    );
    let per_stream = |f: fn(&StreamStats) -> f64| -> Vec<(String, f64)> {
        streams
            .iter()
            .map(|s| {
                let labels = format!("app=\"{}\",name=\"{}\"", label(&s.key.app), label(&s.key.name));
                (labels, f(s))
            })
            .collect()
    };
    family(
        &mut out,
        "stream_dropped_frames_total",
        "counter",
        "Frames not sent to a stream's players (skipped by slow players, or before a keyframe).",
        &per_stream(|s| s.dropped as f64),
    );
    family(
        &mut out,
        "stream_received_bytes_total",
        "counter",
        "Media payload bytes a stream received from its publishers.",
        &per_stream(|s| s.recv_bytes as f64),
    );
    family(
        &mut out,
        "stream_sent_bytes_total",
        "counter",
        "Bytes a stream handed to its players (RTMP, HTTP-FLV, fMP4, and the server's own: recorders, push relays, HLS muxers) and the bytes of the HLS files served to its viewers.",
        &per_stream(|s| s.send_bytes as f64),
    );
    family(
        &mut out,
        "stream_players",
        "gauge",
        "Players of a stream.",
        &per_stream(|s| s.players as f64),
    );
    // One series per configured destination: as many as the push list.
    let per_push = |f: fn(&PushStats) -> f64| -> Vec<(String, f64)> {
        (pushes.iter())
            .map(|p| {
                let (app, name) = (label(&p.key.app), label(&p.key.name));
                let labels = format!(
                    "app=\"{app}\",name=\"{name}\",push=\"{}\",destination=\"{}\"",
                    p.id,
                    label(&p.destination)
                );
                (labels, f(p))
            })
            .collect()
    };
    family(
        &mut out,
        "push_connected",
        "gauge",
        "1 while a push relay is connected to its destination.",
        &per_push(|p| f64::from(u8::from(p.connected))),
    );
    family(
        &mut out,
        "push_sent_bytes_total",
        "counter",
        "Media payload bytes a push relay sent to its destination.",
        &per_push(|p| p.sent_bytes as f64),
    );
    family(
        &mut out,
        "push_reconnects_total",
        "counter",
        "Connections of a push relay that failed or were lost.",
        &per_push(|p| p.reconnects as f64),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_typed_and_labels_escaped() {
        let totals = Totals {
            connections: 3,
            accepted: 10,
            refused: vec![("max_connections", 2)],
            recv_bytes: 1000,
            send_bytes: 5000,
            slow_players_disconnected: 1,
            record_errors: 0,
            hook_events_dropped: 2,
            hls_requests: [0; 4],
        };
        let process = Process {
            cpu_seconds: Some(1.5),
            threads: Some(9),
            ..Process::default()
        };
        let text = render(&totals, (&[], &[], &[]), &process);
        assert!(text.contains(
            "# TYPE rustic_rtmp_connections_accepted_total counter\nrustic_rtmp_connections_accepted_total 10\n"
        ));
        assert!(text.contains("rustic_rtmp_connections_refused_total{reason=\"max_connections\"} 2\n"));
        assert!(text.contains("rustic_rtmp_players{protocol=\"flv\"} 0\n"));
        assert!(text.contains("rustic_rtmp_hook_events_dropped_total 2\n"));
        assert!(text.contains("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n"));
        assert!(text.contains("# TYPE rustic_rtmp_threads gauge\nrustic_rtmp_threads 9\n"));
        assert!(!text.contains("process_open_fds"), "a figure not read is left out");
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
