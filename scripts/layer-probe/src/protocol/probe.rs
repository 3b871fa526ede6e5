// A probe for scripts/check-layers.sh --self-test: each line marked as
// failing breaks a layer rule the check must catch. Never compiled.
use std::{net::TcpStream, thread}; // must fail: grouped sockets and threads
use std::{ // must fail: the group below holds a lock and an atomic
    collections::HashMap,
    sync::{
        Mutex, // must fail: a lock in a nested group
        atomic::AtomicU64, // must fail: atomics
    },
};
use std::time::Instant as Clock; // must fail: an aliased clock
use std::time::Duration;
use socket2::SockRef; // must fail: socket2
use crate::client::Client; // must fail: the client
use crate::{Server, protocol::reader::Reader}; // must fail: a root re-export of the server
use crate::session::Action; // must fail: protocol reaching up to session

thread_local! { static X: u8 = 0; } // must fail: thread_local

fn probe() {
    let _ = libc::getpid(); // must fail: libc
    let _ = std::fs::read("x"); // must fail: files inline
    let _ = std::time::SystemTime::now(); // must fail: a clock inline
    // A comment may say Mutex, TcpStream or thread::spawn freely.
    let _ = "strings are code: rtmp://host/app";
}
