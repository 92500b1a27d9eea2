#!/usr/bin/env bash
# Runs nbms locally: installs what is missing, builds (Release) nbmsd and the web
# dashboard, starts nbmsd with its embedded RocksDB in .run/data and its managed
# Mosquitto (TLS with client certificates from nbms's CA, broker.mode managed),
# registers a demo customer, building, things (each with a certificate bundle,
# .run/bundles/) and users, and starts the middleware simulator with the bundles
# so data flows. Ctrl-C stops everything.
#
# Environment: NBMS_HTTP_PORT (8080), NBMS_MQTT_PORT (8883 with TLS, 1884 plain),
# NBMS_PLAIN_MQTT=1 (escape hatch: a plain anonymous Mosquitto on loopback run
# by this script, as before TLS), NBMS_SIM_SPEED
# (60: one simulated hour per real minute), NBMS_SIM_THINGS (2), NBMS_SIM_POINTS (120),
# NBMS_ADMIN_PASSWORD (first start only; default: a random one, kept in
# .run/admin.password).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
http_port=${NBMS_HTTP_PORT:-8080}
plain=${NBMS_PLAIN_MQTT:-0}
if [ "$plain" = 1 ]; then mqtt_port=${NBMS_MQTT_PORT:-1884}; else mqtt_port=${NBMS_MQTT_PORT:-8883}; fi
speed=${NBMS_SIM_SPEED:-60}
things=${NBMS_SIM_THINGS:-2}
points=${NBMS_SIM_POINTS:-120}
customer=C000001
building=B001

./tools/deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DNBMS_TESTS=OFF >/dev/null
cmake --build build-release -j "$(nproc)" --target nbmsd nbmsctl nbms-mwsim
bin=$root/build-release
(cd web && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run --silent build >/dev/null)

run=$root/.run
mkdir -p "$run/mosquitto" "$run/data"
# The admin password: given, or made once for this local install (owner-only file).
if [ ! -s "$run/admin.password" ]; then
  (umask 077; printf '%s' "${NBMS_ADMIN_PASSWORD:-$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')}" > "$run/admin.password")
fi
if [ "$plain" = 1 ]; then
  printf '{"http": {"web_root": "%s"}, "auth": {"admin_password_file": "%s"}}\n' \
    "$root/web/dist" "$run/admin.password" > "$run/nbmsd.json"
else
  # nbmsd runs Mosquitto itself (files in .run/data/broker) and connects over TLS.
  printf '{"http": {"web_root": "%s"}, "auth": {"admin_password_file": "%s"},
  "broker": {"mode": "managed", "listen": "127.0.0.1:%s"},
  "provisioning": {"broker_host": "127.0.0.1", "broker_port": %s}}\n' \
    "$root/web/dist" "$run/admin.password" "$mqtt_port" "$mqtt_port" > "$run/nbmsd.json"
fi
{
  echo "listener $mqtt_port 127.0.0.1"
  echo "allow_anonymous true"
  echo "persistence true"
  echo "persistence_location $run/mosquitto/"
  echo "max_queued_messages 100000"
  echo "max_inflight_messages 100"
  # Mosquitto started as root drops to user 'mosquitto', which cannot write .run/.
  [ "$(id -u)" -eq 0 ] && echo "user root"
} > "$run/mosquitto.conf"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo
  echo "nbms: stopping"
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; wait "${pids[i]}" 2>/dev/null || true; done
}
trap cleanup INT TERM EXIT

wait_for() {  # wait_for DESCRIPTION COMMAND...
  local what=$1; shift
  for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "nbms: $what did not come up; see $run/*.log" >&2; exit 1
}

nbmsd_args=(--config "$run/nbmsd.json" --data-dir "$run/data" --http-listen "127.0.0.1:$http_port")
if [ "$plain" = 1 ]; then
  mosquitto -c "$run/mosquitto.conf" >"$run/mosquitto.log" 2>&1 &
  pids+=($!)
  wait_for "mosquitto on 127.0.0.1:$mqtt_port" bash -c "exec 3<>/dev/tcp/127.0.0.1/$mqtt_port"
  nbmsd_args+=(--mqtt-uri "tcp://127.0.0.1:$mqtt_port")
fi
"$bin/src/app/nbmsd" "${nbmsd_args[@]}" >"$run/nbmsd.log" 2>&1 &
nbmsd_pid=$!
pids+=($nbmsd_pid)
export NBMS_URL="http://127.0.0.1:$http_port"
export NBMS_USER=admin
NBMS_PASSWORD=$(cat "$run/admin.password")
export NBMS_PASSWORD
wait_for "nbmsd on $NBMS_URL" curl -fsS "$NBMS_URL/api/v1/ready"
NBMS_TOKEN=$("$bin/tools/nbmsctl/nbmsctl" login)
export NBMS_TOKEN

ctl() { "$bin/tools/nbmsctl/nbmsctl" "$@" >/dev/null 2>&1 || true; }  # 'exists' is fine
ctl customer add "$customer" "Demo Customer"
ctl building add "$customer" "$building" "Demo Building" --address "1 Cyclotron Rd, Berkeley"
for i in $(seq 1 "$things"); do ctl thing add "$(printf '%s_%s_%02d' "$customer" "$building" "$i")"; done
# Demo users of the demo customer (password: the admin's, for this local demo only).
NBMS_NEW_PASSWORD=$NBMS_PASSWORD ctl user add manager manager "$customer"
NBMS_NEW_PASSWORD=$NBMS_PASSWORD ctl user add viewer viewer "$customer"

sim_args=(--points "$points" --speed "$speed" --replay-csv "$root/tools/data/lbnl_bldg59" --quiet)
if [ "$plain" = 1 ]; then
  sim_args+=(--broker "tcp://127.0.0.1:$mqtt_port" --customer "$customer" --building "$building" --things "$things")
  broker_text="tcp://127.0.0.1:$mqtt_port (plain, NBMS_PLAIN_MQTT=1)"
else
  # A certificate per thing, issued at every run (the previous one is revoked);
  # the bundles hold private keys (0600).
  mkdir -p "$run/bundles"
  chmod 700 "$run/bundles"
  for i in $(seq 1 "$things"); do
    t=$(printf '%s_%s_%02d' "$customer" "$building" "$i")
    rm -f "$run/bundles/$t.json"
    "$bin/tools/nbmsctl/nbmsctl" thing cert "$customer" "$building" "$t" --out "$run/bundles/$t.json" >/dev/null
    sim_args+=(--bundle "$run/bundles/$t.json")
  done
  broker_text="ssl://127.0.0.1:$mqtt_port (managed by nbmsd, client certificates; bundles in .run/bundles/)"
fi
"$bin/tools/mwsim/nbms-mwsim" "${sim_args[@]}" >"$run/mwsim.log" 2>&1 &
pids+=($!)

api="$NBMS_URL/api/v1/customers/$customer/buildings/$building"
cat <<MSG

nbms is running (logs in .run/: nbmsd.log (with the managed broker's), mosquitto.log (plain), mwsim.log)
  dashboard        $NBMS_URL/   users: admin, manager (customer $customer), viewer
                   password:  $NBMS_PASSWORD   (.run/admin.password)
  health           $NBMS_URL/api/v1/health   (as admin: Authorization: Bearer \$(nbmsctl login))
  things           $api/things
  points           $api/points
  latest values    $api/latest
  a point history  $api/points/<point_id>/history?from=YYYYMMDDhhmm&to=YYYYMMDDhhmm
  dead letters     $NBMS_URL/api/v1/dead-letters
  admin CLI        NBMS_URL=$NBMS_URL NBMS_USER=admin NBMS_PASSWORD=... $bin/tools/nbmsctl/nbmsctl --help
  broker           $broker_text
                   (simulator: $things things x $points points, speed x$speed)
Press Ctrl-C to stop.
MSG
wait "$nbmsd_pid"
