// error.rs is checked too.
use std::io;
use parking_lot::Mutex; // must fail: a lock in error.rs
