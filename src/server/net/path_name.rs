//! Stream names as file and directory names (recordings, `--hls-dir`):
//! a mapping that is one-to-one, so that two streams never share a file
//! or a directory, and that no name can leave the directory it is put in.
//!
//! Letters, digits, `-` and `_` stay as they are; every other byte is
//! `%XX`, and so is a `.` that starts the name (no `.`, `..` or hidden
//! file). Cutting unsafe characters to `_`, as before, mapped `cam,1` and
//! `cam_1` to one directory, and the second publisher overwrote the
//! first's HLS. A name whose encoding would pass `MAX_LEN` bytes keeps its
//! first part and ends in `~` and a hash of the whole name (`~` is never
//! kept as itself, so nothing else ends that way). Pure.

use sha2::{Digest, Sha256};

/// Bytes of an encoded name at most: file systems take 255, and a
/// recording adds a time stamp, an extension and `.part`.
const MAX_LEN: usize = 160;

/// `part` (an application's segment or a stream name) as one component
/// of a path.
pub(crate) fn encode(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for (i, b) in part.bytes().enumerate() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' => out.push(b as char),
            b'.' if i > 0 => out.push('.'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    if out.is_empty() {
        // No encoding of a non-empty name is a lone `%`.
        return "%".into();
    }
    if out.len() <= MAX_LEN {
        return out;
    }
    let hash = Sha256::digest(part.as_bytes());
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    // Cut before an escape rather than through one.
    let mut cut = MAX_LEN - 1 - hex.len();
    while out.as_bytes()[..cut].iter().rev().take(2).any(|&b| b == b'%') {
        cut -= 1;
    }
    format!("{}~{hex}", &out[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_cutting_merged_stay_apart() {
        let names = [
            "cam,1", "cam_1", "cam 1", "cam%2C1", "cam.1", "cam/1", "", "_", "%", ".", "..",
        ];
        let encoded: Vec<String> = names.iter().map(|n| encode(n)).collect();
        let mut unique = encoded.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{encoded:?}");
        assert_eq!(encode("cam,1"), "cam%2C1");
        assert_eq!(encode("cam_1"), "cam_1");
        assert_eq!(encode("cam%2C1"), "cam%252C1");
        assert_eq!(encode("my.cam-2"), "my.cam-2");
        assert_eq!(encode("é"), "%C3%A9");
    }

    #[test]
    fn no_name_leaves_its_directory_or_hides() {
        for name in ["..", ".", ".hidden", "../../etc/passwd", "a/../b", "a\\b", "\0"] {
            let e = encode(name);
            assert!(
                !e.contains('/') && !e.contains('\\') && !e.starts_with('.'),
                "{name:?} -> {e}"
            );
            assert!(e != "." && e != ".." && !e.is_empty(), "{name:?} -> {e}");
        }
    }

    #[test]
    fn long_names_end_in_a_hash_of_the_whole() {
        let long = "x".repeat(400);
        let other = format!("{}y", "x".repeat(399));
        let (a, b) = (encode(&long), encode(&other));
        assert!(a.len() <= MAX_LEN && b.len() <= MAX_LEN, "{} {}", a.len(), b.len());
        assert_ne!(a, b, "same start, different names");
        assert!(a.contains('~'));
        // Cut between escapes, never through one.
        let wide = encode(&"é".repeat(200));
        let body = wide.split('~').next().unwrap();
        assert!(
            body.len().is_multiple_of(3) && body.bytes().step_by(3).all(|b| b == b'%'),
            "{wide}"
        );
    }
}
