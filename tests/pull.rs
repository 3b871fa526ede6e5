//! Pull relays (edges): a chain origin → edge → edge where ffmpeg plays
//! at the end; a pull that ends once its players are gone; failover past
//! an origin that is down; nginx-rtmp as the origin; a `Policy` that
//! relays a play from another server. (rustic_rtmp as the origin of an
//! nginx-rtmp edge that pulls is in `interop.rs`.)

mod common;

use std::sync::Arc;

use common::*;
use rustic_rtmp::RelaySettings;
use rustic_rtmp::client::{Client, ClientOptions, Player};
use rustic_rtmp::media::StreamKey;
use rustic_rtmp::{Config, Decision, Policy, PolicyRequest, ServerHandle};

fn edge_of(origins: &[String]) -> ServerHandle {
    start_server_with(Config {
        relay: RelaySettings {
            pull: origins.to_vec(),
            pull_idle: std::time::Duration::from_secs(1),
            ..Default::default()
        },
        ..Config::default()
    })
}

fn live_app(server: &ServerHandle) -> String {
    format!("rtmp://{}/live", server.local_addr())
}

/// Receives frames until frame `last`, within `WAIT`; their numbers.
fn numbers_until(player: &mut Player, last: u32) -> Vec<u32> {
    let deadline = std::time::Instant::now() + WAIT;
    let mut got = Vec::new();
    while got.last() != Some(&last) {
        assert!(std::time::Instant::now() < deadline, "frames until {last}; got {got:?}");
        match player.recv() {
            Ok(Some(frame)) => got.push(frame_number(&frame)),
            other => panic!("frames until {last}; got {got:?} then {other:?}"),
        }
    }
    got
}

#[test]
fn a_player_at_the_end_of_a_chain_of_edges_gets_the_stream() {
    let origin = start_server();
    let edge = edge_of(&[live_app(&origin)]);
    let far_edge = edge_of(&[live_app(&edge)]);
    let name = unique("chain");
    let sample = Sample::LongAudioVideo;
    let mut publisher = publish(&sample.path(), &url(&origin, &format!("live/{name}")), &[]);
    wait_until("the origin to be live", || {
        stream_stats(&origin, "live", &name).is_some_and(|s| s.publishing)
    });
    let scratch = Scratch::new("pull-chain");
    let out = scratch.path("far.flv");
    let mut player = play(&url(&far_edge, &format!("live/{name}")), &out);
    wait_until("both edges to pull", || {
        [&edge, &far_edge]
            .iter()
            .all(|e| stream_stats(e, "live", &name).is_some_and(|s| s.publishing))
    });
    let encoder = stream_stats(&edge, "live", &name).and_then(|s| s.publisher.map(|p| p.encoder));
    assert!(
        encoder.as_ref().is_some_and(|e| e.starts_with("pull from rtmp://")),
        "{encoder:?}"
    );
    assert!(publisher.wait().success());
    assert!(player.wait().success());
    let got = probe(&out);
    assert_eq!(got.video_size(), Some((320, 240)));
    assert_near(
        "video frames two hops away",
        got.video().len(),
        probe(&sample.path()).video().len(),
        60,
    );
}

#[test]
fn a_pull_ends_once_its_players_are_gone_and_fails_over_past_a_dead_origin() {
    let origin = start_server();
    // Nothing listens at the first origin.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let edge = edge_of(&[format!("rtmp://{dead}/live"), live_app(&origin)]);
    let name = unique("idle");
    let publisher = origin.publish(&StreamKey::new("live", name.clone())).unwrap();
    let mut player = Client::play(&url(&edge, &format!("live/{name}")), &ClientOptions::default()).unwrap();
    wait_until("the edge to pull from the second origin", || {
        stream_stats(&origin, "live", &name).is_some_and(|s| s.players == 1)
    });
    for n in 0..50 {
        publisher
            .send(numbered_frame(n, n.is_multiple_of(10), n * 40, 300))
            .unwrap();
    }
    assert_eq!(numbers_until(&mut player, 49), (0..50).collect::<Vec<_>>());
    drop(player);
    // One second with no player, then the pull ends at both ends.
    wait_until("the pull to end", || {
        stream_stats(&origin, "live", &name).is_some_and(|s| s.players == 0)
            && stream_stats(&edge, "live", &name).is_none()
    });
}

#[test]
fn an_edge_pulls_from_nginx_rtmp() {
    let scratch = Scratch::new("pull-nginx");
    let nginx = nginx::start(&scratch, "    application live { live on; }");
    let edge = edge_of(&[format!("rtmp://{}/live", nginx.addr)]);
    let name = unique("from-nginx");
    let sample = Sample::LongAudioVideo;
    let mut publisher = publish(&sample.path(), &format!("rtmp://{}/live/{name}", nginx.addr), &[]);
    let out = scratch.path("edge.flv");
    // nginx-rtmp has the stream a moment after ffmpeg connects: the pull
    // retries until it does.
    let mut player = play(&url(&edge, &format!("live/{name}")), &out);
    assert!(publisher.wait().success());
    player.wait();
    let got = probe(&out);
    assert_eq!(got.video_size(), Some((320, 240)));
    assert_near(
        "video frames through the edge",
        got.video().len(),
        probe(&sample.path()).video().len(),
        50,
    );
}

/// Relays every play of `tv` from another server.
#[derive(Debug)]
struct Relayed(String);

impl Policy for Relayed {
    fn play(&self, request: &PolicyRequest<'_>) -> Decision {
        match request.name {
            "tv" => Decision::Relay(self.0.clone()),
            _ => Decision::Allow,
        }
    }
}

#[test]
fn a_policy_relays_a_play_from_another_server() {
    let origin = start_server();
    let name = unique("relayed");
    let policy = Relayed(format!("rtmp://{}/live/{name}", origin.local_addr()));
    let edge = start_server_with(Config {
        policy: Some(Arc::new(policy)),
        ..Config::default()
    });
    let publisher = origin.publish(&StreamKey::new("live", name.clone())).unwrap();
    let mut player = Client::play(&url(&edge, "live/tv"), &ClientOptions::default()).unwrap();
    wait_until("the edge to pull", || {
        stream_stats(&origin, "live", &name).is_some_and(|s| s.players == 1)
    });
    for n in 0..20 {
        publisher
            .send(numbered_frame(n, n.is_multiple_of(10), n * 40, 300))
            .unwrap();
    }
    assert_eq!(numbers_until(&mut player, 19), (0..20).collect::<Vec<_>>());
}

#[test]
fn a_static_pull_runs_with_no_player_and_stays() {
    let origin = start_server();
    let name = unique("static");
    let publisher = origin.publish(&StreamKey::new("live", name.clone())).unwrap();
    publisher.send(numbered_frame(0, true, 0, 300)).unwrap();
    let edge = start_server_with(Config {
        relay: RelaySettings {
            pull_static: vec![format!("rtmp://{}/live/{name}", origin.local_addr())],
            pull_idle: std::time::Duration::from_millis(200),
            ..Default::default()
        },
        ..Config::default()
    });
    wait_until("the edge to pull with no player", || {
        stream_stats(&edge, "live", &name).is_some_and(|s| s.publishing)
    });
    let mut player = Client::play(&url(&edge, &format!("live/{name}")), &ClientOptions::default()).unwrap();
    publisher.send(numbered_frame(1, true, 40, 300)).unwrap();
    assert_eq!(numbers_until(&mut player, 1).last(), Some(&1));
    drop(player);
    // Well past the idle time, the static pull goes on.
    wait_until("the player to leave", || {
        stream_stats(&edge, "live", &name).is_some_and(|s| s.players == 0)
    });
    let still = std::time::Instant::now() + std::time::Duration::from_secs(1);
    wait_until("a second past the idle time", || std::time::Instant::now() >= still);
    let stats = stream_stats(&edge, "live", &name);
    assert!(stats.as_ref().is_some_and(|s| s.publishing), "{stats:?}");
}
