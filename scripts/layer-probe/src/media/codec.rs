// A circle of three written inline and through a nested, aliased group:
// codec.rs -> flv.rs -> tag.rs -> codec.rs.
pub struct Codec;
pub fn header_len() -> usize {
    crate::media::flv::HEADER_LEN // must fail: an inline path closes codec.rs -> flv.rs -> tag.rs -> codec.rs
}
