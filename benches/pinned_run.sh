# Sourced by benches/ab.sh and benches/transports.sh: one pinned run of a server under bots.
#
#   pinned_run SERVER_BIN "SERVER ARGS" "BOT ARGS"
#
# Starts SERVER_BIN on $SERVER_CORE, the bots (--bots and the rest in BOT ARGS) on $BOTS_CORE
# for $MEASURE + 8 seconds, reads the server's CPU from /proc over $MEASURE seconds after the
# ramp, and prints "us_per_client_tick snapshots_per_bot_per_s slowest kbps errors= desyncs=".
# Needs $out (a scratch directory), $BOTS, $SERVER_CORE, $BOTS_CORE and $MEASURE.

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

pinned_run() {
  local bin=$1 port=$((20000 + RANDOM % 20000))
  read -r -a server_args <<<"$2"
  read -r -a bot_args <<<"$3"
  taskset -c "$SERVER_CORE" "$bin" --bind "127.0.0.1:$port" --assets "$out/no-assets" \
    "${server_args[@]}" >"$out/server.log" 2>&1 &
  local server=$!
  sleep 0.5
  taskset -c "$BOTS_CORE" "$BOTS" --url "ws://127.0.0.1:$port/ws" "${bot_args[@]}" \
    --duration $((MEASURE + 8)) --threads 1 --report "$out/report.json" >/dev/null 2>&1 &
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
