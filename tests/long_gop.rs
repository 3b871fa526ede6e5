//! A publisher whose keyframes come far apart (a 6 s GOP) is told so at
//! warn, once per publish, with the keyframe interval to set; one with a
//! 1 s GOP is not. The real binary, published by ffmpeg encoding with
//! libx264 at 25 fps.

mod common;

use common::binary::Binary;
use common::*;

/// Publishes 13 s of 25 fps video with a keyframe every `gop` frames
/// (and no others: scene cuts off) to `url`, as fast as ffmpeg encodes.
fn publish_with_gop(url: &str, gop: u32) {
    let gop = gop.to_string();
    let out = run(ffmpeg()
        .args([
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=160x120:rate=25",
            "-t",
            "13",
        ])
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"])
        .args(["-g", &gop, "-keyint_min", &gop, "-sc_threshold", "0"])
        .args(["-f", "flv", url]));
    assert!(out.status.success(), "ffmpeg: {}", stderr(&out));
}

#[test]
fn a_long_gop_is_told_once_per_publish_and_a_short_one_never() {
    let server = Binary::start(&[]);
    let told = || server.count_lines("keyframes ");
    // 1 s GOP: nothing to tell.
    publish_with_gop(&server.url("live/short"), 25);
    server.wait_for_lines("publish stop", 1);
    assert_eq!(told(), 0, "{:#?}", server.log_lines());
    // 6 s GOP: keyframes at 0, 6 and 12 s, two long intervals, one line.
    publish_with_gop(&server.url("live/secret-long"), 150);
    server.wait_for_lines("publish stop", 2);
    assert_eq!(told(), 1, "{:#?}", server.log_lines());
    let line = server.wait_for_log("keyframes ");
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("keyframes 6.0 s apart"), "{line}");
    assert!(line.contains("1-2 s"), "the advice: {line}");
    assert!(!line.contains("secret"), "the stream name may be a key: {line}");
    // Told again for the next publish: once per publish, not per server.
    publish_with_gop(&server.url("live/secret-again"), 150);
    server.wait_for_lines("publish stop", 3);
    assert_eq!(told(), 2, "{:#?}", server.log_lines());
}
