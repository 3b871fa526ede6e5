//! `Escaped`: a peer's text made safe to put in a log line.
//!
//! App names, stream names, command names and class names come from the
//! peer. Written into a log as they are, a megabyte-long name fills the
//! disk and a newline in one forges a log line. `Escaped` shows at most
//! [`MAX_CHARS`] characters, escapes control characters, quotes and
//! backslashes (`\n`, `\u{1b}`), and says how long the rest was.

use std::fmt;

/// Characters of a peer's text shown in a log line.
pub const MAX_CHARS: usize = 64;

/// Displays a peer's text cut to [`MAX_CHARS`] characters and escaped.
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.char_indices();
        for (_, c) in chars.by_ref().take(MAX_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        if let Some((cut, _)) = chars.next() {
            write!(f, "...({} more bytes)", self.0.len() - cut)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_shows_as_it_is() {
        assert_eq!(Escaped("live/cam-1").to_string(), "live/cam-1");
    }

    #[test]
    fn control_characters_cannot_forge_a_line() {
        let shown = Escaped("live\n[INFO] conn#1 forged\u{1b}[31m").to_string();
        assert!(!shown.contains('\n') && !shown.contains('\u{1b}'), "{shown}");
        assert_eq!(shown, "live\\n[INFO] conn#1 forged\\u{1b}[31m");
    }

    #[test]
    fn long_text_is_cut_and_says_how_much_is_left() {
        let long = "é".repeat(1000);
        let shown = Escaped(&long).to_string();
        assert_eq!(shown, format!("{}...(1872 more bytes)", "é".repeat(MAX_CHARS)));
    }
}
