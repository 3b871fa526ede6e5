// tag.rs -> codec.rs through a nested group and an alias used inline.
use crate::media::{codec::{self as c, Codec}};
pub struct Tag;
impl Tag {
    pub fn new() -> Self {
        let _ = c::header_len();
        Tag
    }
}
