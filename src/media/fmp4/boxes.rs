//! Writing ISO BMFF boxes (ISO 14496-12 §4.2): a box's size and type
//! around what its body writes, the full box's version and flags, and the
//! unity matrix `mvhd` and `tkhd` share.

/// Writes a box: its size, its type, then what `body` writes.
pub(super) fn put_box(out: &mut Vec<u8>, kind: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(kind);
    body(out);
    let size = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// Writes a full box: a box starting with version and flags.
pub(super) fn put_full_box(
    out: &mut Vec<u8>,
    kind: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    put_box(out, kind, |out| {
        out.push(version);
        out.extend_from_slice(&flags.to_be_bytes()[1..]);
        body(out);
    });
}

/// Writes the unity transformation matrix (ISO 14496-12 §8.2.2).
pub(super) fn put_matrix(out: &mut Vec<u8>) {
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        out.extend_from_slice(&v.to_be_bytes());
    }
}
