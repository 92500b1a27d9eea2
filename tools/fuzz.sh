#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang-19 in build-fuzz/ and runs
# each for a while, starting from the seed corpus in tests/fuzz/corpus/<target>/.
#   tools/fuzz.sh                       every target, 60 s each
#   tools/fuzz.sh --seconds 600         longer runs
#   tools/fuzz.sh --target http_api     one target (mw_codec, http_api, ws_channel)
#   tools/fuzz.sh --build-only          build, do not run
#   tools/fuzz.sh -- -len_control=0     extra libFuzzer flags after --
#   tools/fuzz.sh --deps-only           install clang-19 and its runtimes if missing (tools/deps.sh --clang)
#   tools/fuzz.sh --build build-asan    run the targets of an existing NBMS_FUZZ build
#                                       (tools/test.sh's sanitizer build) instead of build-fuzz/
# New inputs that reach new code go to build-fuzz/corpus/<target>/ (the seeds in
# the repo are only read); a crash, sanitizer report or violated invariant is
# written to build-fuzz/artifacts/<target>-crash-<sha1> and makes the script
# exit non-zero once every target has run, printing the report, the path of the
# input and the command that reproduces it. Needs only Debian's apt (for
# clang-19 and its runtimes, installed if missing by tools/deps.sh --clang): no
# other network.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
targets=(mw_codec http_api ws_channel)
only=""
build_only=0
deps_only=0
build=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --target) only="$2"; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --build) build="$2"; shift 2 ;;
    --deps-only) deps_only=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "usage: tools/fuzz.sh [--seconds N] [--target NAME] [--build-only] [--build DIR] [--deps-only] [-- libFuzzer flags]" >&2
       exit 2 ;;
  esac
done
if [ -n "$only" ]; then
  case " ${targets[*]} " in
    *" $only "*) targets=("$only") ;;
    *) echo "tools/fuzz.sh: unknown target '$only' (one of: ${targets[*]})" >&2; exit 2 ;;
  esac
fi

export CCACHE_BASEDIR="$PWD"
if [ -z "$build" ] || [ "$deps_only" = 1 ]; then
  ./tools/deps.sh --clang  # clang-19, its runtimes, and the project's own libraries
  [ "$deps_only" = 1 ] && exit 0

  build=build-fuzz
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 \
    -DNBMS_FUZZ=ON -DNBMS_TESTS=OFF >/dev/null
elif ! grep -q '^NBMS_FUZZ:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "tools/fuzz.sh: $build is not an NBMS_FUZZ build" >&2
  exit 2
fi
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"
[ "$build_only" = 1 ] && exit 0

# Longest input per target: MW messages are larger than requests, but a few KiB
# already reach every rule of the decoders; longer inputs only run slower.
max_len_of() {
  case "$1" in
    mw_codec) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
mkdir -p "$build/artifacts"
failed=()
found=()
for t in "${targets[@]}"; do
  : >"$build/fuzz_$t.started"
  work="$build/corpus/$t"
  mkdir -p "$work"
  flags=(-max_total_time="$seconds" -max_len="$(max_len_of "$t")" -timeout=10 -rss_limit_mb=2048
         -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-")
  if [ -f "tests/fuzz/$t.dict" ]; then flags+=(-dict="tests/fuzz/$t.dict"); fi
  echo "== fuzz_$t: $seconds s (log: $build/fuzz_$t.log)" >&2
  # libFuzzer's progress lines are many; the summary keeps what matters.
  { "$build/tests/fuzz/fuzz_$t" "${flags[@]}" "${extra[@]}" "$work" "tests/fuzz/corpus/$t"
    echo $? >"$build/fuzz_$t.rc"; } 2>&1 | tee "$build/fuzz_$t.log" |
    grep --line-buffered -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::|==[0-9]+==ERROR|INVARIANT|SUMMARY|Test unit written|Done )' ||
    true
  if [ "$(cat "$build/fuzz_$t.rc")" -ne 0 ]; then
    failed+=("$t")
    # The report with its stack (the summary above keeps only its first line).
    echo "-- fuzz_$t failed; the end of $build/fuzz_$t.log:" >&2
    tail -n 60 "$build/fuzz_$t.log" >&2
    while IFS= read -r f; do found+=("$t: $build/tests/fuzz/fuzz_$t $f"); done \
      < <(find "$build/artifacts" -name "$t-*" -newer "$build/fuzz_$t.started" -type f)
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "tools/fuzz.sh: FAILED: ${failed[*]} (logs in $build/fuzz_<target>.log)" >&2
  if [ ${#found[@]} -gt 0 ]; then
    echo "tools/fuzz.sh: reproduce with:" >&2
    printf '  %s\n' "${found[@]}" >&2
  else
    echo "tools/fuzz.sh: no input was saved (see the log: a failure outside an input)" >&2
  fi
  exit 1
fi
echo "tools/fuzz.sh: no crash in ${targets[*]} ($seconds s each)" >&2
