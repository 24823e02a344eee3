#!/usr/bin/env bash
# How long a new client waits for a large world over each transport, through a simulated link:
# a release server with 1,000 drifting entities, snapwire-netsim in front of it, then
# spectators (who see every entity) joining over WebSocket and over WebTransport.
#
#   benches/full_view.sh [PROFILE] [SPECTATORS] [ENTITIES] [KBPS]
#
# Defaults: average (100 ms +-25 ms each way, 2% loss), 8 spectators, 1,000 entities, no byte
# budget (a KBPS sets --max-kbps-per-client). Prints one row per transport: the time from
# opening the connection to the first verified snapshot (the whole world when there is no
# budget) as p50, p99 and max (join: the transport's handshakes included; view: from the
# Welcome), the snapshots a second each got, desyncs and errors. Over
# WebTransport the world's first copy comes in parts no larger than 1,200 bytes (PROTOCOL.md,
# "Parts"); the server's snapwire_entities_deferred_total is printed when a budget is set.
# SERVER (a server binary; default target/release/snapwire-server) compares another build.
set -euo pipefail
PROFILE=${1:-average}
SPECTATORS=${2:-8}
ENTITIES=${3:-1000}
KBPS=${4:-}
cargo build --release -q -p snapwire-server -p snapwire-bots -p snapwire-netsim
out=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$out"' EXIT
port=$((20000 + RANDOM % 20000))
budget=()
if [ -n "$KBPS" ]; then budget=(--max-kbps-per-client "$KBPS"); fi
"${SERVER:-target/release/snapwire-server}" --bind "127.0.0.1:$port" --assets "$out/no-assets" \
  --scene "drift:$ENTITIES" "${budget[@]}" >"$out/server.log" 2>&1 &
target/release/snapwire-netsim --listen "127.0.0.1:$((port + 1))" --upstream "127.0.0.1:$port" \
  --profile "$PROFILE" >"$out/netsim.log" 2>&1 &
sleep 0.5
printf '%-13s %9s %9s %9s %9s %9s %9s %8s %7s %6s\n' transport join_p50 join_p99 join_max \
  view_p50 view_p99 view_max snaps/s desync errors
for transport in websocket webtransport; do
  target/release/snapwire-bots --url "ws://127.0.0.1:$((port + 1))/ws" --bots "$SPECTATORS" \
    --spectate --duration 5 --transport "$transport" \
    --report "$out/$transport.json" >/dev/null 2>&1 || true
  python3 - "$transport" "$out/$transport.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
j, v = r['join_ms'], r['view_ms']
print(f"{sys.argv[1]:<13} {j['p50']:9.0f} {j['p99']:9.0f} {r['join_ms_max']:9.0f} "
      f"{v['p50']:9.0f} {v['p99']:9.0f} {r['view_ms_max']:9.0f} "
      f"{r['snapshots_per_bot_per_s']:8.1f} {r['desyncs']:7d} {r['errors']:6d}")
PY
done
if [ -n "$KBPS" ]; then
  curl -s "http://127.0.0.1:$port/metrics" | grep -E '^snapwire_(entities_deferred|snapshots_over_budget)_total' || true
fi
