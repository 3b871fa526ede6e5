// A name a `use` brought in, then a deeper path through it: events.rs ->
// stream/live.rs, and live.rs imports events.rs back.
use crate::server::stream;
pub struct Event;
fn publish() {
    let _ = stream::live::flush; // must fail: closes events.rs -> stream/live.rs -> events.rs
}
