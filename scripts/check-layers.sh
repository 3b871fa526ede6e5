#!/usr/bin/env bash
# Fails when the pure layers (protocol, media, session) reach for I/O,
# threads, clocks, channels, locks or the CLI crates: see DESIGN.md.
set -euo pipefail
cd "$(dirname "$0")/.."

forbidden='std::net|std::thread|Instant::now|SystemTime|crossbeam|parking_lot|env_logger|argh|std::fs|std::env'
if hits=$(grep -rnE "$forbidden" src/protocol src/media src/session); then
  echo "layer check failed: pure layers must not use I/O, threads, clocks or locks:" >&2
  echo "$hits" >&2
  exit 1
fi
# Lower layers never import upper ones.
if hits=$(grep -rnE 'crate::(media|session|server)' src/protocol; grep -rnE 'crate::(session|server)' src/media; grep -rnE 'crate::server' src/session); then
  echo "layer check failed: an import points up the layers:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "layers ok"
