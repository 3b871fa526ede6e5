// config.rs is checked too: settings, no I/O.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::thread; // must fail: threads in config.rs
use crate::server::Shared; // must fail: config.rs reaching into the server
