//! An error as the command prints it: its text, then each cause's.

use log::error;

/// Logs an error with each of its causes.
pub(crate) fn report(e: &dyn std::error::Error) {
    error!("{}", with_causes(e));
}

/// An error's text followed by each of its causes'.
pub(crate) fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
