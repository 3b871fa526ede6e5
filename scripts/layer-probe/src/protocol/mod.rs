// protocol/ composes its files.
pub mod command;
pub mod message;
mod probe;
