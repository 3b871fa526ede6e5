// stream/ composes its rooms.
pub mod live;
pub mod registry;
pub use registry::Registry;
