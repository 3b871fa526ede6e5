use crate::Config; // must fail: a wing takes its section from crate::config
use crate::config::HlsSettings;

pub fn push() {}
