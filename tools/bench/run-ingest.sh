#!/usr/bin/env bash
# Ingest benchmark, end to end on this machine (docs/performance.md):
#  1. builds Release (build-release/, tests off): nbmsd and nbms-bench;
#  2. starts a private mosquitto on a free loopback port (temporary config:
#     persistence off, unlimited queues, 1000 in flight);
#  3. starts nbmsd on a free loopback HTTP port with a temporary data dir and
#     waits until GET /api/v1/health answers with mqtt.connected true;
#  4. runs `nbms-bench ingest` (extra arguments are passed on, e.g. --logs 50);
#  5. prints the results and stops everything (also on Ctrl-C or failure).
#
# Usage: tools/bench/run-ingest.sh [nbms-bench ingest options...]
# Environment: NBMS_BUILD_DIR (default <repo>/build-release), JOBS (build jobs),
#   NBMS_SKIP_BUILD=1 (use what is built), NBMSD_BIN / NBMS_BENCH_BIN (other
#   binaries), NBMSD_ARGS (extra nbmsd arguments), KEEP_TMP=1 (keep data and logs).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${NBMS_BUILD_DIR:-$root/build-release}
jobs=${JOBS:-$(nproc)}

say() { printf 'run-ingest: %s\n' "$*" >&2; }

if [ "${NBMS_SKIP_BUILD:-0}" != 1 ]; then
  say "building Release in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNBMS_TESTS=OFF >/dev/null
  cmake --build "$build" --target nbmsd nbms-bench -j "$jobs"
fi
nbmsd_bin=${NBMSD_BIN:-$build/src/app/nbmsd}
bench_bin=${NBMS_BENCH_BIN:-$build/tools/bench/nbms-bench}
for bin in "$nbmsd_bin" "$bench_bin"; do
  [ -x "$bin" ] || { say "$bin is missing"; exit 1; }
done
for tool in mosquitto curl; do
  command -v "$tool" >/dev/null || { say "$tool is not installed (tools/deps.sh)"; exit 1; }
done

tmp=$(mktemp -d /tmp/nbms-bench.XXXXXX)
chmod 755 "$tmp"  # mosquitto started as root drops to user mosquitto
mosquitto_pid=""
nbmsd_pid=""

# shellcheck disable=SC2317  # called from the EXIT trap
stop_pid() {  # stop_pid <pid> <name>: SIGTERM, up to 15 s, then SIGKILL
  local pid=$1 name=$2
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    sleep 0.1
  done
  say "$name (pid $pid) did not stop in 15 s; killing it"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317  # the EXIT trap
cleanup() {
  local rc=$?
  stop_pid "$nbmsd_pid" nbmsd
  stop_pid "$mosquitto_pid" mosquitto
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    say "kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p
  if command -v python3 >/dev/null; then
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
    return
  fi
  while :; do
    p=$((20000 + RANDOM % 20000))
    port_in_use "$p" || { echo "$p"; return; }
  done
}

wait_port() {  # wait_port <port> <pid> <name> <seconds>
  for _ in $(seq $(($4 * 10))); do
    port_in_use "$1" && return 0
    kill -0 "$2" 2>/dev/null || { say "$3 exited"; return 1; }
    sleep 0.1
  done
  say "$3 not listening on $1 after $4 s"
  return 1
}

mqtt_port=$(free_port)
cat >"$tmp/mosquitto.conf" <<EOF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 1000
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
log_type notice
EOF
chmod 644 "$tmp/mosquitto.conf"
mosquitto -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.log" &
mosquitto_pid=$!
wait_port "$mqtt_port" "$mosquitto_pid" mosquitto 5 || { cat "$tmp/mosquitto.log" >&2; exit 1; }
say "mosquitto pid $mosquitto_pid on 127.0.0.1:$mqtt_port"

http_port=$(free_port)
# shellcheck disable=SC2086  # NBMSD_ARGS is a word list on purpose
"$nbmsd_bin" --data-dir "$tmp/data" --http-listen "127.0.0.1:$http_port" \
  --mqtt-uri "tcp://127.0.0.1:$mqtt_port" ${NBMSD_ARGS:-} >"$tmp/nbmsd.log" 2>&1 &
nbmsd_pid=$!
ready=0
for _ in $(seq 300); do  # up and connected to the broker
  if curl -sf "http://127.0.0.1:$http_port/api/v1/health" 2>/dev/null |
    grep -Eq '"connected": ?true'; then
    ready=1
    break
  fi
  kill -0 "$nbmsd_pid" 2>/dev/null || break
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  say "nbmsd did not report itself connected in GET /api/v1/health within 30 s; its log:"
  tail -n 40 "$tmp/nbmsd.log" >&2
  exit 1
fi
say "nbmsd pid $nbmsd_pid on http://127.0.0.1:$http_port, data in $tmp/data"

echo "== machine"
echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "commit:  $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (dirty)')"
echo "cpu:     $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
echo "memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
echo "kernel:  $(uname -r)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; the numbers mean little unless ~0)"
echo "== nbms-bench ingest $*"
set +e
"$bench_bin" ingest --broker "tcp://127.0.0.1:$mqtt_port" --http "http://127.0.0.1:$http_port" \
  --pid "$nbmsd_pid" --broker-pid "$mosquitto_pid" "$@"
rc=$?
set -e
echo "== after the run"
echo "data dir: $(du -sh "$tmp/data" 2>/dev/null | cut -f1)"
if grep -qiE 'error|warn' "$tmp/nbmsd.log"; then
  echo "nbmsd log (errors and warnings, last 10):"
  grep -iE 'error|warn' "$tmp/nbmsd.log" | tail -n 10
fi
if grep -q 'dropped' "$tmp/mosquitto.log"; then
  echo "mosquitto dropped messages:"
  grep 'dropped' "$tmp/mosquitto.log" | tail -n 5
fi
exit "$rc"
