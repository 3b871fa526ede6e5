// A room naming its own wing's mod.rs is fine: only server/mod.rs is the
// composer.
use crate::server::rtmp::Rtmp;
pub struct Conn(Rtmp);
