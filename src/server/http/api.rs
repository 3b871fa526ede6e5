//! The JSON API: `GET /api/v1/streams`. Field names follow SRS's API
//! (`id`, `name`, `app`, `clients`, `send_bytes`, `recv_bytes`, `kbps`,
//! `video`, `audio`, `publish`) so that tools written for it read ours;
//! what SRS lacks has names of our own. Pure: statistics in, text out.

use std::time::Duration;

use serde_json::{Value, json};

use crate::media::FrameKind;
use crate::server::control::clients::ClientStats;
use crate::server::relay::push::PushStats;
use crate::server::stream::StreamStats;

/// The envelope of every answer, as SRS's: `code` 0 for success, the
/// server, a service id that changes when the process restarts, and the
/// process id.
pub(crate) struct Envelope {
    pub(crate) service: String,
    pub(crate) pid: u32,
}

impl Envelope {
    /// `fields` inside the envelope, with `code`.
    fn wrap(&self, code: u16, fields: Value) -> String {
        let mut body = json!({
            "code": code,
            "server": "rustic_rtmp",
            "service": self.service,
            "pid": self.pid,
        });
        if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), fields) {
            body.extend(fields);
        }
        body.to_string()
    }

    /// A success with nothing more to say.
    pub(crate) fn done(&self) -> String {
        self.wrap(0, json!({}))
    }

    /// An error answer: `code` is the HTTP status.
    pub(crate) fn error(&self, code: u16, why: &str) -> String {
        self.wrap(code, json!({ "error": why }))
    }
}

/// The body of `GET /api/v1/streams`.
pub(crate) fn streams(envelope: &Envelope, streams: &[StreamStats], pushes: &[PushStats], rtmp_port: u16) -> String {
    let streams: Vec<Value> = streams.iter().map(|s| stream(s, pushes)).collect();
    envelope.wrap(
        0,
        json!({ "version": env!("CARGO_PKG_VERSION"), "rtmp_port": rtmp_port, "streams": streams }),
    )
}

/// The body of `GET /api/v1/streams/{id}`.
pub(crate) fn one_stream(envelope: &Envelope, s: &StreamStats, pushes: &[PushStats]) -> String {
    envelope.wrap(0, json!({ "stream": stream(s, pushes) }))
}

/// The body of `GET /api/v1/clients`.
pub(crate) fn clients(envelope: &Envelope, clients: &[ClientStats], streams: &[StreamStats]) -> String {
    let clients: Vec<Value> = clients.iter().map(|c| client(c, streams)).collect();
    envelope.wrap(0, json!({ "clients": clients }))
}

/// The body of `GET /api/v1/clients/{id}`.
pub(crate) fn one_client(envelope: &Envelope, c: &ClientStats, streams: &[StreamStats]) -> String {
    envelope.wrap(0, json!({ "client": client(c, streams) }))
}

/// What `GET /api/v1/summaries` tells of the process.
pub(crate) struct Summary {
    pub(crate) uptime: Duration,
    /// Resident memory in KiB, from /proc.
    pub(crate) rss_kib: Option<u64>,
    /// CPU time used, user and system, from /proc.
    pub(crate) cpu_seconds: Option<f64>,
    pub(crate) connections: usize,
    pub(crate) accepted: u64,
    pub(crate) streams: usize,
    pub(crate) recv_bytes: u64,
    pub(crate) send_bytes: u64,
}

/// The body of `GET /api/v1/summaries`.
pub(crate) fn summaries(envelope: &Envelope, s: &Summary) -> String {
    envelope.wrap(
        0,
        json!({
            "data": {
                "ok": true,
                "self": {
                    "version": env!("CARGO_PKG_VERSION"),
                    "pid": envelope.pid,
                    "mem_kbyte": s.rss_kib,
                    "cpu_seconds": s.cpu_seconds,
                    "srs_uptime": s.uptime.as_secs(),
                },
                "connections": s.connections,
                "accepted": s.accepted,
                "streams": s.streams,
                "recv_bytes": s.recv_bytes,
                "send_bytes": s.send_bytes,
            }
        }),
    )
}

/// Kilobits per second of `bytes` over `alive`.
fn kbps(bytes: u64, alive: Duration) -> u64 {
    (bytes as f64 * 8.0 / 1000.0 / alive.as_secs_f64().max(1.0)) as u64
}

fn client(c: &ClientStats, streams: &[StreamStats]) -> Value {
    let stream = c.stream.as_ref().and_then(|key| streams.iter().find(|s| &s.key == key));
    let dropped = stream.and_then(|s| s.player_drops.iter().find(|(id, _)| *id == c.id).map(|(_, d)| *d));
    json!({
        "id": c.id.to_string(),
        "ip": c.addr.ip().to_string(),
        "addr": c.addr.to_string(),
        "stream": stream.map(|s| s.id.to_string()),
        "app": c.stream.as_ref().map(|k| k.app.as_str()),
        "name": c.stream.as_ref().map(|k| k.name.as_str()),
        "url": c.stream.as_ref().map(|k| format!("/{}/{}", k.app, k.name)),
        "type": c.kind.name(),
        "publish": c.kind.publishes(),
        "alive": c.alive.as_secs_f64(),
        "send_bytes": c.send_bytes,
        "recv_bytes": c.recv_bytes,
        // Over the connection's life: a client has no per-second history.
        "kbps": { "recv_30s": kbps(c.recv_bytes, c.alive), "send_30s": kbps(c.send_bytes, c.alive) },
        "dropped_frames": dropped.unwrap_or(0),
        "flashver": c.flash_ver,
        "tcUrl": c.tc_url,
        "srt": c.srt.map(|srt| json!({
            "rtt_ms": f64::from(srt.rtt_us) / 1000.0,
            "latency_ms": srt.latency_ms,
            "packets_received": srt.packets_received,
            "packets_lost": srt.packets_lost,
            "packets_recovered": srt.packets_recovered,
            "packets_dropped": srt.packets_dropped,
            "packets_sent": srt.packets_sent,
            "packets_retransmitted": srt.packets_retransmitted,
            "buffer_bytes": srt.buffer_bytes,
            "recv_kbps": srt.recv_kbps,
            "undecryptable": srt.undecryptable,
            "key_refreshes": srt.key_refreshes,
        })),
    })
}

/// Average of the last `n` entries of `kbps` (at least one).
fn average(kbps: &[u64], n: usize) -> u64 {
    let n = n.max(1);
    let last = &kbps[kbps.len().saturating_sub(n)..];
    last.iter().sum::<u64>() / last.len().max(1) as u64
}

fn stream(s: &StreamStats, pushes: &[PushStats]) -> Value {
    let pushes: Vec<Value> = (pushes.iter().filter(|p| p.key == s.key))
        .map(|p| {
            json!({
                "id": p.id.to_string(),
                "destination": p.destination,
                "connected": p.connected,
                "send_bytes": p.sent_bytes,
                "reconnects": p.reconnects,
                "last_error": p.last_error,
            })
        })
        .collect();
    let key = &s.key;
    let video = s.video.as_ref().map(|v| {
        json!({
            "codec": v.codec,
            "profile": v.profile,
            "level": v.level,
            "width": v.width,
            "height": v.height,
            "fps": v.fps,
        })
    });
    let audio = s.audio.as_ref().map(|a| {
        json!({
            "codec": a.codec,
            "profile": a.profile,
            "sample_rate": a.sample_rate,
            "channel": a.channels,
        })
    });
    let publisher = s.publisher.as_ref();
    let seconds = publisher.map_or(30, |p| p.uptime.as_secs() as usize);
    json!({
        "id": s.id.to_string(),
        "app": key.app,
        "name": key.name,
        "url": format!("/{}/{}", key.app, key.name),
        "tcUrl": publisher.map(|p| p.tc_url.as_str()),
        "clients": s.players + usize::from(s.publishing),
        "players": {
            "total": s.players,
            "rtmp": s.players_by_protocol.rtmp,
            "flv": s.players_by_protocol.flv,
            "mp4": s.players_by_protocol.mp4,
            "local": s.players_by_protocol.local,
            "record": s.players_by_protocol.recorders,
            "push": s.players_by_protocol.pushes,
            "hls": s.players_by_protocol.hls,
            "srt": s.players_by_protocol.srt,
        },
        "frames": s.frames,
        "dropped": s.dropped,
        "last_timestamp_ms": s.last_timestamp.0,
        "recv_bytes": s.recv_bytes,
        "send_bytes": s.send_bytes,
        // Over the last 30 s, or the seconds published if fewer.
        "kbps": {
            "recv_30s": average(&s.kbps_in, seconds.min(30)),
            "send_30s": average(&s.kbps_out, seconds.min(30)),
        },
        "kbps_in_60s": s.kbps_in,
        "live_ms": publisher.map(|p| p.uptime.as_millis() as u64),
        "publish": {
            "active": s.publishing,
            "cid": publisher.map(|p| p.id.to_string()),
            "address": publisher.map(|p| p.addr.to_string()),
            "encoder": publisher.map(|p| p.encoder.as_str()),
        },
        "video": video,
        "audio": audio,
        "mse_type": s.mse_type,
        "gop_cache": { "frames": s.gop_frames, "bytes": s.gop_bytes },
        "push": pushes,
        "tracks": s.tracks.iter().map(|t| json!({
            "type": if t.kind == FrameKind::Audio { "audio" } else { "video" },
            "track": t.track,
            "codec": t.codec,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::StreamKey;
    use crate::media::codec::{AudioDescription, VideoDescription};
    use crate::protocol::time::RtmpTime;
    use crate::server::stream::PlayerCounts;
    use crate::server::stream::PublisherStats;
    use crate::server::stream::TrackStats;
    use std::time::Duration;

    #[test]
    fn a_stream_in_srs_field_names() {
        let mut kbps_in = vec![0; 60];
        kbps_in[59] = 3000;
        let stats = StreamStats {
            id: 3,
            key: StreamKey::new("live", "cam \"1\""),
            publishing: true,
            players: 3,
            frames: 900,
            last_timestamp: RtmpTime(30_000),
            dropped: 2,
            player_drops: Vec::new(),
            players_by_protocol: PlayerCounts {
                rtmp: 1,
                flv: 1,
                mp4: 1,
                local: 0,
                recorders: 0,
                pushes: 0,
                hls: 0,
                srt: 0,
            },
            publisher: Some(PublisherStats {
                id: 7,
                addr: "10.0.0.2:50000".parse().unwrap(),
                encoder: "FMLE/3.0 (compatible; FMSc/1.0)".into(),
                tc_url: "rtmp://10.0.0.1/live".into(),
                uptime: Duration::from_millis(30_500),
            }),
            video: Some(VideoDescription {
                codec: "H264".into(),
                profile: Some("High".into()),
                level: Some("3.1".into()),
                width: 1280,
                height: 720,
                fps: Some(30.0),
                compat: 0,
            }),
            audio: Some(AudioDescription {
                codec: "AAC".into(),
                profile: Some("LC".into()),
                sample_rate: 48000,
                channels: 2,
            }),
            mse_type: Some("video/mp4; codecs=\"avc1.64001f,mp4a.40.2\"".into()),
            recv_bytes: 11_000_000,
            send_bytes: 33_000_000,
            kbps_in,
            kbps_out: vec![0; 60],
            slow_disconnected: 0,
            bw_10s: [0; 4],
            gop_frames: 12,
            gop_bytes: 90_000,
            tracks: vec![
                TrackStats {
                    kind: FrameKind::Video,
                    track: 0,
                    codec: "H264",
                },
                TrackStats {
                    kind: FrameKind::Video,
                    track: 1,
                    codec: "HEVC",
                },
            ],
        };
        let envelope = Envelope {
            service: "s1".into(),
            pid: 42,
        };
        let body: Value = serde_json::from_str(&streams(&envelope, &[stats], &[], 1935)).unwrap();
        assert_eq!((body["code"].as_u64(), body["pid"].as_u64()), (Some(0), Some(42)));
        assert_eq!(body["server"], "rustic_rtmp");
        assert_eq!(body["rtmp_port"], 1935);
        let s = &body["streams"][0];
        assert_eq!(s["id"], "3");
        assert_eq!(s["name"], "cam \"1\"", "names are escaped, not cut");
        assert_eq!((s["app"].as_str(), s["clients"].as_u64()), (Some("live"), Some(4)));
        assert_eq!(s["players"]["mp4"], 1);
        assert_eq!(s["kbps"]["recv_30s"], 100);
        assert_eq!(s["kbps_in_60s"].as_array().unwrap().len(), 60);
        assert_eq!(s["publish"]["cid"], "7");
        assert_eq!(s["publish"]["address"], "10.0.0.2:50000");
        assert_eq!(s["video"]["width"], 1280);
        assert_eq!(s["audio"]["channel"], 2);
        assert_eq!(s["live_ms"], 30_500);
        assert_eq!(s["mse_type"], "video/mp4; codecs=\"avc1.64001f,mp4a.40.2\"");
        assert_eq!(s["tcUrl"], "rtmp://10.0.0.1/live");
        assert_eq!(
            (s["gop_cache"]["frames"].as_u64(), s["gop_cache"]["bytes"].as_u64()),
            (Some(12), Some(90_000))
        );
        assert_eq!(s["tracks"][1], json!({"type": "video", "track": 1, "codec": "HEVC"}));
    }
}
