// stream/ may use stream/ and net/ of server/, nothing else there, and
// not crate::client.
use super::registry::Registry;
use crate::server::stream::Registry as Rooms;
use crate::server::net::socket::write;
use crate::server::http::response::chunk; // must fail: the HTTP door
use super::super::rtmp::connection::Conn; // must fail: the RTMP door through super::super
use crate::server::{ // must fail: control, in a group
    control::events::Event,
    net::waker::Waker,
};
use crate::server::Wings; // must fail: server/mod.rs itself (stream_wing and back_to_mod_rs)
use crate::client::Client; // must fail: the client outside relay/

pub fn flush() {
    crate::server::hls::muxer::push(); // must fail: the HLS wing, inline
    let _ = "crate::server::relay::push"; // a string names nothing
    // nor does a comment: crate::server::validate::check
}

#[cfg(test)]
mod tests {
    // Tests are left out: a test may drive stream/ from any wing.
    use crate::server::http::response::chunk;
}
