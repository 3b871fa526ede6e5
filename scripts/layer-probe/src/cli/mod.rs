// The binary's own modules: `crate::` here is main.rs, so the library's
// import rules do not apply.
mod long;
use crate::server::Wings;
