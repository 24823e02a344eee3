#!/usr/bin/env bash
# A pinned A/B of two server builds under the same bots: the server on one core, the bots on
# the other, builds alternating (this machine is shared and noisy: only pairs run back to back
# compare), server CPU from /proc over the MEASURE seconds after the ramp.
#
#   benches/ab.sh OLD_SERVER NEW_SERVER spectators|rooms|field [PAIRS]
#
# A build of another commit: `git worktree add /tmp/old REV && CARGO_TARGET_DIR=/tmp/old-target
# cargo build --release -p snapwire-server --manifest-path /tmp/old/Cargo.toml`.
# Environment: SERVER_CORE (0), BOTS_CORE (1), BOTS (target/release/snapwire-bots),
# MEASURE (10 seconds). Prints one line per run and the medians.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,11p "$0"; exit 2; }
OLD=$1 NEW=$2 LOAD=$3 PAIRS=${4:-2}
SERVER_CORE=${SERVER_CORE:-0}
BOTS_CORE=${BOTS_CORE:-1}
BOTS=${BOTS:-target/release/snapwire-bots}
MEASURE=${MEASURE:-10}
case $LOAD in
  spectators) server_args=(--scene drift:100) bot_args=(--bots 1000 --spectate) ;;
  rooms) server_args=(--room-size 8) bot_args=(--bots 1000) ;;
  field) server_args=(--map assets/maps/field.json) bot_args=(--bots 1000) ;;
  *) echo "unknown load $LOAD" >&2; exit 2 ;;
esac
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# One run: prints "us_per_client_tick snapshots_per_bot_per_s slowest_bot".
run() {
  local bin=$1 port=$((20000 + RANDOM % 20000))
  taskset -c "$SERVER_CORE" "$bin" --bind "127.0.0.1:$port" --max-clients 1100 \
    --assets "$out/no-assets" "${server_args[@]}" >"$out/server.log" 2>&1 &
  local server=$!
  sleep 0.5
  taskset -c "$BOTS_CORE" "$BOTS" --url "ws://127.0.0.1:$port/ws" "${bot_args[@]}" \
    --duration $((MEASURE + 8)) --ramp 500 --threads 1 --report "$out/report.json" \
    >/dev/null 2>&1 &
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
      f"{report['snapshots_per_bot_per_s']:.2f} {report['snapshots_per_bot_per_s_min']:.2f}")
PY
}

old_runs=() new_runs=()
for i in $(seq 1 "$PAIRS"); do
  r=$(run "$OLD"); old_runs+=("$r"); echo "pair $i old: $r (us per client-tick, snapshots/s, slowest)"
  r=$(run "$NEW"); new_runs+=("$r"); echo "pair $i new: $r"
done
python3 - "${#old_runs[@]}" "${old_runs[@]}" "${new_runs[@]}" <<'PY'
import statistics, sys
n = int(sys.argv[1])
old = [float(r.split()[0]) for r in sys.argv[2:2 + n]]
new = [float(r.split()[0]) for r in sys.argv[2 + n:]]
mo, mn = statistics.median(old), statistics.median(new)
print(f"median us per client-tick: old {mo:.2f}, new {mn:.2f}, new / old {mn / mo:.2f}x")
PY
