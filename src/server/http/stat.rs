//! `GET /stat`: nginx-rtmp's statistics XML (`rtmp_stat all`), with its
//! element names, nesting and units, so that what reads it today (NOALBS,
//! the `stat.xsl` page) reads ours unchanged. `bw_*` are bits per second
//! over the last 10 s; `time` is in milliseconds, `uptime` in seconds.
//! Pure: figures in, text out.

use std::fmt::Write as _;
use std::time::Duration;

use crate::server::control::clients::ClientStats;
use crate::server::stream::StreamStats;

/// What the root element tells of the server.
pub(crate) struct Server {
    pub(crate) pid: u32,
    pub(crate) uptime: Duration,
    pub(crate) accepted: u64,
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
}

/// Text with XML's five special characters escaped.
fn text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The body of `GET /stat`.
pub(crate) fn render(server: &Server, streams: &[StreamStats], clients: &[ClientStats]) -> String {
    let version = env!("CARGO_PKG_VERSION");
    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<rtmp>\n");
    let _ = write!(
        out,
        "<nginx_version>rustic_rtmp {version}</nginx_version>\n\
         <nginx_rtmp_version>{version}</nginx_rtmp_version>\n\
         <built>rustic_rtmp {version}</built>\n\
         <pid>{}</pid>\n<uptime>{}</uptime>\n<naccepted>{}</naccepted>\n",
        server.pid,
        server.uptime.as_secs(),
        server.accepted
    );
    let bw = |i: usize| streams.iter().map(|s| s.bw_10s[i]).sum::<u64>();
    let _ = write!(
        out,
        "<bw_in>{}</bw_in>\n<bytes_in>{}</bytes_in>\n<bw_out>{}</bw_out>\n<bytes_out>{}</bytes_out>\n",
        bw(0),
        server.bytes_in,
        bw(1),
        server.bytes_out
    );
    out.push_str("<server>\n");
    let mut apps: Vec<&str> = streams.iter().map(|s| s.key.app.as_str()).collect();
    apps.dedup(); // streams come sorted by key, so by app
    for app in apps {
        let _ = write!(out, "<application>\n<name>{}</name>\n<live>\n", text(app));
        let mut app_clients = 0;
        for stream in streams.iter().filter(|s| s.key.app == app) {
            app_clients += put_stream(&mut out, stream, clients);
        }
        let _ = write!(out, "<nclients>{app_clients}</nclients>\n</live>\n</application>\n");
    }
    out.push_str("</server>\n</rtmp>\n");
    out
}

/// Writes one `<stream>`; returns its client count.
fn put_stream(out: &mut String, s: &StreamStats, clients: &[ClientStats]) -> usize {
    let time = s.publisher.as_ref().map_or(0, |p| p.uptime.as_millis());
    let [bw_in, bw_out, bw_audio, bw_video] = s.bw_10s;
    let _ = write!(
        out,
        "<stream>\n<name>{}</name>\n<time>{time}</time>\
         <bw_in>{bw_in}</bw_in>\n<bytes_in>{}</bytes_in>\n<bw_out>{bw_out}</bw_out>\n\
         <bytes_out>{}</bytes_out>\n<bw_audio>{bw_audio}</bw_audio>\n<bw_video>{bw_video}</bw_video>\n",
        text(&s.key.name),
        s.recv_bytes,
        s.send_bytes
    );
    let mine: Vec<&ClientStats> = clients.iter().filter(|c| c.stream.as_ref() == Some(&s.key)).collect();
    for c in &mine {
        let dropped = s.player_drops.iter().find(|(id, _)| *id == c.id).map_or(0, |(_, d)| *d);
        // nginx-rtmp keeps 32 bytes of a flashVer.
        let flash_ver: String = c.flash_ver.chars().take(32).collect();
        let _ = writeln!(
            out,
            "<client><id>{}</id><address>{}</address><time>{}</time><flashver>{}</flashver>\
             <dropped>{dropped}</dropped><avsync>0</avsync><timestamp>{}</timestamp>{}<active/></client>",
            c.id,
            c.addr.ip(),
            c.alive.as_millis(),
            text(&flash_ver),
            s.last_timestamp.0,
            if c.kind.publishes() { "<publishing/>" } else { "" },
        );
    }
    out.push_str("<meta>");
    if let Some(v) = &s.video {
        let _ = write!(
            out,
            "<video><width>{}</width><height>{}</height><frame_rate>{}</frame_rate><codec>{}</codec>\
             <profile>{}</profile><compat>{}</compat><level>{}</level></video>",
            v.width,
            v.height,
            v.fps.map_or(0, |f| f.round() as u64),
            text(&v.codec),
            text(v.profile.as_deref().unwrap_or("")),
            v.compat,
            text(v.level.as_deref().unwrap_or("")),
        );
    }
    if let Some(a) = &s.audio {
        let _ = write!(
            out,
            "<audio><codec>{}</codec><profile>{}</profile><channels>{}</channels>\
             <sample_rate>{}</sample_rate></audio>",
            text(&a.codec),
            text(a.profile.as_deref().unwrap_or("")),
            a.channels,
            a.sample_rate,
        );
    }
    out.push_str("</meta>\n");
    let _ = writeln!(out, "<nclients>{}</nclients>", mine.len());
    if s.publishing {
        out.push_str("<publishing/>\n<active/>\n");
    }
    out.push_str("</stream>\n");
    mine.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(text("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;");
    }

    #[test]
    fn an_empty_server() {
        let server = Server {
            pid: 7,
            uptime: Duration::from_secs(5),
            accepted: 2,
            bytes_in: 10,
            bytes_out: 20,
        };
        let xml = render(&server, &[], &[]);
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n<rtmp>\n"));
        assert!(xml.contains("<pid>7</pid>\n<uptime>5</uptime>\n<naccepted>2</naccepted>\n"));
        assert!(xml.ends_with("<server>\n</server>\n</rtmp>\n"));
    }
}
