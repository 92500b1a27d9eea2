#!/usr/bin/env bash
# Installs the Debian 12 packages nbms needs to build, run and test, and only
# those that are missing. Idempotent; non-interactive. Needs root (or sudo).
#   tools/deps.sh            build and run
#   tools/deps.sh --test     also what the tests need (tools/test.sh)
#   tools/deps.sh --clang    also clang-19, its sanitizer and libFuzzer runtimes and
#                            clang-tidy-19 (tools/fuzz.sh, tools/tidy.sh, tools/test.sh --asan)
# The options combine (tools/deps.sh --test --clang).
set -euo pipefail

packages=(
  cmake g++ make ccache pkg-config
  libboost-dev libpaho-mqttpp-dev libpaho-mqtt-dev nlohmann-json3-dev librocksdb-dev
  libspdlog-dev libssl-dev libsimdjson-dev libgtest-dev
  mosquitto mosquitto-clients libmosquitto-dev curl python3 ca-certificates
)
# The web dashboard is built with npm (web/). Debian's nodejs/npm unless a
# Node.js is already installed (NodeSource's nodejs carries its own npm and
# conflicts with Debian's npm package).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)
for option in "$@"; do
  case "$option" in
    --test)
      packages+=(rocksdb-tools openssl)
      packages+=(chromium fonts-nanum)  # web dashboard e2e tests (tests/e2e): headless browser, Hangul glyphs
      packages+=(firefox-esr)           # the same in Firefox (tests/e2e/firefox.test.mjs, over WebDriver BiDi)
      ;;
    --clang)
      # clang-14 (Debian's default) cannot compile the project's C++23 against
      # libstdc++ 12; clang-19 from bookworm's own repository can.
      # libclang-rt-19-dev holds libFuzzer and the sanitizer runtimes.
      packages+=(clang-19 libclang-rt-19-dev clang-tidy-19)
      ;;
    *) echo "usage: tools/deps.sh [--test] [--clang]" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "nbms: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
