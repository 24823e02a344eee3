#!/usr/bin/env bash
# Server CPU per client-tick over WebSocket and over WebTransport, same server build, same
# bots, runs alternating (this machine is shared and noisy: only pairs run back to back
# compare): the server on one core, the bots on the other, server CPU from /proc over the
# MEASURE seconds after the ramp.
#
#   benches/transports.sh [SERVER] [BOTS_COUNT] [PAIRS]
#
# Defaults: target/release/snapwire-server, 500 spectators of a drift:100 scene, 3 pairs.
# Environment: SERVER_CORE (0), BOTS_CORE (1), BOTS (target/release/snapwire-bots),
# MEASURE (10 seconds), BOT_ARGS (--spectate). Prints one line per run and the medians.
set -euo pipefail
SERVER=${1:-target/release/snapwire-server}
COUNT=${2:-500}
PAIRS=${3:-3}
SERVER_CORE=${SERVER_CORE:-0}
BOTS_CORE=${BOTS_CORE:-1}
BOTS=${BOTS:-target/release/snapwire-bots}
MEASURE=${MEASURE:-10}
read -r -a bot_args <<<"${BOT_ARGS:---spectate}"
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# One run over transport $1: prints "us_per_client_tick snapshots_per_bot_per_s slowest kbps".
run() {
  local transport=$1 port=$((20000 + RANDOM % 20000))
  taskset -c "$SERVER_CORE" "$SERVER" --bind "127.0.0.1:$port" --max-clients $((COUNT + 100)) \
    --assets "$out/no-assets" --scene drift:100 >"$out/server.log" 2>&1 &
  local server=$!
  sleep 0.5
  taskset -c "$BOTS_CORE" "$BOTS" --url "ws://127.0.0.1:$port/ws" --bots "$COUNT" \
    "${bot_args[@]}" --transport "$transport" --duration $((MEASURE + 8)) --ramp 250 \
    --threads 1 --report "$out/report.json" >/dev/null 2>&1 &
  local bots=$!
  sleep 6
  local before after
  before=$(cpu_ticks "$server")
  sleep "$MEASURE"
  after=$(cpu_ticks "$server")
  wait "$bots" || true
  kill "$server"
  wait "$server" 2>/dev/null || true
  python3 - "$before" "$after" "$MEASURE" "$out/report.json" <<'PY'
import json, os, sys
before, after, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
report = json.load(open(sys.argv[4]))
hz = os.sysconf("SC_CLK_TCK")
client_ticks = report["bots_connected"] * 60 * seconds
print(f"{(after - before) / hz * 1e6 / client_ticks:.2f} "
      f"{report['snapshots_per_bot_per_s']:.2f} {report['snapshots_per_bot_per_s_min']:.2f} "
      f"{report['kbps_per_bot']:.1f} errors={report['errors']} desyncs={report['desyncs']}")
PY
}

ws_runs=() wt_runs=()
for i in $(seq 1 "$PAIRS"); do
  r=$(run websocket); ws_runs+=("$r"); echo "pair $i websocket:    $r (us per client-tick, snapshots/s, slowest, kbps per bot)"
  r=$(run webtransport); wt_runs+=("$r"); echo "pair $i webtransport: $r"
done
python3 - "${#ws_runs[@]}" "${ws_runs[@]}" "${wt_runs[@]}" <<'PY'
import statistics, sys
n = int(sys.argv[1])
ws = [float(r.split()[0]) for r in sys.argv[2:2 + n]]
wt = [float(r.split()[0]) for r in sys.argv[2 + n:]]
a, b = statistics.median(ws), statistics.median(wt)
print(f"median us per client-tick: websocket {a:.2f}, webtransport {b:.2f}, webtransport / websocket {b / a:.2f}x")
PY
