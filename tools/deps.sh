#!/usr/bin/env bash
# Installs the Debian 12 packages nbms needs to build, run and test, and only
# those that are missing. Idempotent; non-interactive. Needs root (or sudo).
set -euo pipefail

packages=(
  cmake g++ make ccache pkg-config
  libboost-dev libpaho-mqttpp-dev libpaho-mqtt-dev nlohmann-json3-dev librocksdb-dev
  libspdlog-dev libssl-dev libsimdjson-dev libgtest-dev
  mosquitto mosquitto-clients libmosquitto-dev curl python3 ca-certificates
)
if [ "${1:-}" = "--test" ]; then
  packages+=(rocksdb-tools)
fi

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
