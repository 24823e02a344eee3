#!/usr/bin/env bash
# The capacity run: each scenario pins the server to one core and the bots to the other, runs
# for a bounded time and reads the server's CPU and memory from /proc; then the floor program
# (benches/src/bin/snapwire-floor.rs) writes the same frames to the same number of loopback
# sockets at the same rate, in the same run, so the server's cost is also quoted as a ratio.
#
#   benches/capacity.sh                 # every scenario (about 5 minutes)
#   benches/capacity.sh spectators1000  # some of them
#
# Environment: SERVER_CORE (0), BOTS_CORE (1), RUN_SECONDS (20: measured seconds per scenario),
# OUT (target/capacity: JSON reports, HTML charts, table.md).
set -euo pipefail
cd "$(dirname "$0")/.."

SERVER_CORE=${SERVER_CORE:-0}
BOTS_CORE=${BOTS_CORE:-1}
RUN_SECONDS=${RUN_SECONDS:-20}
OUT=${OUT:-target/capacity}
PORT=${PORT:-18470}
FIELD=assets/maps/field.json
T=target/release

cargo build --release -q -p snapwire-server -p snapwire-bots -p snapwire-benches --bins
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# name clients tick_rate map scene mode(play|spectate) ramp_per_s asserts...
SCENARIOS=(
  "players1500 1500 60 $FIELD empty play 500 snapshots_per_bot_per_s>=59.5 tick_p99_ms<=8 input_to_ack_ms.p99<=17.7"
  "players5000_20hz 5000 20 $FIELD empty play 500 snapshots_per_bot_per_s>=19.8 tick_p99_ms<=8 input_to_ack_ms.p99<=51"
  "spectators1000 1000 60 arena drift:100 spectate 500 snapshots_per_bot_per_s>=59.5"
  "arena256 256 60 arena empty play 256 snapshots_per_bot_per_s>=59.5 tick_p99_ms<=8"
  "idle10000 10000 10 arena empty spectate 1000 snapshots_per_bot_per_s>=9.9"
)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
field() { python3 -c "import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print('nan' if v is None else v)" "$1" "$2"; }

run_one() {
  local name=$1 clients=$2 rate=$3 map=$4 scene=$5 mode=$6 ramp=$7
  shift 7
  local asserts=()
  for a in "$@"; do asserts+=(--assert "$a"); done
  local map_args=()
  [ "$map" != arena ] && map_args=(--map "$map")
  local bot_args=()
  local inbound_every=1
  if [ "$mode" = spectate ]; then bot_args=(--spectate); inbound_every=4; fi

  RUST_LOG=warn taskset -c "$SERVER_CORE" "$T/snapwire-server" --bind "127.0.0.1:$PORT" \
    --tick-rate "$rate" --max-clients $((clients + 64)) --scene "$scene" "${map_args[@]}" \
    --assets target/no-assets >"$OUT/$name.server.log" 2>&1 &
  local server=$!
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    sleep 0.1
  done
  local rss0
  rss0=$(rss_kib "$server")
  local ramp_s=$(( (clients + ramp - 1) / ramp ))
  taskset -c "$BOTS_CORE" "$T/snapwire-bots" --url "ws://127.0.0.1:$PORT/ws" --bots "$clients" \
    --duration $((RUN_SECONDS + 4)) --ramp "$ramp" --threads 1 "${bot_args[@]}" "${asserts[@]}" \
    --report "$OUT/$name.json" --chart "$OUT/$name.html" >/dev/null 2>"$OUT/$name.bots.log" &
  local bots=$!
  # Measure the steady state: from 2 s after the last bot joined, for RUN_SECONDS.
  sleep $((ramp_s + 2))
  local c0 t0 c1 t1 rss1
  c0=$(cpu_ticks "$server"); t0=$(date +%s.%N)
  sleep "$RUN_SECONDS"
  c1=$(cpu_ticks "$server"); t1=$(date +%s.%N); rss1=$(rss_kib "$server")
  local verdict=pass
  wait "$bots" || verdict=FAIL
  kill -TERM "$server"; wait "$server" || true

  local bytes
  bytes=$(field "$OUT/$name.json" bytes_per_snapshot)
  bytes=$(python3 -c "import math; b=float('$bytes'); print(20 if math.isnan(b) else max(1, round(b)))")
  taskset -c "$SERVER_CORE" "$T/snapwire-floor" serve --addr "127.0.0.1:$((PORT + 1))" \
    --clients "$clients" --tick-rate "$rate" --bytes "$bytes" --inbound-every "$inbound_every" \
    --seconds 8 >"$OUT/$name.floor.json" &
  local floor=$!
  sleep 0.3
  taskset -c "$BOTS_CORE" "$T/snapwire-floor" peer --addr "127.0.0.1:$((PORT + 1))" \
    --clients "$clients" --tick-rate "$rate" --inbound-every "$inbound_every" --seconds 9 || true
  wait "$floor" || true

  python3 - "$name" "$clients" "$rate" "$map" "$scene" "$mode" "$c0" "$c1" "$t0" "$t1" \
    "$rss0" "$rss1" "$OUT/$name.json" "$OUT/$name.floor.json" "$verdict" <<'EOF' | tee -a "$OUT/table.md"
import json, sys
(name, clients, rate, map_, scene, mode, c0, c1, t0, t1, rss0, rss1, report, floor, verdict) = sys.argv[1:]
clients, rate = int(clients), int(rate)
cpu = (float(c1) - float(c0)) / 100.0
wall = float(t1) - float(t0)
us = cpu / wall / (clients * rate) * 1e6
r = json.load(open(report))
try:
    fl = json.load(open(floor))["us_per_client_tick"]
except Exception:
    fl = float("nan")
def f(v, d=1):
    return "-" if v is None else f"{v:.{d}f}"
rss = (int(rss1) - int(rss0)) / clients
print(f"| {name} | {clients} {mode} | {rate} | {map_.split('/')[-1]} {scene} | {us:.2f} | {fl:.2f} | {us / fl:.2f}x "
      f"| {f(r.get('server_tick_p50_ms'), 2)} / {f(r.get('server_tick_p99_ms'), 2)} | {f(r.get('server_overruns'), 0)} "
      f"| {r['snapshots_per_bot_per_s']:.2f} | {r['kbps_per_bot']:.1f} | {r['input_to_ack_ms']['p99']:.1f} "
      f"| {rss:.1f} | {r['errors']} / {r['desyncs']} | {verdict} |")
EOF
  PORT=$((PORT + 2))
}

{
  echo "capacity run $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, server on core $SERVER_CORE, bots on core $BOTS_CORE, $RUN_SECONDS s measured"
  echo
  echo "| scenario | clients | Hz | map | server us per client-tick | floor us | ratio | tick p50 / p99 ms | overruns | snapshots/bot/s | kbps/bot | input-to-ack p99 ms | RSS KiB/client | errors / desyncs | asserts |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} >"$OUT/table.md"

wanted=("$@")
for s in "${SCENARIOS[@]}"; do
  read -r -a parts <<<"$s"
  if [ ${#wanted[@]} -eq 0 ] || printf '%s\n' "${wanted[@]}" | grep -qx "${parts[0]}"; then
    run_one "${parts[@]}"
  fi
done
echo
cat "$OUT/table.md"
