// A relay is an RTMP client: relay/ alone may use crate::client.
use crate::client::Client;
use crate::server::stream::Registry;
use super::super::Wings; // must fail: the composer, through super::super

pub fn start() {}
