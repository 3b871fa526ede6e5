//! A canary stream: our client publishes numbered frames and our client
//! plays them, on threads, while a test attacks the server. At the end
//! every frame must have arrived, in order, without a gap.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rustic_rtmp::ServerHandle;
use rustic_rtmp::client::{Client, ClientOptions, Player};

use super::{frame_number, numbered_frame, unique, url, wait_for_players, wait_until};

/// At most this many frames, one every 5 ms: the load is bounded.
const MAX_FRAMES: u32 = 4000;

pub struct Canary {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU32>,
    publisher: JoinHandle<u32>,
    player: JoinHandle<Vec<u32>>,
}

impl Canary {
    pub fn start(server: &ServerHandle) -> Canary {
        let name = unique("canary");
        let url = url(server, &format!("canary/{name}"));
        let player = Client::play(&url, &ClientOptions::default()).expect("canary player");
        wait_for_players(server, "canary", &name, 1);
        Canary::run(&url, player)
    }

    /// A canary on a server known only by its URL up to the app (the
    /// binary). The player may still be joining when the first frames go
    /// out; the GOP cache brings it every frame from frame 0, the only
    /// keyframe.
    pub fn start_at(app_url: &str) -> Canary {
        let url = format!("{app_url}/{}", unique("canary"));
        let player = Client::play(&url, &ClientOptions::default()).expect("canary player");
        Canary::run(&url, player)
    }

    fn run(url: &str, mut player: Player) -> Canary {
        let mut publisher = Client::publish(url, &ClientOptions::default()).expect("canary publisher");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let sent_count = Arc::new(AtomicU32::new(0));
        let counter = sent_count.clone();
        let publisher = std::thread::spawn(move || {
            let mut sent = 0;
            while sent < MAX_FRAMES && !stopped.load(Ordering::Relaxed) {
                let frame = numbered_frame(sent, sent == 0, sent * 5, 0);
                publisher.send(&frame).expect("the canary publisher is never disturbed");
                sent += 1;
                counter.store(sent, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
            sent // dropping the publisher ends the stream
        });
        let player = std::thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(Some(frame)) = player.recv() {
                got.push(frame_number(&frame));
            }
            got
        });
        Canary {
            stop,
            sent: sent_count,
            publisher,
            player,
        }
    }

    /// Lets the canary run 20 more frames (past whatever the test did),
    /// stops it and checks that every frame arrived in order.
    pub fn finish(self) {
        let target = self.sent.load(Ordering::Relaxed) + 20;
        wait_until("the canary to run on", || {
            self.sent.load(Ordering::Relaxed) >= target.min(MAX_FRAMES)
        });
        self.stop.store(true, Ordering::Relaxed);
        let sent = self.publisher.join().expect("canary publisher");
        let got = self.player.join().expect("canary player");
        assert_eq!(got, (0..sent).collect::<Vec<_>>(), "the canary stream had a gap");
    }
}
