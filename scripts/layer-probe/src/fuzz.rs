// fuzz.rs may use threads (a connection-sized stack), nothing else impure.
use std::thread;
use std::net::TcpListener; // must fail: sockets in fuzz.rs
use crate::server::Registry; // must fail: the server in fuzz.rs
