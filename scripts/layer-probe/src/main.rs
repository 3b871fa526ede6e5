// The binary's own crate: main.rs, cli/ and bin/ are out of the import
// rules (their `crate::` is not the library's), only too_long reads them.
mod cli;
use rustic_rtmp::client::Client;
