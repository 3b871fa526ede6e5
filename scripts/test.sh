#!/usr/bin/env bash
# Runs every test: formatting, lints, the layer check, unit and integration
# tests. Integration tests drive real clients, so this installs them with
# apt-get when they are missing (a test never skips for a missing client).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(ffmpeg rtmpdump gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad nginx libnginx-mod-rtmp
  chromium # the dashboard's browser test
  systemd  # systemd-analyze, which checks the README's unit
  srt-tools # srt-live-transmit, the SRT listener behind the lossy relay
  openssl) # RTMPS tests: self-signed certificates, s_client
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The HLS browser test installs hls.js from npm at test time (never kept
# in the repository): npm from any source will do.
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing test clients: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

cargo fmt --check
cargo clippy --all-targets -- -D warnings
# The bench's tools build only with the tools feature: lint them too.
cargo clippy --all-targets --features tools -- -D warnings
scripts/check-layers.sh --self-test
scripts/check-layers.sh
cargo test
