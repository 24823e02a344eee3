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
# OLD_BOTS (the bots for OLD, when the protocol version changed between them; default BOTS),
# MEASURE (10 seconds). Prints one line per run and the medians.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,12p "$0"; exit 2; }
OLD=$1 NEW=$2 LOAD=$3 PAIRS=${4:-2}
SERVER_CORE=${SERVER_CORE:-0}
BOTS_CORE=${BOTS_CORE:-1}
BOTS=${BOTS:-target/release/snapwire-bots}
MEASURE=${MEASURE:-10}
case $LOAD in
  spectators) server_args="--max-clients 1100 --scene drift:100" bot_args="--bots 1000 --spectate --ramp 500" ;;
  rooms) server_args="--max-clients 1100 --room-size 8" bot_args="--bots 1000 --ramp 500" ;;
  field) server_args="--max-clients 1100 --map assets/maps/field.json" bot_args="--bots 1000 --ramp 500" ;;
  *) echo "unknown load $LOAD" >&2; exit 2 ;;
esac
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
# shellcheck source=benches/pinned_run.sh
. "$(dirname "$0")/pinned_run.sh"
NEW_BOTS=$BOTS
OLD_BOTS=${OLD_BOTS:-$BOTS}
run() { BOTS=$2 pinned_run "$1" "$server_args" "$bot_args"; }

old_runs=() new_runs=()
for i in $(seq 1 "$PAIRS"); do
  r=$(run "$OLD" "$OLD_BOTS"); old_runs+=("$r"); echo "pair $i old: $r (us per client-tick, snapshots/s, slowest)"
  r=$(run "$NEW" "$NEW_BOTS"); new_runs+=("$r"); echo "pair $i new: $r"
done
python3 - "${#old_runs[@]}" "${old_runs[@]}" "${new_runs[@]}" <<'PY'
import statistics, sys
n = int(sys.argv[1])
old = [float(r.split()[0]) for r in sys.argv[2:2 + n]]
new = [float(r.split()[0]) for r in sys.argv[2 + n:]]
mo, mn = statistics.median(old), statistics.median(new)
print(f"median us per client-tick: old {mo:.2f}, new {mn:.2f}, new / old {mn / mo:.2f}x")
PY
