#!/usr/bin/env bash
# clang-tidy (Debian's clang-tidy-19) over the project's C++ with the checks in
# .clang-tidy; exits non-zero on any warning (they are all errors there).
#   tools/tidy.sh                 every .cpp in src/ and tools/ (and the headers they include)
#   tools/tidy.sh --changed REF   only the .cpp files changed since git REF, plus those
#                                 in the modules whose headers changed
#   tools/tidy.sh FILE...         these files
#   tools/tidy.sh --fix ...       apply clang-tidy's fixes (review them, then clang-format)
# Configures build-tidy/ with clang++-19 for its compile_commands.json (nothing
# is compiled). Needs only Debian's apt for clang-19 and clang-tidy-19
# (tools/deps.sh --clang installs them if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

fix=()
changed=""
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fix) fix=(-fix); shift ;;
    --changed) changed="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "usage: tools/tidy.sh [--fix] [--changed REF | FILE...]" >&2; exit 2 ;;
    *) files+=("$1"); shift ;;
  esac
done

# clang-19 and clang-tidy-19; the libraries and GoogleTest, so that every file parses.
./tools/deps.sh --test --clang

# clang's view of the code: clang-tidy runs the clang front end, so the
# compile commands must be clang's (g++'s flags and its Asio detection differ).
build=build-tidy
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-19 \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null

if [ -n "$changed" ]; then
  # A changed header can break any file that includes it: check its whole module.
  mapfile -t diff < <(git diff --name-only --diff-filter=d "$changed" -- src tools include)
  for f in "${diff[@]}"; do
    case "$f" in
      *.cpp) files+=("$f") ;;
      include/nbms/*/*.hpp) m="${f#include/nbms/}"; files+=(src/"${m%%/*}"/*.cpp) ;;
      src/*/*.hpp) m="${f#src/}"; files+=(src/"${m%%/*}"/*.cpp) ;;
      tools/*/*.hpp) m="${f#tools/}"; files+=(tools/"${m%%/*}"/*.cpp) ;;
    esac
  done
  if [ ${#files[@]} -eq 0 ]; then
    echo "tools/tidy.sh: no C++ changed since $changed" >&2
    exit 0
  fi
elif [ ${#files[@]} -eq 0 ]; then
  mapfile -t files < <(git ls-files 'src/*.cpp' 'tools/*.cpp')
fi
mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u)

# run-clang-tidy runs the files in parallel and prints each file's output whole.
# Its regex matches absolute paths; anchor each file at the end.
regex="($(printf '%s|' "${files[@]}" | sed 's/[.]/[.]/g; s/|$//'))\$"
echo "tools/tidy.sh: ${#files[@]} files, $(nproc) jobs" >&2
start=$(date +%s)
status=0
run-clang-tidy-19 -p "$build" -clang-tidy-binary clang-tidy-19 -j "$(nproc)" -quiet \
  "${fix[@]}" "$regex" >"$build/tidy.log" 2>&1 || status=$?
# Keep the findings, drop the per-file command lines and the suppressed-warning counts.
grep -v -E '^(\[[0-9]+/[0-9]+]|clang-tidy-19 |[0-9]+ warnings? (and [0-9]+ errors? )?generated|Suppressed [0-9]+ warnings|Use -header-filter|Running clang-tidy|Enabled checks)' \
  "$build/tidy.log" | grep -v '^[[:space:]]*$' || true
echo "tools/tidy.sh: $(( $(date +%s) - start )) s; full output in $build/tidy.log" >&2
if [ "$status" -ne 0 ]; then
  echo "tools/tidy.sh: FAILED (clang-tidy warnings above)" >&2
  exit 1
fi
echo "tools/tidy.sh: no warnings" >&2
