//! srt-live-server's `/stats` JSON, the shape NOALBS (the OBS scene
//! switcher IRL streamers run) reads to switch scenes on an SRT feed's
//! bitrate and RTT: `{"status":"ok","publishers":{KEY:{...}}}`, with the
//! ten fields NOALBS requires, as irl-srt-server writes them.
//!
//! `?publisher=` names one publisher as srt-live-server does
//! (`publish/APP/NAME`) or as this server does (`APP/NAME`); the key
//! answered is the one asked. A publisher not live is an empty
//! `publishers` object with 200, as srt-live-server answers, which NOALBS
//! reads as offline. Without `?publisher=`, every SRT publisher, keyed
//! `publish/APP/NAME`. Packet-loss bytes are estimated from the packets'
//! mean size: SRT counts packets; NOALBS only shows the bytes.

use serde_json::{Map, Value, json};

use crate::server::control::clients::ClientStats;
use crate::server::stream::kind::ClientKind;

/// The JSON for `publisher`, or for every SRT publisher.
pub(crate) fn render(clients: &[ClientStats], publisher: Option<&str>) -> String {
    let mut publishers = Map::new();
    for client in clients.iter().filter(|c| c.kind == ClientKind::SrtPublish) {
        let (Some(key), Some(srt)) = (&client.stream, &client.srt) else {
            continue;
        };
        let name = format!("{}/{}", key.app, key.name);
        let asked = match publisher {
            None => format!("publish/{name}"),
            Some(asked) if asked.strip_prefix("publish/").unwrap_or(asked) == name => asked.to_owned(),
            Some(_) => continue,
        };
        let mean = client.recv_bytes.checked_div(srt.packets_received).unwrap_or(0);
        let mbps = srt.recv_kbps as f64 / 1000.0;
        publishers.insert(
            asked,
            json!({
                "bitrate": srt.recv_kbps,
                "bytesRcvDrop": srt.packets_dropped * mean,
                "bytesRcvLoss": srt.packets_lost * mean,
                "mbpsBandwidth": mbps,
                "mbpsRecvRate": mbps,
                "msRcvBuf": srt.latency_ms,
                "pktRcvDrop": srt.packets_dropped,
                "pktRcvLoss": srt.packets_lost,
                "rtt": f64::from(srt.rtt_us) / 1000.0,
                "uptime": client.alive.as_secs(),
                "latency": srt.latency_ms,
                "pktRcvRetrans": srt.packets_recovered,
            }),
        );
    }
    json!({ "status": "ok", "publishers": Value::Object(publishers) }).to_string()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::media::StreamKey;
    use crate::server::control::clients::SrtStats;

    fn publisher(name: &str) -> ClientStats {
        ClientStats {
            id: 1,
            addr: "127.0.0.1:5000".parse().unwrap(),
            kind: ClientKind::SrtPublish,
            stream: Some(StreamKey::new("live", name)),
            flash_ver: String::new(),
            tc_url: String::new(),
            alive: Duration::from_secs(754),
            recv_bytes: 1316 * 1000,
            send_bytes: 0,
            srt: Some(SrtStats {
                rtt_us: 38_600,
                latency_ms: 120,
                packets_received: 1000,
                packets_lost: 2,
                packets_recovered: 2,
                packets_dropped: 1,
                recv_kbps: 5843,
                ..SrtStats::default()
            }),
        }
    }

    #[test]
    fn noalbs_finds_its_ten_fields_under_the_publisher_it_asked() {
        let clients = [publisher("feed1"), publisher("other")];
        let body: Value = serde_json::from_str(&render(&clients, Some("publish/live/feed1"))).unwrap();
        assert_eq!(body["status"], "ok");
        let feed = &body["publishers"]["publish/live/feed1"];
        for (field, value) in [
            ("bitrate", json!(5843)),
            ("bytesRcvDrop", json!(1316)),
            ("bytesRcvLoss", json!(2632)),
            ("mbpsBandwidth", json!(5.843)),
            ("mbpsRecvRate", json!(5.843)),
            ("msRcvBuf", json!(120)),
            ("pktRcvDrop", json!(1)),
            ("pktRcvLoss", json!(2)),
            ("rtt", json!(38.6)),
            ("uptime", json!(754)),
        ] {
            assert_eq!(feed[field], value, "{field}");
        }
        assert!(feed["bitrate"].is_u64(), "NOALBS reads an integer");
        assert_eq!(body["publishers"].as_object().unwrap().len(), 1);
    }

    #[test]
    fn our_own_name_form_and_every_publisher_and_nobody() {
        let clients = [publisher("feed1"), publisher("other")];
        let one: Value = serde_json::from_str(&render(&clients, Some("live/other"))).unwrap();
        assert_eq!(one["publishers"]["live/other"]["rtt"], json!(38.6));
        let all: Value = serde_json::from_str(&render(&clients, None)).unwrap();
        let keys: Vec<&String> = all["publishers"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["publish/live/feed1", "publish/live/other"]);
        let none: Value = serde_json::from_str(&render(&clients, Some("publish/live/gone"))).unwrap();
        assert_eq!(none, json!({"status": "ok", "publishers": {}}));
    }
}
