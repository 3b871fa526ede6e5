//! Who may do what, and who is told: the one admission path, access
//! rules, signed URLs, webhooks and exec, the settings in force, and the
//! API's table of clients.

pub(crate) mod access;
pub(crate) mod admission;
pub(crate) mod auth;
pub(crate) mod clients;
pub(crate) mod connections;
pub(crate) mod exec;
pub(crate) mod hooks;
pub(crate) mod host_names;
pub(crate) mod live;
pub(crate) mod started;
pub(crate) mod trail;
pub(crate) mod webhooks;
