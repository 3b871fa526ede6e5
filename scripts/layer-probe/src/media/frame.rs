// A child using what its parent re-exports, and a diamond (frame -> codec
// and frame -> tag -> codec): neither is a circle.
use super::Header;
use super::codec::Codec;
use super::tag::Tag;
pub struct Frame(Header, Codec, Tag);
