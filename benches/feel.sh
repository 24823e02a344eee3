#!/usr/bin/env bash
# How the game feels over each transport through a simulated link, in one run: a release
# server, snapwire-netsim in front of it (TCP and UDP on one port number), then the same
# player bots over WebSocket and over WebTransport, one after the other.
#
#   benches/feel.sh [PROFILE] [BOTS] [SECONDS]
#
# Defaults: average (100 ms +-25 ms each way, 2% loss), 8 bots, 20 s, `--feel --no-fire`.
# Prints one row per transport: snapshots/s per bot, interpolation delay, underruns, input to
# ack p50 and p99, the longest wait any bot had between two snapshots, the kbps each bot
# received (median; `bad` caps each flow at 1,000), desyncs, mispredictions, errors.
set -euo pipefail
PROFILE=${1:-average}
BOTS=${2:-8}
SECONDS_=${3:-20}
cargo build --release -q -p snapwire-server -p snapwire-bots -p snapwire-netsim
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
port=$((20000 + RANDOM % 20000))
target/release/snapwire-server --bind "127.0.0.1:$port" --assets "$out/no-assets" >"$out/server.log" 2>&1 &
target/release/snapwire-netsim --listen "127.0.0.1:$((port + 1))" --upstream "127.0.0.1:$port" \
  --profile "$PROFILE" >"$out/netsim.log" 2>&1 &
sleep 0.5
printf '%-13s %8s %9s %9s %8s %8s %8s %6s %7s %7s %6s\n' transport snaps/s interp_ms underrun \
  ack_p50 ack_p99 gap_max kbps desync mispred errors
for transport in websocket webtransport; do
  target/release/snapwire-bots --url "ws://127.0.0.1:$((port + 1))/ws" --bots "$BOTS" \
    --duration "$SECONDS_" --no-fire --feel --transport "$transport" \
    --report "$out/$transport.json" >/dev/null 2>&1 || true
  python3 - "$transport" "$out/$transport.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
print(f"{sys.argv[1]:<13} {r['snapshots_per_bot_per_s']:8.1f} {r['interpolation_delay_ms']:9.0f} "
      f"{100 * r['interpolation_underrun_fraction']:8.2f}% {r['input_to_ack_ms']['p50']:8.0f} "
      f"{r['input_to_ack_ms']['p99']:8.0f} {r['snapshot_gap_ms_max']:8.0f} "
      f"{r['kbps_per_bot']:6.1f} {r['desyncs']:7d} "
      f"{r['mispredictions']:7d} {r['errors']:6d}")
PY
done
