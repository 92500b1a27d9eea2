#!/usr/bin/env bash
# Alarm flood benchmark (docs/performance.md, "Alarm flood"): 10,000 alarms from
# one simulated MW at once, and the latency of the console's current-alarms
# route while they arrive.
#  1. builds Release (build-release/, tests off): nbmsd and nbms-mwsim;
#  2. starts a private mosquitto and nbmsd (tools/bench/lib.sh);
#  3. registers customer CBENCH, building B001, thing CBENCH_B001_01;
#  4. starts `nbms-mwsim --alarm-burst N` (N = BURST, default 10000): the MW
#     raises N alarms (BURST-0..) as fast as it can when its live phase starts;
#     they stay active (no --alarm-clear-after);
#  5. meanwhile polls GET .../alarms (all current alarms, as the console's
#     first load) back to back with curl, one request at a time, until the
#     health figures (checked every 0.5 s) count N raises or TIMEOUT seconds
#     (default 120) pass;
#  6. prints how many raises, transitions and current alarms were stored, how
#     long the flood took to be stored, and p50/p90/p99/max of the polls.
#
# Usage: tools/bench/run-alarm-flood.sh
# Environment: BURST, TIMEOUT, and those of lib.sh (NBMS_SKIP_BUILD=1, KEEP_TMP=1, ...).
# Run it on an idle machine: the figures mean little while other builds run.
set -euo pipefail
bench_name=run-alarm-flood
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
burst=${BURST:-10000}
timeout=${TIMEOUT:-120}
mwsim_bin=${NBMS_MWSIM_BIN:-$build/tools/mwsim/nbms-mwsim}

if [ "${NBMS_SKIP_BUILD:-0}" != 1 ]; then
  say "building Release in $build"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNBMS_TESTS=OFF >/dev/null
  cmake --build "$build" --target nbmsd nbms-mwsim -j "$jobs"
fi
export NBMS_SKIP_BUILD=1
bench_bin=$mwsim_bin  # bench_build checks that it exists
bench_build
bench_start
bench_machine

api() {  # api <method> <path> [json body]
  curl -sf -X "$1" -H "Authorization: Bearer $bench_token" -H 'Content-Type: application/json' \
    ${3:+-d "$3"} "http://127.0.0.1:$http_port/api/v1$2"
}
health_raises() {  # the top-level "raises" of GET .../alarms/health
  python3 -c 'import json, sys; print(json.load(sys.stdin)["raises"])' 2>/dev/null || echo 0
}
api POST /customers '{"id":"CBENCH","name":"Bench"}' >/dev/null
api POST /customers/CBENCH/buildings '{"id":"B001","name":"Bench building"}' >/dev/null
api POST /customers/CBENCH/buildings/B001/things '{"name":"CBENCH_B001_01"}' >/dev/null
base=/customers/CBENCH/buildings/B001

started=$(date +%s.%N)
"$mwsim_bin" --broker "tcp://127.0.0.1:$mqtt_port" --customer CBENCH --building B001 --things 1 \
  --points 20 --speed 1 --alarm-burst "$burst" --quiet >"$tmp/mwsim.log" 2>&1 &
mwsim_pid=$!
trap 'kill "$mwsim_pid" 2>/dev/null || true; bench_cleanup' EXIT

echo "== flood: $burst alarms; polling GET $base/alarms"
: >"$tmp/latency.txt"
# The poller: one request at a time, back to back, until told to stop.
(
  while [ ! -e "$tmp/stop" ]; do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $bench_token" \
      "http://127.0.0.1:$http_port/api/v1$base/alarms" >>"$tmp/latency.txt"
  done
) &
poller_pid=$!
stored_at=""
deadline=$(($(date +%s) + timeout))
while [ "$(date +%s)" -lt "$deadline" ]; do
  raises=$(api GET "$base/alarms/health" | health_raises)
  if [ "${raises:-0}" -ge "$burst" ]; then
    stored_at=$(date +%s.%N)
    break
  fi
  sleep 0.5
done
touch "$tmp/stop"
wait "$poller_pid" || true
kill "$mwsim_pid" 2>/dev/null || true

echo "== results"
current=$(api GET "$base/alarms" | grep -o '"alarm_id"' | wc -l)
history=$(api GET "$base/alarms/history.csv?limit=100000" | grep -c ',raised,' || true)
echo "raises counted by health:   $(api GET "$base/alarms/health" | health_raises)"
echo "raised transitions stored:  $history"
echo "current alarms:             $current"
if [ -n "$stored_at" ]; then
  echo "all stored after:           $(awk -v a="$started" -v b="$stored_at" 'BEGIN {printf "%.1f", b - a}') s (from the simulator's start)"
else
  echo "not all stored within $timeout s"
fi
awk '$1 != 200 {bad++} END {print "polls:                      " NR " (" bad+0 " not 200)"}' "$tmp/latency.txt"
awk '{print $2 * 1000}' "$tmp/latency.txt" | sort -n | awk '
  {v[NR] = $1}
  END {
    if (NR == 0) exit
    printf "GET .../alarms ms:          p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
      v[int(NR * 0.50 + 0.5) ? int(NR * 0.50 + 0.5) : 1], v[int(NR * 0.90 + 0.5) ? int(NR * 0.90 + 0.5) : 1],
      v[int(NR * 0.99 + 0.5) ? int(NR * 0.99 + 0.5) : 1], v[NR]
  }'
bench_after
