#!/usr/bin/env bash
# Scale-out on existing engines, on loopback: an origin, edges that pull
# from it (rustic_rtmp --pull), a second-level edge that pulls from an
# edge, and players on each; then two mixed chains: nginx-rtmp as the
# origin with a rustic_rtmp edge, and rustic_rtmp as the origin with an
# nginx-rtmp edge that pulls. Prints, per process: players served, CPU
# seconds over the run, and latency (publish to play, p50/p99), so the
# delay each hop adds is the difference from the origin's own players.
#
#   scripts/cluster.sh                          # 2 edges, 100 players each, 10 s
#   EDGES=4 PLAYERS=200 SECONDS_EACH=20 scripts/cluster.sh
#
# Loopback only; every player count and run time is bounded. Writes the
# table to target/bench/cluster.md too.
set -euo pipefail
cd "$(dirname "$0")/.."

edges=${EDGES:-2}
players=${PLAYERS:-100}
seconds=${SECONDS_EACH:-10}
merge_ms=0
out=target/bench
mkdir -p "$out"
# shellcheck source=scripts/servers.sh
. scripts/servers.sh
sample="$out/sample-600kbps.flv"
kbps=$(kbps_of "$sample")

rows=()
# run_players LABEL SERVER_PID URL: N players for the run, in the
# background; their summary line lands in $out/cluster-LABEL.txt.
run_players() {
  timeout $(( seconds + 60 )) target/release/rtmp-load --url "$3" --players "$players" --seconds "$seconds" \
    --read-interval-ms 100 --published-kbps "$kbps" --threads 1 --server-pid "$2" --stamps "$stamps" \
    >"$out/cluster-$1.txt" 2>/dev/null &
  pids+=($!)
}
get() { tr ' ' '\n' <"$out/cluster-$1.txt" | awk -F= -v k="$2" '$1 == k {print $2}'; }
row() { # LABEL ROLE
  rows+=("| $2 | $(get "$1" established) | $(get "$1" server_cpu_s) | $(get "$1" latency_p50_ms) | $(get "$1" latency_p99_ms) |")
}

# publish_to PORT: the sample in real time, looped, through rtmp-tap so
# that players can tell how long each message took to reach them.
publish_to() {
  local tap_port; tap_port=$(free_port)
  stamps="$out/cluster-stamps.txt"; : >"$stamps"
  target/release/rtmp-tap --listen "127.0.0.1:$tap_port" --to "127.0.0.1:$1" --stamps "$stamps" &
  pids+=($!)
  wait_port "$tap_port"
  ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$sample" -c copy -f flv \
    "rtmp://127.0.0.1:$tap_port/live/cluster" >"$out/cluster-publisher.log" 2>&1 &
  pids+=($!)
  sleep 3
}

start_rustic() { # port [flags...] -> pid
  local port=$1; shift
  target/release/rustic_rtmp --bind 127.0.0.1 --port "$port" --no-http "$@" >"$out/cluster-rustic-$port.log" 2>&1 &
  echo $!
}

start_nginx() { # port application -> pid
  start_nginx_rtmp "$out/cluster-nginx-$1" "$1" "$2"
}

stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}

# 1. rustic_rtmp origin, EDGES rustic_rtmp edges, one edge of an edge.
origin_port=$(free_port)
origin=$(start_rustic "$origin_port"); pids+=("$origin")
wait_port "$origin_port"
edge_ports=()
for i in $(seq "$edges"); do
  port=$(free_port)
  pid=$(start_rustic "$port" --pull "rtmp://127.0.0.1:$origin_port/live"); pids+=("$pid")
  edge_ports+=("$port:$pid")
done
first_edge=${edge_ports[0]%%:*}
far_port=$(free_port)
far=$(start_rustic "$far_port" --pull "rtmp://127.0.0.1:$first_edge/live"); pids+=("$far")
for port in "$origin_port" "$far_port" "${edge_ports[@]%%:*}"; do wait_port "$port"; done
publish_to "$origin_port"
run_players origin "$origin" "rtmp://127.0.0.1:$origin_port/live/cluster"
for i in "${!edge_ports[@]}"; do
  run_players "edge$((i + 1))" "${edge_ports[$i]##*:}" "rtmp://127.0.0.1:${edge_ports[$i]%%:*}/live/cluster"
done
run_players far "$far" "rtmp://127.0.0.1:$far_port/live/cluster"
sleep $(( seconds + 8 ))
stop_all
row origin "rustic_rtmp origin"
for i in $(seq "$edges"); do row "edge$i" "rustic_rtmp edge $i (one hop)"; done
row far "rustic_rtmp edge of edge 1 (two hops)"

# 2. nginx-rtmp origin, rustic_rtmp edge.
origin_port=$(free_port)
origin=$(start_nginx "$origin_port" "application live { live on; }"); pids+=("$origin")
edge_port=$(free_port)
edge=$(start_rustic "$edge_port" --pull "rtmp://127.0.0.1:$origin_port/live"); pids+=("$edge")
wait_port "$origin_port"; wait_port "$edge_port"
publish_to "$origin_port"
run_players nginx-origin "$origin" "rtmp://127.0.0.1:$origin_port/live/cluster"
run_players rustic-edge "$edge" "rtmp://127.0.0.1:$edge_port/live/cluster"
sleep $(( seconds + 8 ))
stop_all
row nginx-origin "nginx-rtmp origin"
row rustic-edge "rustic_rtmp edge of nginx-rtmp"

# 3. rustic_rtmp origin, nginx-rtmp edge that pulls.
origin_port=$(free_port)
origin=$(start_rustic "$origin_port"); pids+=("$origin")
edge_port=$(free_port)
edge=$(start_nginx "$edge_port" "application live { live on; pull rtmp://127.0.0.1:$origin_port/live; }"); pids+=("$edge")
wait_port "$origin_port"; wait_port "$edge_port"
publish_to "$origin_port"
run_players rustic-origin "$origin" "rtmp://127.0.0.1:$origin_port/live/cluster"
run_players nginx-edge "$edge" "rtmp://127.0.0.1:$edge_port/live/cluster"
sleep $(( seconds + 8 ))
stop_all
row rustic-origin "rustic_rtmp origin"
row nginx-edge "nginx-rtmp edge of rustic_rtmp (pull)"

{
  echo "A ${kbps} kbit/s H.264+AAC stream published in real time at the origin; $players players per"
  echo "server reading every 100 ms; ${seconds} s; latency from the publisher's socket to each player;"
  echo "$(nproc) cores, $(date -u +%Y-%m-%d). Every process shares the machine."
  echo
  echo "| process | players established | CPU s | latency p50 ms | latency p99 ms |"
  echo "|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
} | tee "$out/cluster.md"
