// A door may use the stream wing, not the composer, nor the client.
use crate::server::stream::Registry;
use crate::server::{ServerHandle, Wings}; // must fail: server/mod.rs's items, grouped

fn kick() {
    let _ = crate::client::Client; // must fail: the client inline, outside relay/
}
