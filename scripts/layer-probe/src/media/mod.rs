// media/ composes its files: naming its own children (`mod`, `pub use`)
// imports nothing, so frame.rs using `super::Header` closes no circle.
pub mod codec;
pub mod flv;
pub mod frame;
mod long_tests;
pub mod tag;
pub use flv::Header;
pub use self::frame::Frame;
