# Sourced by scripts/bench.sh and scripts/soak.sh, from the project root,
# with $out (the output folder) and $merge_ms set: installs what they run,
# builds the release binaries and the sample clips, starts the servers.
# RUSTIC_BIN runs another rustic_rtmp build (an older one, to compare)
# with the same load.
need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v nginx >/dev/null || need+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || need+=(libnginx-mod-rtmp)
command -v python3 >/dev/null || need+=(python3) # free_port
command -v openssl >/dev/null || need+=(openssl) # the RTMPS case's certificate
command -v curl >/dev/null || need+=(curl)       # the push and SRT cases read /metrics
command -v srt-live-transmit >/dev/null || need+=(srt-tools) # the srt read case
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release --quiet --features tools

# make_sample FILE WIDTHxHEIGHT VIDEO_KBPS AUDIO_KBPS: 30 s of test pattern
# and tone, a keyframe a second.
make_sample() {
  [ -f "$1" ] && return
  ffmpeg -nostdin -loglevel error -y \
    -f lavfi -i "testsrc2=size=$2:rate=30" -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -c:v libx264 -preset ultrafast -b:v "${3}k" -maxrate "${3}k" -bufsize "${3}k" -g 30 -pix_fmt yuv420p \
    -c:a aac -b:a "${4}k" -t 30 -f flv "$1.partial"
  mv "$1.partial" "$1"
}
make_sample "$out/sample-3mbps.flv" 1280x720 2900 128
make_sample "$out/sample-600kbps.flv" 640x360 530 64
kbps_of() { echo $(( $(ffprobe -v error -show_entries format=bit_rate -of csv=p=0 "$1") / 1000 )); }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# A self-signed certificate for the RTMPS cases.
tls_cert() {
  [ -f "$out/tls-cert.pem" ] && return
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=localhost \
    -keyout "$out/tls-key.pem" -out "$out/tls-cert.pem" 2>/dev/null
}

start_server() { # name port [http_port] [tls_port] -> echoes pid
  case "$1" in
    rustic_rtmp | merged)
      local flags="--max-connections 10100 ${RUSTIC_FLAGS:-}"
      # Every load-tool player comes from 127.0.0.1: lift HTTP's per-address
      # limit (builds older than that limit have no such flag).
      # (The help is read whole first: `grep -q` quitting early would make
      # the binary's next write fail, and pipefail read that as no flag.)
      local help
      help=$("${RUSTIC_BIN:-target/release/rustic_rtmp}" --help)
      if [[ $help == *--http-max-connections-per-ip* ]]; then
        flags="$flags --http-max-connections 10100 --http-max-connections-per-ip 0"
      fi
      if [ -n "${3:-}" ]; then flags="$flags --http-port $3"; else flags="$flags --no-http"; fi
      if [ -n "${4:-}" ]; then
        tls_cert
        flags="$flags --tls-port $4 --tls-cert $out/tls-cert.pem --tls-key $out/tls-key.pem"
      fi
      [ "$1" = merged ] && flags="$flags --merge-write-ms $merge_ms"
      # shellcheck disable=SC2086 # flags is a list of flags
      "${RUSTIC_BIN:-target/release/rustic_rtmp}" --bind 127.0.0.1 --port "$2" $flags >"$out/$1.log" 2>&1 &
      echo $! ;;
    nginx-rtmp)
      start_nginx_rtmp "$out/nginx" "$2" "application live { live on; }" ;;
  esac
}

# start_nginx_rtmp DIR PORT APPLICATIONS -> echoes pid: Debian's nginx with
# the RTMP module, one single-process worker, listening on PORT with the
# given application blocks; its config, pid and log under DIR.
start_nginx_rtmp() {
  mkdir -p "$1"
  cat >"$1/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile 20000;
error_log stderr warn;
pid $PWD/$1/nginx.pid;
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
events { worker_connections 10100; }
rtmp { server { listen 127.0.0.1:$2; chunk_size 4096; $3 } }
CONF
  nginx -p "$PWD/$1" -e stderr -c "$PWD/$1/nginx.conf" >"$1/nginx.log" 2>&1 &
  echo $!
}


wait_port() { # port: up to 5 s for something to listen there
  for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return; sleep 0.1; done
}
