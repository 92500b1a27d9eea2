#!/usr/bin/env bash
# The test suite; CI (.ci/run) calls it with no option.
# Installs what is missing (Debian packages, clang-19, the dashboard's npm
# packages), then:
#   1. RelWithDebInfo build in build/ with g++ and -Werror; every unit and
#      integration test (real Mosquitto + RocksDB + nbmsd) with CTest; the
#      dashboard's end-to-end tests in headless Chromium and Firefox (tests/e2e).
#   2. clang-tidy over src/ and tools/ (tools/tidy.sh): no warning allowed.
#   3. One clang-19 build with AddressSanitizer + UBSan in build-asan/ that also
#      builds the libFuzzer targets: every unit and integration test under the
#      sanitizers, then a short fuzz run of each target from the seed corpus in
#      tests/fuzz/corpus (tools/fuzz.sh; FUZZ_SECONDS per target).
# Options:
#   tools/test.sh            steps 1, 2 and 3, fuzzing 30 s per target (what CI
#                            runs; its time on a 2-core machine: docs/reliability.md)
#   tools/test.sh --all      the same with 60 s of fuzzing per target
#   tools/test.sh --asan     step 3 only, fuzzing 60 s per target
#   tools/test.sh --tidy     step 2 only
#   tools/test.sh --tsan     ThreadSanitizer build (g++) in build-tsan/, unit and
#                            integration tests (suppressions: tests/tsan.supp); not in CI
# FUZZ_SECONDS overrides the fuzzing time per target in every mode.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD"

mode="${1:-default}"
case "$mode" in
  default|--all|--asan|--tidy|--tsan) ;;
  *) echo "usage: tools/test.sh [--all|--asan|--tidy|--tsan]" >&2; exit 2 ;;
esac

stage() { echo "== tools/test.sh: $1 ($(date -u +%H:%M:%S))" >&2; }
started=$(date +%s)

if [ "$mode" = --tsan ]; then
  ./tools/deps.sh --test
else
  ./tools/deps.sh --test --clang  # clang-19 for the sanitizer build, clang-tidy-19
fi

if [ "$mode" = default ] || [ "$mode" = --all ]; then
  stage "g++ build, CTest, browser tests"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNBMS_WERROR=ON >/dev/null
  cmake --build build -j "$(nproc)"
  ctest --test-dir build --output-on-failure -j "$(nproc)" --timeout 300
  tests/e2e/run.sh build
fi

if [ "$mode" = default ] || [ "$mode" = --all ] || [ "$mode" = --tidy ]; then
  stage "clang-tidy"
  tools/tidy.sh
fi

if [ "$mode" = default ]; then
  fuzz_seconds="${FUZZ_SECONDS:-30}"
else
  fuzz_seconds="${FUZZ_SECONDS:-60}"
fi

if [ "$mode" = default ] || [ "$mode" = --all ] || [ "$mode" = --asan ]; then
  stage "ASan + UBSan build (clang-19, with the fuzz targets)"
  build=build-asan
  # An older build-asan/ may be a g++ one: a compiler cannot change in place.
  if [ -f "$build/CMakeCache.txt" ] && ! grep -q '^NBMS_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
    rm -rf "$build"
  fi
  # -O1 and line tables only: a third of -O2 -g's compile time, and still full
  # stacks with file:line in the sanitizer reports.
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DNBMS_FUZZ=ON -DNBMS_TESTS=ON >/dev/null
  # The tests and the fuzz targets only: not the benchmarks.
  cmake --build "$build" -j "$(nproc)" --target nbms_tests nbms_fuzz_targets
  stage "unit and integration tests under ASan + UBSan"
  # Leaks count as failures; libraries that are not instrumented (Paho, RocksDB)
  # are covered by the suppressions in tests/lsan.supp.
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}" \
    LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0:${LSAN_OPTIONS:-}" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}" \
    ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout 600
  stage "fuzzing, $fuzz_seconds s per target"
  tools/fuzz.sh --build "$build" --seconds "$fuzz_seconds"
fi

if [ "$mode" = --tsan ]; then
  stage "ThreadSanitizer build (g++), unit and integration tests"
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNBMS_WERROR=ON -DNBMS_TSAN=ON >/dev/null
  cmake --build build-tsan -j "$(nproc)"
  TSAN_OPTIONS="suppressions=$PWD/tests/tsan.supp ${TSAN_OPTIONS:-}" \
    ctest --test-dir build-tsan --output-on-failure -j "$(nproc)" --timeout 600
fi

stage "passed in $(( ($(date +%s) - started) / 60 )) min"
