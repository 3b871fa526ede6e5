// The composer: it names its wings (`mod`, `pub use`, inline child paths),
// which is composition; no file of server/ names it back.
mod control;
mod hls;
mod http;
mod net;
mod record;
mod relay;
mod rtmp;
mod stream;
mod validate;

pub use stream::Registry;
pub struct Wings {
    registry: stream::Registry,
}
pub struct ServerHandle;

fn start() {
    // A child module's path, written relative: server/mod.rs -> relay/push.rs,
    // which names server/mod.rs back.
    relay::push::start(); // must fail: closes mod.rs -> relay/push.rs -> mod.rs
}
