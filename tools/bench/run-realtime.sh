#!/usr/bin/env bash
# Realtime benchmark, end to end on this machine (docs/performance.md): a MW
# publishing realtime values through mosquitto, nbmsd fanning them out to 1,000
# WebSocket clients, latency from publish to receipt.
#  1. builds Release (build-release/, tests off): nbmsd and nbms-bench;
#  2. starts a private mosquitto and nbmsd (temporary data dir, cheap logins:
#     auth.pbkdf2_iterations 1000) on free loopback ports, as run-ingest.sh;
#  3. runs `nbms-bench realtime` (extra arguments are passed on, e.g.
#     --clients 200 --rate 1000 --layout thing);
#  4. prints the results and stops everything (also on Ctrl-C or failure).
#
# Usage: tools/bench/run-realtime.sh [nbms-bench realtime options...]
# Environment: see tools/bench/lib.sh (NBMS_BUILD_DIR, NBMS_SKIP_BUILD=1,
#   NBMSD_ARGS, KEEP_TMP=1, ...).
set -euo pipefail
bench_name=run-realtime
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_build
bench_start
bench_machine
echo "== nbms-bench realtime $*"
set +e
"$bench_bin" realtime --broker "tcp://127.0.0.1:$mqtt_port" --http "http://127.0.0.1:$http_port" \
  --pid "$nbmsd_pid" --broker-pid "$mosquitto_pid" "$@"
rc=$?
set -e
bench_after
exit "$rc"
