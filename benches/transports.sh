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
BOT_ARGS=${BOT_ARGS:---spectate}
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
# shellcheck source=benches/pinned_run.sh
. "$(dirname "$0")/pinned_run.sh"
run() {
  pinned_run "$SERVER" "--max-clients $((COUNT + 100)) --scene drift:100" \
    "--bots $COUNT $BOT_ARGS --transport $1 --ramp 250"
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
