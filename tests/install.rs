//! The README's Install section holds: its systemd unit, with this
//! build's binary in place of `/usr/local/bin/rustic_rtmp`, passes
//! `systemd-analyze verify` with nothing to say (an unknown key or a
//! binary that is not there fails it), and keeps what the section
//! promises (its own user, ports below 1024, restart on failure, SIGHUP
//! reload, SIGTERM stop); the container recipe builds with the Rust image
//! and runs on Debian's slim one as a user that is not root.

mod common;

use std::process::Command;

use common::binary::program;
use common::*;

/// The README, as this checkout has it.
fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The body of the fenced block after `marker`, up to its closing fence.
fn fenced_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let after = &text[text.find(marker).unwrap_or_else(|| panic!("{marker:?} in the README"))..];
    let open = after.find("```").expect("a fence after the marker");
    let body = &after[open..];
    let body = &body[body.find('\n').unwrap() + 1..];
    &body[..body.find("\n```").expect("a closing fence")]
}

/// The unit between the README's markers.
fn unit_in(readme: &str) -> String {
    let start = "<!-- rustic_rtmp.service";
    let end = "<!-- end rustic_rtmp.service -->";
    let unit = fenced_after(readme, start);
    let between = &readme[readme.find(start).unwrap()..readme.find(end).expect("the end marker")];
    assert!(between.contains(unit), "the unit is the block between the markers");
    format!("{unit}\n")
}

/// `systemd-analyze verify` on `unit`, saved as rustic_rtmp.service:
/// whether it passed, and what it said.
fn verify(unit: &str, scratch: &Scratch) -> (bool, String) {
    let path = scratch.path("rustic_rtmp.service");
    std::fs::write(&path, unit).unwrap();
    let mut cmd = Command::new("systemd-analyze");
    cmd.args(["verify", "--man=no"]).arg(&path);
    let out = cmd
        .output()
        .expect("systemd-analyze (Debian package systemd; scripts/test.sh installs it)");
    let said = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

#[test]
fn the_readme_s_systemd_unit_passes_systemd_analyze_verify() {
    let scratch = Scratch::new("install");
    let unit = unit_in(&readme());
    let installed = "ExecStart=/usr/local/bin/rustic_rtmp ";
    assert!(unit.contains(installed), "{unit}");
    let here = unit.replace(installed, &format!("ExecStart={} ", program()));
    let (passed, said) = verify(&here, &scratch);
    assert!(
        passed && said.trim().is_empty(),
        "systemd-analyze verify: {said}\n{here}"
    );
    for line in [
        "User=rustic_rtmp",
        "AmbientCapabilities=CAP_NET_BIND_SERVICE",
        "Restart=on-failure",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line} in the unit:\n{unit}");
    }
    // The check bites: a misspelt key and a missing binary are reported.
    let (_, said) = verify(&here.replace("Restart=", "Restrat="), &scratch);
    assert!(said.contains("Restrat"), "an unknown key: {said:?}");
    let (passed, said) = verify(&here.replace(&program(), "/nonexistent/rustic_rtmp"), &scratch);
    assert!(
        !passed && said.contains("/nonexistent/rustic_rtmp"),
        "a missing binary: {said:?}"
    );
}

#[test]
fn the_readme_s_container_recipe_builds_with_rust_and_runs_as_a_user() {
    let readme = readme();
    let dockerfile = fenced_after(&readme, "```Dockerfile");
    let from: Vec<&str> = dockerfile.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(from.len(), 2, "{dockerfile}");
    assert!(from[0].starts_with("FROM rust:"), "{dockerfile}");
    assert_eq!(from[1], "FROM debian:stable-slim", "{dockerfile}");
    assert!(dockerfile.contains("cargo install --locked --path ."), "{dockerfile}");
    let user = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER");
    assert!(!["root", "0"].contains(&user.trim()), "{dockerfile}");
    assert!(readme.contains("cargo install --path ."));
    // The repository's top level stays as it is: the recipe is in the README.
    let top = concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile");
    assert!(!std::path::Path::new(top).exists(), "no Dockerfile at the top level");
}
