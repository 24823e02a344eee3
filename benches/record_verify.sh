#!/usr/bin/env bash
# A recorded match, re-simulated: 16 bots play a minute in the arena (firing) on a release
# server with `--record`; the server stops (flushing the recording), then
# `snapwire-server replay FILE --verify` re-simulates every tick. Prints the recording's size
# per player-minute and the time to verify it.
#
#   benches/record_verify.sh
#   SECONDS_OF_PLAY=10 BOTS=4 benches/record_verify.sh
#
# Environment: SECONDS_OF_PLAY (60), BOTS (16), OUT (target/record: the recording, logs).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

SECONDS_OF_PLAY=${SECONDS_OF_PLAY:-60}
BOTS=${BOTS:-16}
OUT=${OUT:-target/record}
PORT=${PORT:-18490}
T=${T:-target/release}

cargo build --release -q -p snapwire-server -p snapwire-bots
rm -rf "$OUT"
mkdir -p "$OUT/files"

RUST_LOG=warn "$T/snapwire-server" --bind "127.0.0.1:$PORT" --record "$OUT/files" \
  --assets target/no-assets >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
wait_for_server "$PORT"
"$T/snapwire-bots" --url "ws://127.0.0.1:$PORT/ws" --bots "$BOTS" \
  --duration "$SECONDS_OF_PLAY" --report "$OUT/bots.json" >"$OUT/bots.log" 2>&1
kill -INT "$SERVER"
wait "$SERVER" || true

file=$(ls "$OUT"/files/*.snapwrec)
bytes=$(stat -c %s "$file")
start=$(date +%s.%N)
"$T/snapwire-server" replay "$file" --verify | tee "$OUT/verify.txt"
end=$(date +%s.%N)
python3 - "$bytes" "$BOTS" "$start" "$end" "$OUT/verify.txt" <<'EOF'
import re, sys
bytes_, bots, start, end = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ticks = int(re.search(r"(\d+) ticks", open(sys.argv[5]).read()).group(1))
minutes = ticks / 60 / 60
print(f"{bytes_} bytes for {bots} players over {ticks} ticks ({60 * minutes:.1f} s): "
      f"{bytes_ / (bots * minutes):.0f} bytes per player-minute; "
      f"verified in {end - start:.2f} s (the whole command, release build)")
EOF
