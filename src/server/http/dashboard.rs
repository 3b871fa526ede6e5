//! The dashboard page, and the live player script it shares with each
//! stream's own page (`player.js`: MSE fed from a stream's `.mp4`, kept
//! near its newest frame; spliced into the stream page by `hls.rs`).
//!
//! In scope: holding the script once and inlining it, so neither page
//! fetches anything but media and the API. Out of scope: the pages'
//! own logic (in `dashboard.html` and `hls.rs`).

use std::sync::OnceLock;

/// The shared player: `livePlayerPlays(type)` and `livePlayer(video, url,
/// type, on) -> { stop(), appended }`.
pub(crate) const SCRIPT: &str = include_str!("player.js");

/// Where `dashboard.html` wants the script.
const SLOT: &str = "/* player.js */";

/// The dashboard page, the player spliced in: built once.
pub(crate) fn page() -> &'static str {
    static PAGE: OnceLock<String> = OnceLock::new();
    PAGE.get_or_init(|| include_str!("dashboard.html").replacen(SLOT, SCRIPT, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_holds_the_script_once_where_its_slot_was() {
        let page = page();
        assert_eq!(page.matches("function livePlayer(").count(), 1);
        assert!(!page.contains(SLOT));
        assert!(page.find("function livePlayer(") < page.find("function openPreview("));
    }

    #[test]
    fn the_script_cannot_end_the_script_element_it_is_inlined_in() {
        let lower = SCRIPT.to_ascii_lowercase();
        assert!(
            !lower.contains("</script") && !lower.contains("<!--"),
            "HTML parsing would cut it"
        );
    }
}
