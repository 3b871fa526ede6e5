#!/usr/bin/env bash
# Side-by-side benchmark: rustic_rtmp and nginx-rtmp (Debian's
# libnginx-mod-rtmp, one single-process worker) on the same machine, in
# the same run, with the same load: a 3 Mbit/s H.264+AAC stream published
# in real time by ffmpeg, N players opened by target/release/rtmp-load,
# which reads each socket every 100 ms.
#
#   scripts/bench.sh                  # N = 1 50 200 1000 2000, 10 s each
#   PLAYERS="50 200" SECONDS_EACH=5 scripts/bench.sh
#   RUSTIC_FLAGS="--merge-write-ms 50" scripts/bench.sh
#
# Loopback only; every run is bounded in players and seconds. Prints one
# table and writes it to target/bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."

players_list=${PLAYERS:-"1 50 200 1000 2000"}
seconds=${SECONDS_EACH:-10}
out=target/bench
mkdir -p "$out"
cargo build --release --quiet

sample="$out/sample-3mbps.flv"
if [ ! -f "$sample" ]; then
  ffmpeg -nostdin -loglevel error -y \
    -f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -c:v libx264 -preset ultrafast -b:v 2900k -maxrate 2900k -bufsize 2900k -g 30 -pix_fmt yuv420p \
    -c:a aac -b:a 128k -t 30 -f flv "$sample.partial"
  mv "$sample.partial" "$sample"
fi
kbps=$(( $(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 "$sample") / 1000 ))

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
ticks_per_sec=$(getconf CLK_TCK)

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_server() { # name port -> echoes pid
  case "$1" in
    rustic_rtmp)
      target/release/rustic_rtmp --bind 127.0.0.1 --port "$2" ${RUSTIC_FLAGS:-} >"$out/rustic.log" 2>&1 &
      echo $! ;;
    nginx-rtmp)
      mkdir -p "$out/nginx"
      cat >"$out/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
error_log stderr warn;
pid $PWD/$out/nginx/nginx.pid;
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
events { worker_connections 10000; }
rtmp { server { listen 127.0.0.1:$2; chunk_size 4096; application live { live on; } } }
CONF
      nginx -p "$PWD/$out/nginx" -e stderr -c "$PWD/$out/nginx.conf" >"$out/nginx.log" 2>&1 &
      echo $! ;;
  esac
}

rows=()
for server in rustic_rtmp nginx-rtmp; do
  port=$(free_port)
  spid=$(start_server "$server" "$port"); pids+=("$spid")
  for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
  ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$sample" -c copy -f flv \
    "rtmp://127.0.0.1:$port/live/bench" >"$out/publisher.log" 2>&1 &
  fpid=$!; pids+=("$fpid")
  sleep 3
  base_rss=$(rss_kb "$spid")
  for n in $players_list; do
    peak=$base_rss
    ( while kill -0 "$spid" 2>/dev/null; do rss_kb "$spid"; sleep 0.5; done ) >"$out/rss.txt" &
    sampler=$!
    t0=$(cpu_ticks "$spid")
    line=$(target/release/rtmp-load --url "rtmp://127.0.0.1:$port/live/bench" --players "$n" \
      --seconds "$seconds" --published-kbps "$kbps" --threads 2 || true)
    t1=$(cpu_ticks "$spid")
    kill "$sampler" 2>/dev/null || true
    peak=$(sort -n "$out/rss.txt" | tail -1)
    get() { echo "$line" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
    bytes=$(get total_bytes)
    row=$(awk -v s="$server" -v n="$n" -v est="$(get established)" -v mbs="$(get measured_mb_per_s)" \
      -v cpu="$(( t1 - t0 ))" -v hz="$ticks_per_sec" -v bytes="${bytes:-0}" -v peak="${peak:-0}" -v base="$base_rss" \
      -v share="$(get min_share)" -v ttff="$(get ttff_p50_ms)" 'BEGIN {
        gb = bytes / 1e9; cps = (gb > 0) ? (cpu / hz) / gb : 0;
        per = (n > 0) ? (peak - base) / n : 0;
        printf "| %s | %d | %d | %.1f | %.2f | %.1f | %.1f | %s | %s |", s, n, est, mbs, cps, peak / 1024, per, share, ttff }')
    rows+=("$row")
    echo "$row"
  done
  kill "$fpid" "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
done

{
  echo "Stream ${kbps} kbit/s, players read every 100 ms, ${seconds} s per row, $(nproc) cores, $(date -u +%Y-%m-%d)."
  echo
  echo "| server | players | established | delivered MB/s | server CPU s/GB | peak RSS MB | RSS KiB/player | slowest player share | first keyframe p50 ms |"
  echo "|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/results.md"
