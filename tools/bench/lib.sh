# shellcheck shell=bash
# Shared by the run-*.sh benchmark scripts (sourced, not run): build, a private
# mosquitto and nbmsd on free loopback ports in a temporary dir, the admin
# password, the machine report, and cleanup on exit (also on Ctrl-C or failure).
#
# The sourcing script sets `bench_name` (for messages) first. Environment:
#   NBMS_BUILD_DIR (default <repo>/build-release), JOBS (build jobs),
#   NBMS_SKIP_BUILD=1 (use what is built), NBMSD_BIN / NBMS_BENCH_BIN (other
#   binaries), NBMSD_ARGS (extra nbmsd arguments), NBMSD_CONFIG (nbmsd config file
#   instead of the generated one; keep auth.pbkdf2_iterations low), KEEP_TMP=1
#   (keep data and logs), NBMS_ADMIN_PASSWORD (default: random).

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${NBMS_BUILD_DIR:-$root/build-release}
jobs=${JOBS:-$(nproc)}
nbmsd_bin=${NBMSD_BIN:-$build/src/app/nbmsd}
bench_bin=${NBMS_BENCH_BIN:-$build/tools/bench/nbms-bench}
tmp=""
mosquitto_pid=""
nbmsd_pid=""
nbmsd_config=""
bench_token=""  # the admin's session, set by bench_start
mqtt_port=""
http_port=""

say() { printf '%s: %s\n' "${bench_name:-bench}" "$*" >&2; }

bench_build() {
  if [ "${NBMS_SKIP_BUILD:-0}" != 1 ]; then
    say "building Release in $build"
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNBMS_TESTS=OFF >/dev/null
    cmake --build "$build" --target nbmsd nbms-bench -j "$jobs"
  fi
  for bin in "$nbmsd_bin" "$bench_bin"; do
    [ -x "$bin" ] || { say "$bin is missing"; exit 1; }
  done
  for tool in mosquitto curl; do
    command -v "$tool" >/dev/null || { say "$tool is not installed (tools/deps.sh)"; exit 1; }
  done
}

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
bench_cleanup() {
  local rc=$?
  stop_pid "$nbmsd_pid" nbmsd
  stop_pid "$mosquitto_pid" mosquitto
  if [ -n "$tmp" ]; then
    if [ "${KEEP_TMP:-0}" = 1 ]; then
      say "kept $tmp"
    else
      rm -rf "$tmp"
    fi
  fi
  exit "$rc"
}

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

# Starts nbmsd (again) on the chosen ports and data dir; sets nbmsd_pid.
nbmsd_launch() {
  # shellcheck disable=SC2086  # NBMSD_ARGS is a word list on purpose
  "$nbmsd_bin" --config "$nbmsd_config" --data-dir "$tmp/data" \
    --http-listen "127.0.0.1:$http_port" --mqtt-uri "tcp://127.0.0.1:$mqtt_port" \
    ${NBMSD_ARGS:-} >>"$tmp/nbmsd.log" 2>&1 &
  nbmsd_pid=$!
}

# Starts mosquitto and nbmsd; returns once nbmsd reports the broker connected.
bench_start() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  # 1,000 WebSocket clients need as many descriptors in nbmsd and in the bench.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  tmp=$(mktemp -d /tmp/nbms-bench.XXXXXX)
  chmod 755 "$tmp"  # readable by the user mosquitto runs as

  mqtt_port=$(free_port)
  cat >"$tmp/mosquitto.conf" <<CONF
listener $mqtt_port 127.0.0.1
allow_anonymous true
# Started as root, mosquitto drops to this user (ignored otherwise).
user $(id -un)
persistence false
max_queued_messages 0
max_queued_bytes 0
max_inflight_messages 1000
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
log_type notice
CONF
  chmod 644 "$tmp/mosquitto.conf"
  mosquitto -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.log" &
  mosquitto_pid=$!
  wait_port "$mqtt_port" "$mosquitto_pid" mosquitto 5 || { cat "$tmp/mosquitto.log" >&2; exit 1; }
  say "mosquitto pid $mosquitto_pid on 127.0.0.1:$mqtt_port"

  # Logins are cheap for the bench (the default KDF takes ~0.3 s on purpose).
  local config=${NBMSD_CONFIG:-$tmp/nbmsd.json}
  [ -n "${NBMSD_CONFIG:-}" ] || echo '{"auth": {"pbkdf2_iterations": 1000}}' >"$config"
  NBMS_ADMIN_PASSWORD=${NBMS_ADMIN_PASSWORD:-bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}
  export NBMS_ADMIN_PASSWORD
  nbmsd_config=$config
  http_port=$(free_port)
  nbmsd_launch
  local ready=0 body
  for _ in $(seq 300); do  # up, logged in, and connected to the broker
    kill -0 "$nbmsd_pid" 2>/dev/null || break
    if [ -z "$bench_token" ]; then
      body=$(jq -cn --arg p "$NBMS_ADMIN_PASSWORD" '{user: "admin", password: $p}' 2>/dev/null ||
        printf '{"user":"admin","password":"%s"}' "$NBMS_ADMIN_PASSWORD")
      bench_token=$(curl -sf -H 'Content-Type: application/json' -d "$body" \
        "http://127.0.0.1:$http_port/api/v1/auth/login" 2>/dev/null |
        sed -n 's/.*"token": *"\([^"]*\)".*/\1/p') || bench_token=""
    fi
    if [ -n "$bench_token" ] &&
      curl -sf -H "Authorization: Bearer $bench_token" "http://127.0.0.1:$http_port/api/v1/health" \
        2>/dev/null | grep -Eq '"connected": ?true'; then
      ready=1
      break
    fi
    sleep 0.1
  done
  if [ "$ready" != 1 ]; then
    say "nbmsd did not report itself connected in GET /api/v1/health within 30 s; its log:"
    tail -n 40 "$tmp/nbmsd.log" >&2
    exit 1
  fi
  say "nbmsd pid $nbmsd_pid on http://127.0.0.1:$http_port, data in $tmp/data"
}

# Waits (at most $1 s, default 120) until nbmsd has been nearly idle (< 5 % of a
# core) for 3 s: after a seed, RocksDB flushes and compacts in the background.
bench_settle() {
  local max=${1:-120} prev cur quiet=0
  prev=$(awk '{print $14 + $15}' "/proc/$nbmsd_pid/stat")
  for _ in $(seq "$max"); do
    sleep 1
    cur=$(awk '{print $14 + $15}' "/proc/$nbmsd_pid/stat")
    if [ $((cur - prev)) -le $(($(getconf CLK_TCK) / 20)) ]; then
      quiet=$((quiet + 1))
      [ "$quiet" -ge 3 ] && return 0
    else
      quiet=0
    fi
    prev=$cur
  done
  say "nbmsd still busy after $max s; going on"
}

bench_machine() {
  echo "== machine"
  echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "commit:  $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$root" diff --quiet 2>/dev/null || echo ' (dirty)')"
  echo "cpu:     $(nproc) x $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
  echo "memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel:  $(uname -r)"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min; the numbers mean little unless ~0)"
}

bench_after() {
  echo "== after the run"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "data dir: $(du -sh "$tmp/data" 2>/dev/null | cut -f1)"
  if grep -qiE 'error|warn' "$tmp/nbmsd.log"; then
    echo "nbmsd log (errors and warnings, last 10):"
    grep -iE 'error|warn' "$tmp/nbmsd.log" | tail -n 10
  fi
  if grep -q 'dropped' "$tmp/mosquitto.log"; then
    echo "mosquitto dropped messages:"
    grep 'dropped' "$tmp/mosquitto.log" | tail -n 5
  fi
}
