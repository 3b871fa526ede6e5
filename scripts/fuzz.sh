#!/usr/bin/env bash
# Coverage-guided fuzzing of the src/fuzz.rs entry points with libFuzzer
# (cargo-fuzz). The fuzz crate is generated under target/, so the project
# keeps no fuzz/ folder of its own.
#
#   scripts/fuzz.sh                 # every target, 600 s each
#   scripts/fuzz.sh chunk_decoder 60
#
# Needs cargo-fuzz (cargo install cargo-fuzz) and a nightly toolchain, or
# the stable one with RUSTC_BOOTSTRAP=1. A crash leaves its input under
# target/fuzz/artifacts/<target>/; copy it to tests/data/fuzz-<target>-*.bin
# so tests/fuzz_smoke.rs replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(handshake chunk_decoder amf session session_messages ts_demux srt_packet srt_key_material)
[ $# -ge 1 ] && targets=("$1")
seconds="${2:-600}"

dir=target/fuzz
mkdir -p "$dir/fuzz_targets"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "rustic_rtmp-fuzz"
version = "0.0.0"
publish = false
edition = "2021"

[package.metadata]
cargo-fuzz = true

[dependencies]
libfuzzer-sys = "0.4"
rustic_rtmp = { path = "../.." }

[workspace]
members = ["."]
TOML
for t in handshake chunk_decoder amf session session_messages ts_demux srt_packet srt_key_material; do
  cat > "$dir/fuzz_targets/$t.rs" <<RS
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rustic_rtmp::fuzz::$t(data));
RS
  cat >> "$dir/Cargo.toml" <<TOML

[[bin]]
name = "$t"
path = "fuzz_targets/$t.rs"
test = false
doc = false
bench = false
TOML
done

toolchain=()
if rustup toolchain list 2>/dev/null | grep -q nightly; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi

for t in "${targets[@]}"; do
  corpus="$dir/corpus/$t"
  mkdir -p "$corpus"
  cp tests/data/*.bin "$corpus/" 2>/dev/null || true
  echo "fuzzing $t for ${seconds}s"
  cargo "${toolchain[@]}" fuzz run --fuzz-dir "$dir" "$t" "$corpus" -- -max_total_time="$seconds" -rss_limit_mb=2048
done
