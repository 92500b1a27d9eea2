#!/usr/bin/env bash
# Ingest benchmark, end to end on this machine (docs/performance.md):
#  1. builds Release (build-release/, tests off): nbmsd and nbms-bench;
#  2. starts a private mosquitto on a free loopback port (temporary config:
#     persistence off, unlimited queues, 1000 in flight);
#  3. starts nbmsd on a free loopback HTTP port with a temporary data dir and an
#     admin password, and waits until GET /api/v1/health reports the broker
#     connected;
#  4. runs `nbms-bench ingest` (extra arguments are passed on, e.g. --logs 50);
#  5. prints the results and stops everything (also on Ctrl-C or failure).
#
# Usage: tools/bench/run-ingest.sh [nbms-bench ingest options...]
# Environment: see tools/bench/lib.sh (NBMS_BUILD_DIR, NBMS_SKIP_BUILD=1,
#   NBMSD_ARGS, KEEP_TMP=1, ...).
set -euo pipefail
bench_name=run-ingest
# shellcheck source=lib.sh source-path=SCRIPTDIR
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bench_build
bench_start
bench_machine
echo "== nbms-bench ingest $*"
set +e
"$bench_bin" ingest --broker "tcp://127.0.0.1:$mqtt_port" --http "http://127.0.0.1:$http_port" \
  --pid "$nbmsd_pid" --broker-pid "$mosquitto_pid" "$@"
rc=$?
set -e
bench_after
exit "$rc"
