//! What the benchmarks and the tests measured, and what the numbers say.
//!
//! # Benchmarks
//!
//! How to run them and what each case measures is in the headers of
//! `scripts/bench.sh`, `scripts/soak.sh` and `scripts/cluster.sh`; the
//! README has the latest table. What the runs taught, beside the choices
//! told in [`super::architecture`]:
//!
//! - **The kernel's send path is the cost.** rustic_rtmp spends about 90%
//!   of its time in the kernel (89% in the TCP send path and the copies
//!   into socket buffers, 9% in its own code, at 1000 players). The load
//!   tool costs about what the server does (1.0-1.25 times its CPU; 0.6-0.77
//!   times nginx-rtmp's): on loopback, receiving costs the kernel about what
//!   sending does, and the kernel charges each reader for the ACK its read
//!   sends and, with Nagle, for sending the data that ACK releases (with
//!   `--nodelay` the same load costs 0.6 times the server's CPU).
//! - **First keyframe** comes from the GOP cache as soon as `play` is
//!   answered; nginx-rtmp makes a player wait for the next keyframe, and its
//!   replies to `connect`/`play` wait on the client's delayed ACK (Nagle on
//!   its command replies), about 90 ms a player with our client.
//! - **Latency**: rustic_rtmp writes to players in the order they joined,
//!   nginx-rtmp newest first, so the bench times one player joined first
//!   and one joined last. With the sharded write-through the worse p99 at
//!   2000 players was 23.4 ms against nginx-rtmp's 407 in the same run
//!   (59.6 the day before); at 10 000 players on 600 kbit/s, 246 ms: two
//!   cores write 10 000 sockets per frame.
//! - **10 000 players at 600 kbit/s** all keep up on two cores: every
//!   player got every published message, at 1.15 CPU s per GB, 10 007
//!   threads and 10 011 descriptors. nginx-rtmp's one worker stopped
//!   answering new players at about 3 170, its core saturated: 4.18 CPU s
//!   per GB for those, 0.82 of the published messages, 7-10 s behind, and
//!   its window stretched to about 55 s because each first-keyframe probe
//!   waited out the client's 10 s timeout.
//! - **Throughput 1** (one player reading every 1 ms from a publisher
//!   without `-re`) is bimodal on the development machine: in five 5-second
//!   runs the same build cost 1.97 to 3.54 CPU s over the window (about 1.7
//!   or 3.1 CPU s per GB); the two-thread build drew 1.89 and 1.96 in two.
//!   The slow mode shows 13% `memmove`, 5% `_int_malloc` and no wake-up
//!   signals. Ten such players cost 0.50 CPU s per GB, against nginx-rtmp's
//!   1.22.
//! - **HTTP-FLV** costs about what RTMP play does per byte (0.53-0.61 CPU s
//!   per GB against 0.49-0.61 in the same runs, 2026-11-26), and 16.3-16.6
//!   KiB RSS per HTTP player at 1000: it has no RTMP session or chunk
//!   decoder.
//! - **RTMPS** cost 3.10 CPU s per GB against 0.43 over RTMP (7.2 times),
//!   nothing lost, 73.6 KiB RSS and 411 threads for 200 players (a pump
//!   thread each, rustls's buffers) against 24.9 KiB and 208 threads
//!   (2026-11-26). Encryption itself is the smaller part: most of it is the
//!   pump's extra copy and the second socket each way; a TLS state shared
//!   under a lock would save that and cost the write-through.
//! - **HLS**, 1000 viewers of 3 Mbit/s with no cache in front, 10 s each,
//!   all served the whole stream (2026-11-26):
//!
//!   | 1000 viewers | server CPU s | CPU s per GB | CPU ms per viewer-second | requests per viewer-second |
//!   |---|---|---|---|---|
//!   | HTTP-FLV | 1.64 | 0.43 | 0.16 | – |
//!   | plain HLS (1 s fMP4 segments) | 1.35 | 0.35 | 0.14 | 3 |
//!   | LL-HLS (200 ms parts, blocking reloads) | 4.14 | 1.05 | 0.41 | 10 |
//!
//!   At 200: 0.32, 0.29 and 0.78 CPU s; before playlists stopped
//!   formatting durations through floats, 1.67, 1.18 and 5.02 at 1000, and
//!   before the answers wrote the parts without copying them, plain HLS
//!   cost 1.70 CPU s at 200 viewers, 5.5 times HTTP-FLV. A plain HLS viewer
//!   costs less than an HTTP-FLV player: one request and one `writev` of
//!   the shared parts a second instead of a write a frame. An LL-HLS viewer
//!   costs about two and a half times one, nearly all of it the ten
//!   requests a second (a held reload, then a part, five times a second:
//!   syscalls, wake-ups of every held request when a part completes, the
//!   playlist rendered per request), which is why LL-HLS to many viewers
//!   belongs behind a cache, where the server sees about one request per
//!   part: with nginx's `proxy_cache` in front, 200 viewers reloading every
//!   500 ms for 5 s made 2800 requests to nginx and 9 reached rustic_rtmp
//!   (`tests/hls.rs`, 2026-11-26).
//! - **Churn** (`scripts/soak.sh`, 30 minutes, 90 waves all fully
//!   established): RSS at the end of each wave trends +0.23 MB per 10
//!   minutes (14.9 MB after the first full wave, 16.4 MB after the last),
//!   and 10 s after the last player left it is 4.1 MB, 0.3 MB above where
//!   it was before the first came. With glibc's defaults (tcache off only)
//!   the same run trended +0.50 MB per 10 minutes and ended 9.3 MB above.
//! - **Scale-out** (`scripts/cluster.sh`, 2026-11-26, a 612 kbit/s stream,
//!   100 players on each process, 10 s, 2 cores shared by all): a hop adds
//!   well under a millisecond of latency on loopback, and an edge costs
//!   about what an origin does for the same players.
//!
//!   | process | players established | CPU s | latency p50 ms | latency p99 ms |
//!   |---|---|---|---|---|
//!   | rustic_rtmp origin | 100 | 0.20 | 1.08 | 2.60 |
//!   | rustic_rtmp edge 1 (one hop) | 100 | 0.25 | 1.02 | 2.47 |
//!   | rustic_rtmp edge 2 (one hop) | 100 | 0.22 | 1.47 | 3.10 |
//!   | rustic_rtmp edge of edge 1 (two hops) | 100 | 0.25 | 1.39 | 3.26 |
//!   | nginx-rtmp origin | 100 | 0.25 | 0.36 | 2.11 |
//!   | rustic_rtmp edge of nginx-rtmp | 100 | 0.23 | 1.13 | 2.95 |
//!   | rustic_rtmp origin | 100 | 0.15 | 0.43 | 1.62 |
//!   | nginx-rtmp edge of rustic_rtmp (pull) | 100 | 0.19 | 0.67 | 1.96 |
//!
//! - **SRT** (`scripts/bench.sh`, `SRT_READERS=200`, `PLAYERS=200`, the
//!   other cases off, 2026-12-07, the 3 Mbit/s stream, 2 cores): SRT costs
//!   more per byte than RTMP both ways, about what a datagram, a thread
//!   wake-up and an ACK every 10 ms per connection cost against one
//!   `writev` of shared chunks. Making it as cheap is issue 27's work
//!   (batching datagrams with `sendmmsg`, no copy per packet, one wake per
//!   batch).
//!
//!   | case | CPU s per GB | memory per connection |
//!   |---|---|---|
//!   | RTMP ingest, 5 streams for 30 s | 2.95 to 4.51 | – |
//!   | SRT ingest, the same stream as MPEG-TS | 9.86 to 11.67 | – |
//!   | RTMP play, 200 players | 0.32 | 25.5 KiB (RSS growth, cold) |
//!   | SRT read, 200 srt-live-transmit | 7.67 to 7.77 | 154 to 263 KiB (VmHWM growth, cold) |
//!
//! # Tests
//!
//! `scripts/test.sh` is what CI runs (`.ci/run`). Unit tests hold
//! byte-exact vectors for the handshake, every chunk header format,
//! extended timestamps, 2- and 3-byte chunk stream ids, chunk-size changes
//! in the middle of a message and every AMF0 marker both ways; every
//! decoder vector is also fed split at every byte and one byte at a time.
//! Session scenarios live in `src/session/tests/`. Captured client bytes
//! (ffmpeg and GStreamer, provenance in `tests/data/README.md`) are decoded
//! whole, byte by byte and split at every point. Integration tests start
//! the server on 127.0.0.1 port 0 and drive it with the real clients of
//! the README's "Works with" table; attacks run against the real binary as
//! a child process (`tests/common/binary.rs`) beside a canary stream whose
//! numbered frames must all arrive. Each file under `tests/` says in its
//! first lines what it proves. Fuzzing: the entry points in `src/fuzz.rs`
//! run in `cargo test` over the vectors and 2000 deterministic mutants each
//! (`tests/fuzz_smoke.rs`); `scripts/fuzz.sh [target] [seconds]` runs
//! libFuzzer (cargo-fuzz) on them, and crashing inputs are kept in
//! `tests/data/fuzz-*.bin`.
//!
//! What `tests/hardening.rs` and `tests/memory.rs` measured on the release
//! binary (`cargo test --release --test hardening --test memory --
//! --nocapture`), as growth of peak resident memory (`VmHWM`):
//!
//! | attack | growth |
//! |---|---|
//! | 50 connections before login, each offering 8 MiB of unfinished 64 KiB messages | 2.8 MiB |
//! | an aggregate nesting aggregates 10 000 deep | 0.3 MiB |
//! | a 16 MiB aggregate of empty parts | 16.2 MiB |
//! | 512 tracks of 1 MiB headers, then 32 of 4 MiB (both publishers closed) | 72 MiB |
//! | 60 frames of 8 MiB to a player that never reads | 84 MiB |
//! | 40 publishers each starting 16 MiB messages on 8 chunk streams | 392 MiB |
//! | AMF3 metadata of references and repeated strings | 1.2 MiB |
//!
//! For HTTP, 100 clients sending a 100 KB head or stopping 16 000 bytes
//! into one get 431 and 408 and raise the peak by about 2 MiB in all. A
//! thousand LL-HLS reloads held from one address: 968 turned away at once,
//! 32 held and let go, and the server's thread count back where it was
//! within 5 s. A publisher whose keyframes stop (a keyframe, then 300 inter
//! frames of 1 MiB, muxed for `--hls-dir` with `--hls-max-mb 16`): the peak
//! grows by 72 MiB (the GOP cache is most of it) where an HLS segment grown
//! without end made it 478 MiB.
//!
//! In a real browser (`tests/hls_browser.rs`, headless Chromium), the delay
//! behind the newest frame the server has (its API's `last_timestamp_ms`
//! against the video's `currentTime`, the median of 8 readings):
//!
//! - hls.js, 1 s segments and 200 ms parts: 0.81-0.83 s with LL-HLS,
//!   1.57-3.10 s without, 3.09 s for MPEG-TS (2026-11-26). The page lets
//!   hls.js speed up to 1.5x to catch up (`maxLiveSyncPlaybackRate`), as a
//!   live player should; its default stays behind after a stall (2.85 s
//!   once on a loaded machine).
//! - The server's own page, through MSE on the `.mp4`: 0.20-0.24 s
//!   (2026-12-07).
//! - Chromium's own HLS player (the page's fallback without MSE) gives up
//!   (`DEMUXER_ERROR_COULD_NOT_PARSE`) on a live playlist it has played out
//!   before its next reload brings more, which the first playlist of a
//!   just-started muxer (one segment) made it do; so a new muxer's first
//!   playlists wait for 3 segments, or 3 segment targets of running, as
//!   players start 3 target durations from the end anyway (RFC 8216
//!   §6.3.3).
