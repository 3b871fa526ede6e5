// A test module in a file of its own is left out too: a test may drive
// net/ with the client.
use crate::client::Client;
