//! Annex B byte streams (H.264 and H.265 Annex B): NAL units behind
//! `00 00 01` start codes, as a transport stream carries video.

/// The NAL units of an Annex B byte stream, each without its start code
/// and trailing zero bytes; empty ones left out.
pub(super) struct AnnexB<'a> {
    pub(super) rest: &'a [u8],
}

impl<'a> Iterator for AnnexB<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // A loop, not recursion, past empty units.
        loop {
            let start = start_code(self.rest)?;
            let after = &self.rest[start + 3..];
            let end = start_code(after).unwrap_or(after.len());
            self.rest = &after[end..];
            let mut unit = &after[..end];
            while let [head @ .., 0] = unit {
                unit = head;
            }
            if !unit.is_empty() {
                return Some(unit);
            }
        }
    }
}

/// Where the next `00 00 01` starts.
fn start_code(b: &[u8]) -> Option<usize> {
    b.windows(3).position(|w| w == [0, 0, 1])
}
