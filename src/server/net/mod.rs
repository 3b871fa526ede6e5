//! Sockets and the clock, for every wing: the accept loop (`listener`),
//! sleeping on a socket (`waker`), warnings a peer may cause (`log_limit`),
//! wall-clock dates (`calendar`) and names on disk (`path_name`).

pub(crate) mod calendar;
pub(crate) mod listener;
pub(crate) mod log_limit;
pub(crate) mod path_name;
pub(crate) mod socket;
pub(crate) mod waker;
