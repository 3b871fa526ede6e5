#!/usr/bin/env bash
# Churn soak: does the server's memory stay flat while players come and go
# and the stream is republished? For each server in SERVERS (default
# rustic_rtmp; add nginx-rtmp to compare, run one after the other):
# - a 3 Mbit/s stream published in real time by ffmpeg, restarted every
#   90 s (a republish on the same name);
# - every 20 s a wave of 200 players (target/release/rtmp-load, its own
#   process) joins and stays 60 s: 600 players at once in the steady state;
# - for SOAK_MINUTES (default 30), then the waves run out.
#
# RSS is read just before each wave joins (the end of the previous full
# wave). It prints RSS before the first player came, the trend of those
# readings from the first full 600 on (least squares, MB per 10 minutes),
# and RSS 10 s after the last player left. A server that keeps what
# players leave behind shows as a rising trend and an end well above the
# start. RSS is VmRSS from /proc/PID/status. How much the trend varies
# between runs of one build has not been measured: run each build twice
# before reading a small trend as a leak. The last 30-minute run's
# figures (+0.23 MB per 10 minutes, 0.3 MB above the start at the end)
# and the glibc settings they led to are in the crate docs
# (`cargo doc --open`, manual::measured and manual::architecture).
#
#   scripts/soak.sh                                   # 30 minutes
#   SOAK_MINUTES=12 SERVERS="rustic_rtmp nginx-rtmp" scripts/soak.sh
#
# Loopback only; bounded in time and players. Not part of scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=${SOAK_MINUTES:-30}
merge_ms=100
out=target/soak
mkdir -p "$out"
# shellcheck source=scripts/servers.sh
. scripts/servers.sh
sample="$out/sample-3mbps.flv"
kbps=$(kbps_of "$sample")

publish() { # port -> echoes the publisher's pid
  ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$sample" -c copy -f flv \
    "rtmp://127.0.0.1:$1/live/soak" >>"$out/publisher.log" 2>&1 &
  echo $!
}

for server in ${SERVERS:-rustic_rtmp}; do
  port=$(free_port)
  spid=$(start_server "$server" "$port"); pids+=("$spid")
  wait_port "$port"
  fpid=$(publish "$port"); pids+=("$fpid")
  sleep 5
  before=$(rss_kb "$spid")
  readings="$out/rss-$server.txt"
  : >"$readings"
  : >"$out/waves-$server.txt"
  waves=()
  start=$SECONDS
  next_republish=90
  while (( SECONDS - start < minutes * 60 )); do
    t=$(( SECONDS - start ))
    echo "$t $(rss_kb "$spid")" >>"$readings"
    if (( t >= next_republish )); then
      kill "$fpid" 2>/dev/null || true
      wait "$fpid" 2>/dev/null || true
      fpid=$(publish "$port"); pids+=("$fpid")
      next_republish=$(( next_republish + 90 ))
    fi
    timeout 120 target/release/rtmp-load --url "rtmp://127.0.0.1:$port/live/soak" --players 200 \
      --seconds 60 --probes 0 --ramp-per-sec 400 --published-kbps "$kbps" >>"$out/waves-$server.txt" 2>&1 &
    waves+=($!)
    sleep $(( 20 - (SECONDS - start - t) % 20 ))
  done
  for w in "${waves[@]}"; do wait "$w" || true; done
  sleep 10
  after=$(rss_kb "$spid")
  kill "$fpid" "$spid" 2>/dev/null || true
  wait "$fpid" "$spid" 2>/dev/null || true
  # From the fourth reading on, three full waves (600 players) are in.
  trend=$(awk 'NR > 3 { n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
    END { if (n > 1) printf "%.2f", (n * sxy - sx * sy) / (n * sxx - sx * sx) * 600 / 1024; else print "nan" }' "$readings")
  first=$(awk 'NR == 4 {printf "%.1f", $2 / 1024}' "$readings")
  last=$(awk 'END {printf "%.1f", $2 / 1024}' "$readings")
  full=$(grep -c "established=200 " "$out/waves-$server.txt" || true)
  echo "$server: ${minutes} min, $(wc -l <"$readings") waves ($full fully established);" \
    "RSS before players $(awk -v k="$before" 'BEGIN {printf "%.1f", k / 1024}') MB," \
    "first full wave $first MB, last $last MB, trend $trend MB per 10 min," \
    "10 s after the last player $(awk -v k="$after" 'BEGIN {printf "%.1f", k / 1024}') MB" \
    "($(awk -v a="$after" -v b="$before" 'BEGIN {printf "%+.1f", (a - b) / 1024}') MB)" | tee -a "$out/results.txt"
done
