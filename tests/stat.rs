//! `/stat` against nginx-rtmp's own: the same ffmpeg stream and player on
//! both servers, and the two XML documents must have the same elements in
//! the same nesting (values differ: ids, times, byte counts).

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use common::http;
use common::*;
use rustic_rtmp::Config;

/// Every element path in `xml` (`rtmp/server/application/name`), one per
/// kind: nginx-rtmp's XML has no attributes, comments or CDATA.
fn element_paths(xml: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    let mut open: Vec<String> = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("a closed tag") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "nesting in {xml}");
        } else if let Some(name) = tag.strip_suffix('/') {
            paths.insert(format!("{}/{name}", open.join("/")));
        } else {
            open.push(tag.to_owned());
            paths.insert(open.join("/"));
        }
    }
    assert!(open.is_empty(), "every element closed");
    paths
}

fn get_stat(addr: SocketAddr) -> String {
    let response = http::call(addr, "GET", "/stat", "");
    assert_eq!(response.status, 200, "{}", response.head);
    String::from_utf8(response.body).unwrap()
}

#[test]
fn stat_has_nginx_rtmps_elements_and_nesting() {
    let scratch = Scratch::new("stat");
    let nginx = nginx::start_with_stat(&scratch, "    application live { live on; }");
    let server = http::server(Config::default());
    let name = unique("stat");
    let ours = url(&server, &format!("live/{name}"));
    let theirs = format!("rtmp://{}/live/{name}", nginx.addr);
    let sample = Sample::LongAudioVideo.path();
    let mut publishers = [publish(&sample, &ours, &[]), publish(&sample, &theirs, &[])];
    let mut players = [
        play(&ours, &scratch.path("ours.flv")),
        play(&theirs, &scratch.path("theirs.flv")),
    ];
    let stat_addr = nginx.stat.unwrap();
    // Both know the codecs and list the publisher and the player.
    wait_until("nginx-rtmp to list both clients and the codecs", || {
        let xml = get_stat(stat_addr);
        xml.contains("<nclients>2</nclients>") && xml.contains("<sample_rate>")
    });
    wait_until("ours to list both clients and the codecs", || {
        let xml = get_stat(server.http_addr().unwrap());
        xml.contains("<nclients>2</nclients>") && xml.contains("<sample_rate>")
    });
    let (mine, nginx_xml) = (get_stat(server.http_addr().unwrap()), get_stat(stat_addr));
    let (mine_paths, nginx_paths) = (element_paths(&mine), element_paths(&nginx_xml));
    let missing: Vec<_> = nginx_paths.difference(&mine_paths).collect();
    let extra: Vec<_> = mine_paths.difference(&nginx_paths).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}\nours:\n{mine}\nnginx-rtmp:\n{nginx_xml}"
    );
    assert!(mine.contains(&format!("<name>{name}</name>")));
    assert!(mine.contains("<width>320</width><height>240</height>"), "{mine}");
    for p in &mut publishers {
        assert!(p.wait().success());
    }
    for p in &mut players {
        p.wait();
    }
}
