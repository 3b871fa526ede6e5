// Checking a URL is no reason to depend on the client.
use crate::client::Client; // must fail: the client outside relay/
