#!/usr/bin/env bash
# Restart benchmark (docs/reliability.md): how long nbmsd takes from being
# started to serving again, after a clean stop and after SIGKILL in the middle
# of an ingest, with a month of 10 MWs x 883 points (26 million samples) stored.
#  1. builds Release and starts a private mosquitto and nbmsd, as run-api.sh;
#  2. seeds January 2024 through MQTT: `nbms-bench ingest --things 10
#     --points 883 --logs 2976`, and waits until nbmsd is idle;
#  3. RUNS times (default 3): SIGTERM, start, and times until GET /api/v1/ready
#     answers ("ready") and until health shows the broker connected
#     ("ingesting"); then RUNS times the same after SIGKILL while one day of
#     February is being ingested;
#  4. checks that January is intact after all restarts (the history of one point
#     still has its 2,976 samples) and prints the results.
#
# Usage: tools/bench/run-restart.sh
# Environment: see tools/bench/lib.sh; RUNS (default 3), THINGS (default 10),
#   LOGS (default 2976: a month of 15-minute logs).
set -euo pipefail
bench_name=run-restart
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

runs=${RUNS:-3}
things=${THINGS:-10}
logs=${LOGS:-2976}
api="http://127.0.0.1"

bench_build
bench_start
bench_machine

seed() {  # seed <start YYYYMMDDhhmm> <logs>
  "$bench_bin" ingest --broker "tcp://127.0.0.1:$mqtt_port" --http "$api:$http_port" \
    --customer CBENCH --building B001 --things "$things" --points 883 --logs "$2" --start "$1"
}

echo "== seeding: $things things x 883 points x $logs logs"
seed 202401010000 "$logs" | tail -n 3
bench_settle 300
echo "settled: load $(cut -d' ' -f1-3 /proc/loadavg); data dir $(du -sh "$tmp/data" | cut -f1)"

now_ms() { date +%s%3N; }

# Starts nbmsd; sets `timing` to "<ms to ready> <ms to ingesting>". (Not run in
# a subshell: nbmsd_pid must change in this shell.)
timing=""
timed_start() {
  local t0 ready="" ingesting=""
  t0=$(now_ms)
  nbmsd_launch
  while [ -z "$ingesting" ]; do
    kill -0 "$nbmsd_pid" 2>/dev/null || { say "nbmsd exited; its log:"; tail -n 20 "$tmp/nbmsd.log" >&2; exit 1; }
    if [ -z "$ready" ] && curl -sf "$api:$http_port/api/v1/ready" >/dev/null 2>&1; then
      ready=$(($(now_ms) - t0))
    fi
    if [ -n "$ready" ] && curl -sf -H "Authorization: Bearer $bench_token" \
      "$api:$http_port/api/v1/health" 2>/dev/null | grep -Eq '"connected": ?true'; then
      ingesting=$(($(now_ms) - t0))
    fi
    [ $(($(now_ms) - t0)) -lt 60000 ] || { say "nbmsd not ready after 60 s"; exit 1; }
    sleep 0.01
  done
  timing="$ready $ingesting"
}

results=()
for i in $(seq "$runs"); do
  stop_pid "$nbmsd_pid" nbmsd
  timed_start
  results+=("stop (SIGTERM) $i: $timing")
done
for i in $(seq "$runs"); do
  # One day of February (96 logs per thing) is being ingested when nbmsd dies.
  seed "$(printf '202402%02d0000' "$i")" 96 >/dev/null 2>&1 &
  feeder=$!
  sleep 1
  kill -KILL "$nbmsd_pid"
  wait "$nbmsd_pid" 2>/dev/null || true
  kill "$feeder" 2>/dev/null || true
  wait "$feeder" 2>/dev/null || true
  timed_start
  results+=("kill (SIGKILL during ingest) $i: $timing")
done

echo "== restart: start -> ready (GET /api/v1/ready) and -> ingesting (broker connected), ms"
printf '%s\n' "${results[@]}"

urlencode() {  # ASCII point ids
  local s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}

# January must be intact: one point's month of history still has every sample.
point=$(curl -sf -H "Authorization: Bearer $bench_token" \
  "$api:$http_port/api/v1/customers/CBENCH/buildings/B001/latest" |
  sed -n 's/^{"points":\[{"point_id":"\([^"]*\)".*/\1/p')
samples=$(curl -sf -H "Authorization: Bearer $bench_token" \
  "$api:$http_port/api/v1/customers/CBENCH/buildings/B001/points/$(urlencode "$point")/history?from=202401010000&to=202401312359" |
  grep -o '"time"' | wc -l)
echo "history of $point in January after the restarts: $samples samples (expected $logs)"
bench_after
[ "$samples" = "$logs" ]
