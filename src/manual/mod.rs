//! The manual: how rustic_rtmp works and why, beyond what one module's
//! documentation can say. Documentation only: these modules hold no code.
//!
//! - [`architecture`]: threads and sockets, the fan-out, admission and
//!   settings, players inside the process, the HTTP side, memory.
//! - [`behaviour`]: what clients see, in the detail the README leaves out:
//!   each URL's answers, the API's fields, the hooks' contract, relays,
//!   recording, and the RTMP rules.
//! - [`measured`]: what the benchmarks and the tests measured, and the
//!   choices the numbers made.
//!
//! The crate root has the layers and the table of where a change goes.

pub mod architecture;
pub mod behaviour;
pub mod measured;
