// The probe crate's root: `mod` lines and re-exports of its own children
// compose the crate and import nothing (no circle with the files that use
// `crate::`).
pub mod client;
mod config;
mod error;
pub mod fuzz;
pub mod media;
pub mod protocol;
mod server;
pub use server::ServerHandle;
