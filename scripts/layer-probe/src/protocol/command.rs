// One half of the circle issue 23 ends (command.rs <-> message.rs). A
// circle is reported once, at its first file's arrow into it.
use crate::protocol::message::MessageError; // must fail: closes command.rs -> message.rs -> command.rs
pub struct CommandError;
