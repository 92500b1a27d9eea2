#!/usr/bin/env bash
# Builds the web dashboard (web/dist) and runs the end-to-end browser tests
# against the real nbmsd, Mosquitto and nbms-mwsim in headless Chromium and
# headless Firefox.
#
#   tests/e2e/run.sh [build-dir]
#
# build-dir (default: build) holds the built binaries; NBMSD and NBMS_MWSIM
# override them one by one. CHROMIUM (default /usr/bin/chromium) and FIREFOX
# (default /usr/bin/firefox-esr), both from `tools/deps.sh --test`;
# NBMS_E2E_ARTIFACTS (screenshots and, on failure, the processes' logs;
# default <build-dir>/e2e-artifacts).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
case "$build" in /*) ;; *) build=$root/$build ;; esac

export NBMSD=${NBMSD:-$build/src/app/nbmsd}
export NBMS_MWSIM=${NBMS_MWSIM:-$build/tools/mwsim/nbms-mwsim}
export NBMS_E2E_ARTIFACTS=${NBMS_E2E_ARTIFACTS:-$build/e2e-artifacts}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
export FIREFOX=${FIREFOX:-/usr/bin/firefox-esr}

for tool in node npm mosquitto "$CHROMIUM" "$FIREFOX"; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool not found (tools/deps.sh --test installs chromium and firefox-esr)" >&2; exit 1; }
done

cd "$root/web"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
npm run --silent build >/dev/null

cd "$root"
mkdir -p "$NBMS_E2E_ARTIFACTS"
exec node --test tests/e2e/
