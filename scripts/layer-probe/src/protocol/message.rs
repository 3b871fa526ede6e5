// The other half of the circle: reported at command.rs, not again here.
use super::command::CommandError;
pub struct MessageError(CommandError);
pub struct Message;
