#!/usr/bin/env bash
# Side-by-side benchmark: rustic_rtmp and nginx-rtmp (Debian's
# libnginx-mod-rtmp, one single-process worker, started by the script on a
# free loopback port) on the same machine, in the same run, with the same
# load. ffmpeg, the nginx module and openssl are installed with apt-get
# when missing (scripts/servers.sh). Every case starts its server afresh,
# with nothing warmed up, so memory per player is measured cold.
#
# The load: ffmpeg publishes a file made once with lavfi sources
# (H.264+AAC, a keyframe every second) with `-re -stream_loop -1 -c copy`
# through target/release/rtmp-tap, which logs when each message reached
# the server and its payload length. target/release/rtmp-load, in its own
# process, opens the players: 32 openers and 2 non-blocking reader
# threads, its open-file limit raised. Both tools are binaries of this
# package built only with the `tools` feature, so `cargo install`
# installs only the server. Over a window (SECONDS_EACH) rtmp-load
# measures: delivered bytes; each player's bytes against the published
# bitrate; the server's CPU time and its own (utime + stime, all threads,
# from /proc); play to first keyframe for 5 probe players joining
# mid-window; and latency for one player joined before the others and
# one joined after them, timed against the tap's log (rustic_rtmp writes
# to players in the order they joined, nginx-rtmp newest first, so each
# server's worst case is a different one of the two). It stops opening
# players after 64 have failed, so such a case ends and reports
# per-player figures over the players that opened.
#
# The cases:
# - live: a 3 Mbit/s stream published in real time, N = 200, 1000 and
#   2000 players (PLAYERS) that read each socket every 100 ms, as a
#   buffering player does;
# - low: the same at 600 kbit/s (640x360, as SRS's published figures
#   use), for 10 000 players (LOW_PLAYERS);
# - http: the live case with HTTP-FLV players (HTTP_PLAYERS; rtmp-load
#   given an http://...flv URL), rustic_rtmp only: nginx-rtmp has no
#   HTTP-FLV. Against the live rows of the same run: what HTTP-FLV costs
#   per byte against RTMP play;
# - tls: the live case with RTMPS players (TLS_PLAYERS; rtmp-load given
#   an rtmps:// URL, a self-signed certificate made with openssl; a TLS
#   pump thread per player in rtmp-load), rustic_rtmp only, against the
#   live case's plain RTMP: what TLS costs per byte;
# - hls, hls-plain: the live case with HLS viewers (HLS_PLAYERS,
#   HLS_PLAIN_PLAYERS; rtmp-load given an http://.../index.m3u8 URL: a
#   thread per viewer on one keep-alive connection, fetching what a player
#   fetches: with LL-HLS each part after a blocking _HLS_msn/_HLS_part
#   reload, as hls.js does; with --hls-part-ms 0 each 1 s segment after
#   reloading the playlist every half target duration), rustic_rtmp only,
#   against the http case: what HLS costs per viewer. No cache in front:
#   every viewer asks the server. These report bytes, requests and server
#   CPU, without the latency, probe and per-second figures;
# - push: the live stream pushed to PUSH destinations (each a name on one
#   nginx-rtmp), no players: CPU seconds per GB pushed;
# - throughput: the 3 Mbit/s file published as fast as the server takes it
#   (no -re), to 1 and 10 players reading every 1 ms (THROUGHPUT).
# - srt ingest, rtmp ingest (SRT_INGEST=1, rustic_rtmp only): the live
#   stream published in real time by INGEST_STREAMS (5) ffmpeg processes
#   at once, over SRT (MPEG-TS, made once from the same file) and over
#   RTMP, no players, for INGEST_SECONDS (30; one stream's bytes take
#   the server a few 10 ms ticks): the server's CPU seconds per GB
#   received (/metrics' received bytes, datagram headers and all);
# - srt read N (SRT_READERS, rustic_rtmp only): the live stream published
#   over RTMP, read by N srt-live-transmit processes writing to /dev/null:
#   CPU s per GB sent, and VmHWM growth per reader from before the first
#   reader, cold.
#
# rustic_rtmp runs twice: with its defaults (plus RUSTIC_FLAGS) for every
# case, and as "merged", with --merge-write-ms MERGE_MS (100), for the
# live cases in MERGE_PLAYERS; its ratio column compares it with the same
# nginx-rtmp run. rustic_rtmp always runs with --max-connections 10100
# (10 000 players, the probes and the publisher). SERVERS picks servers.
#
# The columns:
# - server CPU s per GB: the server's CPU over the window per GB
#   delivered; rtmp-load's own CPU is reported beside it;
# - RSS per player: (peak - before the first player) / N, sampled every
#   500 ms;
# - kernel memory per player: the rise of KernelStack + Slab in
#   /proc/meminfo over the run / N, for the whole machine, so it counts
#   the load tool's end of each loopback connection too, for both servers
#   alike;
# - threads and fds: the server's, at peak;
# - "fewest media messages" and "least media payload": per second of
#   stream timestamps published wholly inside the window, what the player
#   that got the least received against what the tap saw published:
#   1.0000 means nothing lost, where the bytes-read share counts chunk
#   headers and so reads above 1.0.
#
# Noise: on the 2-core development machine CPU varies by about 10% from
# one run to the next, and by up to 50% from one day to the next for both
# servers alike (the machine's neighbours vary); the ratios hold. The
# throughput 1 case is bimodal (about 1.7 or 3.1 CPU s per GB for the
# same build): run it several times before reading a change into it.
# Compare a change against a run of the old build on the same day.
#
#   scripts/bench.sh                  # live 200 1000 2000, low 10000, http 200 1000, hls 200 1000, hls-plain 200 1000, tls 200, push 10; 10 s each, about 6 minutes
#   PLAYERS="200 1000" LOW_PLAYERS="" THROUGHPUT="" MERGE_PLAYERS="" SECONDS_EACH=5 scripts/bench.sh
#   SERVERS="merged nginx-rtmp" MERGE_PLAYERS=200 MERGE_MS=50 scripts/bench.sh
#   PLAYERS=200 TLS_PLAYERS=200 SERVERS=rustic_rtmp scripts/bench.sh
#   SERVERS=rustic_rtmp PLAYERS="" LOW_PLAYERS="" TLS_PLAYERS="" PUSH="" THROUGHPUT="" scripts/bench.sh   # HTTP and HLS only
#
# Loopback only; every run is bounded in players and seconds. Prints one
# table and writes it to target/bench/results.md. What past runs showed
# is in the crate docs (`cargo doc --open`, manual::measured).
set -euo pipefail
cd "$(dirname "$0")/.."

players_list=${PLAYERS-"200 1000 2000"}
low_list=${LOW_PLAYERS-"10000"}
http_list=${HTTP_PLAYERS-"200 1000"}
tls_list=${TLS_PLAYERS-"200"}
hls_list=${HLS_PLAYERS-"200 1000"}
hls_plain_list=${HLS_PLAIN_PLAYERS-"200 1000"}
push_list=${PUSH-"10"}
srt_ingest=${SRT_INGEST-1}
ingest_streams=${INGEST_STREAMS:-5}
ingest_seconds=${INGEST_SECONDS:-30}
srt_readers_list=${SRT_READERS-"200"}
throughput_list=${THROUGHPUT-"1 10"}
merge_list=${MERGE_PLAYERS-"200 1000 2000"}
merge_ms=${MERGE_MS:-100}
seconds=${SECONDS_EACH:-10}
out=target/bench
mkdir -p "$out"

# shellcheck source=scripts/servers.sh
. scripts/servers.sh
declare -A sample=([live]="$out/sample-3mbps.flv" [low]="$out/sample-600kbps.flv" [http]="$out/sample-3mbps.flv"
  [tls]="$out/sample-3mbps.flv" [throughput]="$out/sample-3mbps.flv" [hls]="$out/sample-3mbps.flv"
  [hls-plain]="$out/sample-3mbps.flv")
declare -A kbps=([live]="$(kbps_of "${sample[live]}")" [low]="$(kbps_of "${sample[low]}")")
kbps[http]=${kbps[live]}
kbps[tls]=${kbps[live]}
kbps[hls]=${kbps[live]}
kbps[hls-plain]=${kbps[live]}
threads_of() { awk '/^Threads/ {print $2}' "/proc/$1/status"; }
fds_of() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# Kernel memory the whole machine uses for thread stacks and slab objects
# (sockets among them: both ends of each loopback connection).
kernel_kb() { awk '/^(KernelStack|Slab):/ {s += $2} END {print s}' /proc/meminfo; }

declare -A result # [server|case|metric] -> value
cases=() # in the order first measured
declare -A seen
add_case() { [ -n "${seen[$1]:-}" ] || { seen[$1]=1; cases+=("$1"); }; }

# measure SERVER PID URL CASE PLAYERS READ_INTERVAL_MS PUBLISHED_KBPS
measure() {
  local server=$1 spid=$2 url=$3 case=$4 n=$5 interval=$6 pub_kbps=$7
  local base kbase sampler line
  base=$(rss_kb "$spid"); kbase=$(kernel_kb)
  ( while kill -0 "$spid" 2>/dev/null; do
      echo "$(rss_kb "$spid") $(threads_of "$spid") $(fds_of "$spid") $(kernel_kb)"; sleep 0.5
    done ) >"$out/samples.txt" &
  sampler=$!
  line=$(timeout $(( seconds + n / 50 + 120 )) target/release/rtmp-load --url "$url" \
    --players "$n" --seconds "$seconds" --read-interval-ms "$interval" --published-kbps "$pub_kbps" \
    --threads 2 --server-pid "$spid" --stamps "$stamps" || true)
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  peak_of() { awk -v c="$1" 'BEGIN { m = 0 } $c > m { m = $c } END { print m }' "$out/samples.txt"; }
  echo "$server $case: $line" >&2
  get() { echo "$line" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
  local key="$server|$case" peak opened
  peak=$(peak_of 1)
  # Per-player figures count the players that opened: a server that stops
  # answering holds fewer than were asked for.
  opened=$(get established); [ "${opened:-0}" -gt 0 ] || opened=$n
  result[$key|established]="$(get established)/$n"
  result[$key|mbs]=$(get measured_mb_per_s)
  result[$key|cpu_s]=$(get server_cpu_s)
  result[$key|load_cpu_s]=$(get load_cpu_s)
  result[$key|load_share]=$(awk -v l="$(get load_cpu_s)" -v c="$(get server_cpu_s)" \
    'BEGIN { if (c > 0) printf "%.2f", l / c; else print "nan" }')
  result[$key|cpu]=$(awk -v c="$(get server_cpu_s)" -v b="$(get measured_bytes)" \
    'BEGIN { if (b > 0) printf "%.2f", c / (b / 1e9); else print "nan" }')
  result[$key|peak]=$(awk -v p="$peak" 'BEGIN { printf "%.1f", p / 1024 }')
  result[$key|per]=$(awk -v p="$peak" -v b="$base" -v n="$opened" 'BEGIN { printf "%.1f", (p - b) / n }')
  result[$key|kper]=$(awk -v p="$(peak_of 4)" -v b="$kbase" -v n="$opened" 'BEGIN { printf "%.1f", (p - b) / n }')
  result[$key|threads]=$(peak_of 2)
  result[$key|fds]=$(peak_of 3)
  result[$key|share]=$(get min_share)
  result[$key|msgs]=$(get min_message_share)
  result[$key|payload]=$(get min_payload_share)
  result[$key|ttff]=$(get ttff_p50_ms)
  result[$key|lat50]=$(get latency_p50_ms)
  result[$key|lat99]=$(get latency_p99_ms)
  result[$key|lat50f]=$(get latency_first_p50_ms)
  result[$key|lat99f]=$(get latency_first_p99_ms)
  if [[ "$url" == *.m3u8 ]]; then
    # rtmp-load's HLS viewers count bytes and requests, nothing per frame.
    for m in share msgs payload ttff lat50 lat99 lat50f lat99f; do result[$key|$m]=-; done
  fi
  if [ "$pub_kbps" = 0 ]; then
    # Published faster than real time: no bitrate to share, no tap, and
    # timestamps run ahead of the clock.
    for m in share msgs payload lat50 lat99 lat50f lat99f; do result[$key|$m]=-; done
  fi
}

# run_case SERVER KIND N: a fresh server, its publisher, N players.
run_case() {
  local server=$1 kind=$2 n=$3 port spid tpid fpid http_port="" tls_port="" url
  local case="$kind $n"
  add_case "$case"
  port=$(free_port)
  url="rtmp://127.0.0.1:$port/live/bench"
  if [ "$kind" = http ]; then
    http_port=$(free_port)
    url="http://127.0.0.1:$http_port/live/bench.flv"
  fi
  if [ "$kind" = tls ]; then
    tls_port=$(free_port)
    url="rtmps://127.0.0.1:$tls_port/live/bench"
  fi
  local flags=${RUSTIC_FLAGS:-}
  if [[ "$kind" == hls* ]]; then
    http_port=$(free_port)
    url="http://127.0.0.1:$http_port/live/bench/index.m3u8"
    # Every viewer is on 127.0.0.1: let each hold its blocking reload.
    flags="$flags --hls-max-blocked $(( n + 10 )) --hls-max-blocked-per-ip $(( n + 10 ))"
    [ "$kind" = hls-plain ] && flags="$flags --hls-part-ms 0"
  fi
  spid=$(RUSTIC_FLAGS=$flags start_server "$server" "$port" "$http_port" "$tls_port"); pids+=("$spid")
  wait_port "$port"
  stamps="$out/stamps-$server.txt"
  : >"$stamps"
  if [ "$kind" = throughput ]; then
    ffmpeg -nostdin -loglevel error -stream_loop -1 -i "${sample[$kind]}" -c copy -f flv \
      "rtmp://127.0.0.1:$port/live/fast" >"$out/publisher.log" 2>&1 &
    fpid=$!; pids+=("$fpid"); tpid=""
    sleep 2
    measure "$server" "$spid" "rtmp://127.0.0.1:$port/live/fast" "$case" "$n" 1 0
  else
    local tap_port; tap_port=$(free_port)
    target/release/rtmp-tap --listen "127.0.0.1:$tap_port" --to "127.0.0.1:$port" --stamps "$stamps" &
    tpid=$!; pids+=("$tpid")
    wait_port "$tap_port"
    ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "${sample[$kind]}" -c copy -f flv \
      "rtmp://127.0.0.1:$tap_port/live/bench" >"$out/publisher.log" 2>&1 &
    fpid=$!; pids+=("$fpid")
    sleep 3
    measure "$server" "$spid" "$url" "$case" "$n" 100 "${kbps[$kind]}"
  fi
  kill "$fpid" $tpid "$spid" 2>/dev/null || true
  wait "$fpid" $tpid "$spid" 2>/dev/null || true
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_push N: rustic_rtmp pushing the live stream to N names on one
# nginx-rtmp for the measured seconds; its CPU per GB pushed.
run_push() {
  local n=$1 port sink_port http_port spid sink fpid flags="" t0 t1 bytes
  local case="push $n"
  add_case "$case"
  port=$(free_port); sink_port=$(free_port); http_port=$(free_port)
  sink=$(start_server nginx-rtmp "$sink_port"); pids+=("$sink")
  for i in $(seq "$n"); do flags="$flags --push rtmp://127.0.0.1:$sink_port/live/d$i"; done
  local saved=${RUSTIC_FLAGS:-}
  RUSTIC_FLAGS="$saved $flags"
  spid=$(start_server rustic_rtmp "$port" "$http_port"); pids+=("$spid")
  RUSTIC_FLAGS=$saved
  wait_port "$port"; wait_port "$sink_port"
  ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "${sample[live]}" -c copy -f flv \
    "rtmp://127.0.0.1:$port/live/bench" >"$out/publisher.log" 2>&1 &
  fpid=$!; pids+=("$fpid")
  sleep 3
  pushed() { curl -s "http://127.0.0.1:$http_port/metrics" | awk '/^rustic_rtmp_push_sent_bytes_total/ {s += $2} END {printf "%d", s}'; }
  bytes=$(pushed); t0=$(cpu_ticks "$spid")
  sleep "$seconds"
  bytes=$(( $(pushed) - bytes )); t1=$(cpu_ticks "$spid")
  local hz; hz=$(getconf CLK_TCK)
  result[rustic_rtmp|$case|cpu_s]=$(awk -v d=$(( t1 - t0 )) -v hz="$hz" 'BEGIN { printf "%.2f", d / hz }')
  result[rustic_rtmp|$case|mbs]=$(awk -v b="$bytes" -v s="$seconds" 'BEGIN { printf "%.2f", b / s / 1e6 }')
  result[rustic_rtmp|$case|cpu]=$(awk -v d=$(( t1 - t0 )) -v hz="$hz" -v b="$bytes" \
    'BEGIN { if (b > 0) printf "%.2f", d / hz / (b / 1e9); else print "nan" }')
  kill "$fpid" "$spid" "$sink" 2>/dev/null || true
  wait "$fpid" "$spid" "$sink" 2>/dev/null || true
}

# metric_sum HTTP_PORT NAME: the sum of a /metrics family's samples.
metric_sum() { curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n || index($1, n "{") == 1 {s += $2} END {printf "%d", s}'; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# srt_window CASE SPID HTTP_PORT FAMILY [SECONDS]: CPU per GB of FAMILY's
# bytes over SECONDS (the measured seconds).
srt_window() {
  local case=$1 spid=$2 http_port=$3 family=$4 seconds=${5:-$seconds} t0 t1 bytes hz
  hz=$(getconf CLK_TCK)
  bytes=$(metric_sum "$http_port" "$family"); t0=$(cpu_ticks "$spid")
  sleep "$seconds"
  bytes=$(( $(metric_sum "$http_port" "$family") - bytes )); t1=$(cpu_ticks "$spid")
  result[rustic_rtmp|$case|cpu_s]=$(awk -v d=$(( t1 - t0 )) -v hz="$hz" 'BEGIN { printf "%.2f", d / hz }')
  result[rustic_rtmp|$case|mbs]=$(awk -v b="$bytes" -v s="$seconds" 'BEGIN { printf "%.2f", b / s / 1e6 }')
  result[rustic_rtmp|$case|cpu]=$(awk -v d=$(( t1 - t0 )) -v hz="$hz" -v b="$bytes" \
    'BEGIN { if (b > 0) printf "%.2f", d / hz / (b / 1e9); else print "nan" }')
}

# start_srt_server: a fresh rustic_rtmp with HTTP and SRT; sets port,
# http_port, srt_port and spid, which the caller declares local.
start_srt_server() {
  port=$(free_port); http_port=$(free_port); srt_port=$(free_port)
  local saved=${RUSTIC_FLAGS:-}
  RUSTIC_FLAGS="$saved --srt-port $srt_port"
  spid=$(start_server rustic_rtmp "$port" "$http_port"); pids+=("$spid")
  RUSTIC_FLAGS=$saved
  wait_port "$port"
}

# run_ingest PROTOCOL: the live stream published over PROTOCOL (srt or
# rtmp) to a fresh rustic_rtmp with no players.
run_ingest() {
  local proto=$1 port http_port srt_port spid fpid case="$1 ingest" publishers=()
  add_case "$case"
  start_srt_server
  [ -f "$out/sample-3mbps.ts" ] || ffmpeg -nostdin -loglevel error -i "${sample[live]}" -c copy -f mpegts "$out/sample-3mbps.ts"
  for i in $(seq "$ingest_streams"); do
    if [ "$proto" = srt ]; then
      ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "$out/sample-3mbps.ts" -c copy -f mpegts \
        "srt://127.0.0.1:$srt_port?streamid=publish:live/bench$i" >"$out/publisher.log" 2>&1 &
    else
      ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "${sample[live]}" -c copy -f flv \
        "rtmp://127.0.0.1:$port/live/bench$i" >"$out/publisher.log" 2>&1 &
    fi
    fpid=$!; pids+=("$fpid"); publishers+=("$fpid")
  done
  sleep 3
  srt_window "$case" "$spid" "$http_port" rustic_rtmp_received_bytes_total "$ingest_seconds"
  kill "${publishers[@]}" "$spid" 2>/dev/null || true
  wait "${publishers[@]}" "$spid" 2>/dev/null || true
}

# run_srt_read N: the live stream over RTMP, read by N srt-live-transmit.
run_srt_read() {
  local n=$1 port http_port srt_port spid fpid case="srt read $1" before readers=() established
  add_case "$case"
  command -v srt-live-transmit >/dev/null || { echo "srt read: srt-live-transmit (srt-tools) is missing" >&2; return; }
  start_srt_server
  ffmpeg -nostdin -loglevel error -re -stream_loop -1 -i "${sample[live]}" -c copy -f flv \
    "rtmp://127.0.0.1:$port/live/bench" >"$out/publisher.log" 2>&1 &
  fpid=$!; pids+=("$fpid")
  sleep 3
  before=$(rss_kb "$spid")
  for _ in $(seq "$n"); do
    srt-live-transmit -q "srt://127.0.0.1:$srt_port?streamid=read:live/bench" file://con >/dev/null 2>&1 &
    readers+=("$!"); pids+=("$!")
  done
  for _ in $(seq 100); do
    established=$(metric_sum "$http_port" rustic_rtmp_srt_connections)
    [ "$established" -ge "$n" ] && break
    sleep 0.1
  done
  sleep 2
  result[rustic_rtmp|$case|established]=$established
  srt_window "$case" "$spid" "$http_port" rustic_rtmp_sent_bytes_total
  result[rustic_rtmp|$case|per]=$(( ($(hwm_kb "$spid") - before) / n ))
  result[rustic_rtmp|$case|peak]=$(( $(hwm_kb "$spid") / 1024 ))
  result[rustic_rtmp|$case|threads]=$(threads_of "$spid")
  kill "${readers[@]}" "$fpid" "$spid" 2>/dev/null || true
  wait "${readers[@]}" "$fpid" "$spid" 2>/dev/null || true
}

for server in ${SERVERS:-rustic_rtmp merged nginx-rtmp}; do
  live=$players_list; low=$low_list; fast=$throughput_list; http=$http_list; tls=$tls_list; push=$push_list
  hls=$hls_list; hls_plain=$hls_plain_list
  if [ "$server" = merged ]; then live=$merge_list; low=""; fast=""; http=""; tls=""; push=""; hls=""; hls_plain=""; fi
  if [ "$server" = nginx-rtmp ]; then http=""; tls=""; push=""; hls=""; hls_plain=""; fi
  for n in $live; do run_case "$server" live "$n"; done
  for n in $low; do run_case "$server" low "$n"; done
  for n in $http; do run_case "$server" http "$n"; done
  for n in $hls; do run_case "$server" hls "$n"; done
  for n in $hls_plain; do run_case "$server" hls-plain "$n"; done
  for n in $tls; do run_case "$server" tls "$n"; done
  for n in $push; do run_push "$n"; done
  for n in $fast; do run_case "$server" throughput "$n"; done
  if [ "$server" = rustic_rtmp ]; then
    if [ "$srt_ingest" = 1 ]; then run_ingest srt; run_ingest rtmp; fi
    for n in $srt_readers_list; do run_srt_read "$n"; done
  fi
done

metrics=(established mbs cpu cpu_s load_cpu_s load_share per kper peak threads fds share msgs payload ttff lat50f lat99f lat50 lat99)
declare -A label=(
  [established]="players established" [mbs]="delivered MB/s" [cpu]="server CPU s per GB"
  [cpu_s]="server CPU s" [load_cpu_s]="rtmp-load CPU s" [load_share]="rtmp-load CPU / server CPU"
  [per]="RSS KiB per player, cold" [kper]="kernel KiB per player (KernelStack + Slab, both socket ends)"
  [peak]="peak RSS MB" [threads]="threads at peak" [fds]="fds at peak"
  [share]="slowest player's bytes read / published bitrate (chunk headers included)"
  [msgs]="fewest media messages / published" [payload]="least media payload / published"
 [ttff]="play to first keyframe p50 ms" [lat50]="latency p50 ms, player joined last" [lat99]="latency p99 ms, player joined last"
  [lat50f]="latency p50 ms, player joined first" [lat99f]="latency p99 ms, player joined first"
)
ratio() { awk -v r="$1" -v x="$2" 'BEGIN { if (r ~ /^[0-9.]+$/ && x ~ /^[0-9.]+$/ && x > 0) printf "%.2f", r / x; else print "" }'; }
{
  echo "Streams ${kbps[live]} kbit/s (live, throughput) and ${kbps[low]} kbit/s (low) H.264+AAC; live and low players"
  echo "read every 100 ms, throughput players every 1 ms; ${seconds} s measured per case, each on a fresh server;"
  echo "$(nproc) cores ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo));"
  echo "$(date -u +%Y-%m-%d); rustic_rtmp flags: --max-connections 10100 ${RUSTIC_FLAGS:-}; merged: --merge-write-ms $merge_ms."
  echo "Ratios are rustic_rtmp / nginx-rtmp."
  echo
  echo "| case | metric | rustic_rtmp | merged | nginx-rtmp | ratio | merged ratio |"
  echo "|---|---|---|---|---|---|---|"
  for c in "${cases[@]}"; do
    for m in "${metrics[@]}"; do
      r=${result[rustic_rtmp|$c|$m]:-}
      g=${result[merged|$c|$m]:-}
      x=${result[nginx-rtmp|$c|$m]:-}
      echo "| $c | ${label[$m]} | $r | $g | $x | $(ratio "$r" "$x") | $(ratio "$g" "$x") |"
    done
  done
} | tee "$out/results.md"
