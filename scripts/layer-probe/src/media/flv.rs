// flv.rs -> tag.rs inline, through `super::`.
pub struct Header;
pub const HEADER_LEN: usize = 9;
pub fn parse() {
    let _ = super::tag::Tag::new();
}
