//! The `rustic_rtmp` command's own code, around the library: its settings
//! (flags and the config file, each declared once in `defs.rs`) and the
//! process it runs in.
//!
//! In scope: reading the settings into a `Config` (`config.rs`), process
//! setup (glibc, the open-file limit, signals), reloading. Out of scope:
//! anything an embedding program would need too; that is the library's.

pub(crate) mod apps;
pub(crate) mod config;
pub(crate) mod defs;
pub(crate) mod file;
pub(crate) mod malloc;
pub(crate) mod names;
pub(crate) mod nofile;
pub(crate) mod record;
pub(crate) mod report;
pub(crate) mod secrets;
pub(crate) mod setting;
pub(crate) mod signals;
pub(crate) mod token_file;
pub(crate) mod watch;
