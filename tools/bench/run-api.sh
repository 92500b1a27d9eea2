#!/usr/bin/env bash
# REST API benchmark, end to end on this machine (docs/performance.md): latency of
# GET .../latest (883 points) and GET .../history (one point, one month) with a
# bearer token, alone and under concurrent keep-alive clients.
#  1. builds Release (build-release/, tests off): nbmsd and nbms-bench;
#  2. starts a private mosquitto and nbmsd (temporary data dir, cheap logins) on
#     free loopback ports, as run-ingest.sh;
#  3. seeds one month of one MW through MQTT: `nbms-bench ingest --things 1
#     --points 883 --logs 2976` (January 2024, 15-minute periodic_logs, the
#     simulator's values), so the data takes the real ingest path (rows, daily
#     seals, latest values);
#  4. waits until nbmsd is idle (RocksDB flushes and compactions after the
#     seed), then runs `nbms-bench api` (extra arguments are passed on, e.g.
#     --clients 4);
#  5. prints the results and stops everything (also on Ctrl-C or failure).
#
# Usage: tools/bench/run-api.sh [nbms-bench api options...]
# Environment: see tools/bench/lib.sh (NBMS_BUILD_DIR, NBMS_SKIP_BUILD=1,
#   NBMSD_ARGS, KEEP_TMP=1, ...); SEED_ARGS adds nbms-bench ingest options.
set -euo pipefail
bench_name=run-api
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_build
bench_start
bench_machine
echo "== seeding: nbms-bench ingest --things 1 --points 883 --logs 2976 ${SEED_ARGS:-}"
# shellcheck disable=SC2086  # SEED_ARGS is a word list on purpose
"$bench_bin" ingest --broker "tcp://127.0.0.1:$mqtt_port" --http "http://127.0.0.1:$http_port" \
  --customer CBENCH --building B001 --things 1 --points 883 --logs 2976 \
  --start 202401010000 ${SEED_ARGS:-} | tail -n 4
bench_settle 120  # RocksDB flushes and compacts after the seed
echo "settled: load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== nbms-bench api $*"
set +e
"$bench_bin" api --http "http://127.0.0.1:$http_port" --customer CBENCH --building B001 \
  --pid "$nbmsd_pid" "$@"
rc=$?
set -e
bench_after
exit "$rc"
