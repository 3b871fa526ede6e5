// A wing's mod.rs: its `super` is server/mod.rs.
pub mod events;
use super::ServerHandle; // must fail: super:: from a wing's top file
