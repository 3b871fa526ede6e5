//! Command messages (RTMP 1.0 §7.2): NetConnection and NetStream calls and
//! the replies a server sends.
//!
//! A command body is AMF values: name, transaction id, command object, then
//! arguments. Replies to a call reuse its transaction id; `onStatus` uses 0.

use std::fmt;

use super::amf0::{self, Amf0Value};

/// `onStatus` codes and levels (NetConnection / NetStream info objects).
pub mod status {
    /// Level of a successful status.
    pub const LEVEL_STATUS: &str = "status";
    /// Level of a failed status: ffmpeg and librtmp give up on it.
    pub const LEVEL_ERROR: &str = "error";
    /// `connect` refused (authentication needed or failed).
    pub const CONNECT_REJECTED: &str = "NetConnection.Connect.Rejected";
    /// `connect` succeeded.
    pub const CONNECT_SUCCESS: &str = "NetConnection.Connect.Success";
    /// `publish` succeeded.
    pub const PUBLISH_START: &str = "NetStream.Publish.Start";
    /// `publish` refused: the name is taken or empty. OBS knows this code.
    pub const PUBLISH_BAD_NAME: &str = "NetStream.Publish.BadName";
    /// The publisher stopped.
    pub const UNPUBLISH_SUCCESS: &str = "NetStream.Unpublish.Success";
    /// `play` reset the playlist.
    pub const PLAY_RESET: &str = "NetStream.Play.Reset";
    /// `play` started.
    pub const PLAY_START: &str = "NetStream.Play.Start";
    /// `publish` refused: not allowed (wrong key, address not allowed).
    pub const PUBLISH_DENIED: &str = "NetStream.Publish.Denied";
    /// `play` refused: not allowed.
    pub const PLAY_FAILED: &str = "NetStream.Play.Failed";
    /// `play` refused: no such stream name.
    pub const PLAY_STREAM_NOT_FOUND: &str = "NetStream.Play.StreamNotFound";
}

/// One command: `[name, transaction_id, object, args...]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    /// The procedure name, e.g. `connect`, `_result`, `onStatus`.
    pub name: String,
    /// Matches replies to calls; 0 when no reply is expected.
    pub transaction_id: f64,
    /// The command object (`connect` properties), usually null otherwise.
    pub object: Amf0Value,
    /// Arguments after the command object.
    pub args: Vec<Amf0Value>,
}

/// Why AMF values are not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// There are no values at all.
    Empty,
    /// The first value, the command's name, is not a string.
    NameNotString {
        /// What it is instead ("a number"): only the kind, since a peer's
        /// value can be megabytes long.
        kind: &'static str,
    },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Empty => write!(f, "is empty"),
            CommandError::NameNotString { kind } => write!(f, "name is {kind}, not a string"),
        }
    }
}

impl std::error::Error for CommandError {}

impl Command {
    /// A command with the given parts.
    pub fn new(name: &str, transaction_id: f64, object: Amf0Value, args: Vec<Amf0Value>) -> Command {
        Command {
            name: name.to_owned(),
            transaction_id,
            object,
            args,
        }
    }

    /// Reads a command from decoded AMF values.
    pub fn from_values(values: Vec<Amf0Value>) -> Result<Command, CommandError> {
        let mut values = values.into_iter();
        let name = match values.next() {
            Some(Amf0Value::String(s) | Amf0Value::LongString(s)) => s,
            // Only the kind of value: a peer's value can be megabytes long.
            Some(other) => return Err(CommandError::NameNotString { kind: other.kind() }),
            None => return Err(CommandError::Empty),
        };
        // Interop: a missing or non-number transaction id is read as 0
        // (a notification) rather than refusing the call.
        let transaction_id = values.next().and_then(|v| v.as_number()).unwrap_or(0.0);
        let object = values.next().unwrap_or(Amf0Value::Null);
        Ok(Command {
            name,
            transaction_id,
            object,
            args: values.collect(),
        })
    }

    /// Appends the AMF0 body.
    pub fn encode(&self, out: &mut Vec<u8>) {
        amf0::encode(&Amf0Value::String(self.name.clone()), out);
        amf0::encode(&Amf0Value::Number(self.transaction_id), out);
        amf0::encode(&self.object, out);
        amf0::encode_all(&self.args, out);
    }

    /// `_result` for the call with `transaction_id`.
    pub fn result(transaction_id: f64, object: Amf0Value, args: Vec<Amf0Value>) -> Command {
        Command::new("_result", transaction_id, object, args)
    }

    /// `_error` for the call with `transaction_id`.
    pub fn error(transaction_id: f64, object: Amf0Value, args: Vec<Amf0Value>) -> Command {
        Command::new("_error", transaction_id, object, args)
    }

    /// `onStatus(0, null, {level, code, description})`.
    pub fn on_status(level: &str, code: &str, description: &str) -> Command {
        Command::new("onStatus", 0.0, Amf0Value::Null, vec![info(level, code, description)])
    }

    /// The first argument, as a string (stream name of publish and play).
    pub fn first_arg_str(&self) -> Option<&str> {
        self.args.first().and_then(Amf0Value::as_str)
    }
}

/// An info object `{level, code, description}`.
pub fn info(level: &str, code: &str, description: &str) -> Amf0Value {
    Amf0Value::object([
        ("level", Amf0Value::string(level)),
        ("code", Amf0Value::string(code)),
        ("description", Amf0Value::string(description)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_status_encodes_byte_exact() {
        let mut out = Vec::new();
        Command::on_status("status", "C", "D").encode(&mut out);
        let mut expected = vec![0x02, 0, 8];
        expected.extend_from_slice(b"onStatus");
        expected.extend_from_slice(&[0x00, 0, 0, 0, 0, 0, 0, 0, 0]); // tx 0
        expected.push(0x05); // null
        expected.push(0x03);
        expected.extend_from_slice(&[0, 5]);
        expected.extend_from_slice(b"level");
        expected.extend_from_slice(&[0x02, 0, 6]);
        expected.extend_from_slice(b"status");
        expected.extend_from_slice(&[0, 4]);
        expected.extend_from_slice(b"code");
        expected.extend_from_slice(&[0x02, 0, 1, b'C', 0, 11]);
        expected.extend_from_slice(b"description");
        expected.extend_from_slice(&[0x02, 0, 1, b'D', 0, 0, 0x09]);
        assert_eq!(out, expected);
    }

    #[test]
    fn from_values_is_lenient_about_missing_parts() {
        let cmd = Command::from_values(vec![Amf0Value::string("ping")]).unwrap();
        assert_eq!(cmd.transaction_id, 0.0);
        assert_eq!(cmd.object, Amf0Value::Null);
        assert_eq!(
            Command::from_values(vec![Amf0Value::Number(1.0)]),
            Err(CommandError::NameNotString { kind: "a number" })
        );
        assert_eq!(Command::from_values(vec![]), Err(CommandError::Empty));
    }
}
