#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test
# (unit, integration against real Mosquitto + RocksDB + nbmsd) with CTest, then
# the web dashboard's end-to-end tests in headless Chromium (tests/e2e).
#   tools/test.sh            RelWithDebInfo build in build/
#   tools/test.sh --asan     AddressSanitizer + UBSan build in build-asan/
#   tools/test.sh --tsan     ThreadSanitizer build in build-tsan/
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DNBMS_WERROR=ON)
case "${1:-}" in
  --asan) build=build-asan; flags+=(-DNBMS_ASAN=ON) ;;
  --tsan)
    build=build-tsan
    flags+=(-DNBMS_TSAN=ON)
    export TSAN_OPTIONS="suppressions=$(pwd)/tests/tsan.supp ${TSAN_OPTIONS:-}"
    ;;
  "") ;;
  *) echo "usage: tools/test.sh [--asan|--tsan]" >&2; exit 2 ;;
esac

./tools/deps.sh --test
cmake -S . -B "$build" "${flags[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 300
# The browser tests exercise the same code paths; the sanitizer runs skip them.
if [ "$build" = build ]; then
  tests/e2e/run.sh "$build"
fi
