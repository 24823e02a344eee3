#!/usr/bin/env bash
# The bad-network soak: 64 bots play for ten minutes through `snapwire-netsim --profile flaky`
# (100 ms +-25 ms each way, 2% loss-like stalls, and every connection cut after 5-20 s), so
# each bot drops and resumes dozens of times. It passes when the bots end with 0 errors,
# 0 desyncs, 0 restarts (a resume that came back as a new player) and all 64 connected; the
# server's tick overruns stay under 0.1% of ticks; and its memory stays flat (the last
# minute's RSS within 10% of the second minute's, after the warm-up).
#
#   benches/soak_flaky.sh              # ten minutes
#   SOAK_SECONDS=60 benches/soak_flaky.sh
#
# Environment: SOAK_SECONDS (600), BOTS (64), SERVER_CORE (0), BOTS_CORE (1: the bots and the
# link simulator), BOT_ARGS (extra bot flags, e.g. --no-fire: then every visible correction
# would be the netcode's, not a death's), OUT (target/soak: report.json, rss.csv, server.log,
# summary.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=benches/lib.sh
source benches/lib.sh

SOAK_SECONDS=${SOAK_SECONDS:-600}
BOTS=${BOTS:-64}
SERVER_CORE=${SERVER_CORE:-0}
BOTS_CORE=${BOTS_CORE:-1}
OUT=${OUT:-target/soak}
PORT=${PORT:-18480}
LINK_PORT=${LINK_PORT:-18481}
T=${T:-target/release}

cargo build --release -q -p snapwire-server -p snapwire-bots -p snapwire-netsim
mkdir -p "$OUT"

RUST_LOG=warn taskset -c "$SERVER_CORE" "$T/snapwire-server" --bind "127.0.0.1:$PORT" \
  --assets target/no-assets >"$OUT/server.log" 2>&1 &
SERVER=$!
RUST_LOG=warn taskset -c "$BOTS_CORE" "$T/snapwire-netsim" --listen "127.0.0.1:$LINK_PORT" \
  --upstream "127.0.0.1:$PORT" --profile flaky --seed 7 >"$OUT/netsim.log" 2>&1 &
LINK=$!
trap 'kill $SERVER $LINK 2>/dev/null || true' EXIT
wait_for_server "$PORT"

metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$SERVER/status"; }

ticks0=$(metric snapwire_ticks_total)
overruns0=$(metric snapwire_tick_overruns_total)
echo "seconds,rss_kib,clients,clients_away" >"$OUT/rss.csv"
(
  start=$(date +%s)
  while kill -0 "$SERVER" 2>/dev/null; do
    now=$(($(date +%s) - start))
    echo "$now,$(rss_kib),$(metric snapwire_clients),$(metric snapwire_clients_away)" >>"$OUT/rss.csv"
    sleep 10
  done
) &
SAMPLER=$!

status=0
# shellcheck disable=SC2086 # BOT_ARGS is a list of flags
taskset -c "$BOTS_CORE" "$T/snapwire-bots" --url "ws://127.0.0.1:$LINK_PORT/ws" \
  --metrics "http://127.0.0.1:$PORT/metrics" --bots "$BOTS" --duration "$SOAK_SECONDS" \
  --feel --report "$OUT/report.json" ${BOT_ARGS:-} \
  --assert errors==0 --assert desyncs==0 --assert restarts==0 \
  --assert "bots_connected_at_end==$BOTS" >"$OUT/bots.log" 2>&1 || status=$?
ticks1=$(metric snapwire_ticks_total)
overruns1=$(metric snapwire_tick_overruns_total)
kill "$SAMPLER" 2>/dev/null || true

python3 - "$OUT" "$ticks0" "$ticks1" "$overruns0" "$overruns1" "$status" <<'EOF' | tee "$OUT/summary.txt"
import csv, json, statistics, sys
out, t0, t1, o0, o1, status = sys.argv[1], *map(float, sys.argv[2:6]), int(sys.argv[6])
r = json.load(open(f"{out}/report.json"))
rows = [(int(s), int(k)) for s, k, *_ in csv.reader(open(f"{out}/rss.csv")) if s.isdigit() and k]
early = [k for s, k in rows if 60 <= s < 120] or [rows[0][1]]
late = [k for s, k in rows if s >= rows[-1][0] - 60]
growth = statistics.median(late) / statistics.median(early) - 1
overrun_share = (o1 - o0) / max(t1 - t0, 1)
print(f"bots: {r['bots_connected_at_end']}/{r['bots_requested']} connected at the end, "
      f"{r['errors']} errors, {r['desyncs']} desyncs, {r['drops']} drops, {r['resumes']} resumes, "
      f"{r['restarts']} restarts, {r['resumes_full']} full resumes")
print(f"resume cost: first snapshots {r['resume_snapshot_bytes']} B against "
      f"{r['resume_full_snapshot_bytes']} B as full snapshots "
      f"({r['resume_full_snapshot_bytes'] / max(r['resume_snapshot_bytes'], 1):.1f}x)")
print(f"feel: {r['snapshots_per_bot_per_s']:.1f} snapshots/s per bot, input-to-ack p50 "
      f"{r['input_to_ack_ms']['p50']:.0f} / p99 {r['input_to_ack_ms']['p99']:.0f} ms, "
      f"{r['visible_corrections']} visible corrections of {r['corrections']}, underruns "
      f"{100 * r['interpolation_underrun_fraction']:.2f}% at {r['interpolation_delay_ms']:.0f} ms")
print(f"server: {t1 - t0:.0f} ticks, {o1 - o0:.0f} overruns ({100 * overrun_share:.3f}%), "
      f"RSS {statistics.median(early) / 1024:.1f} MiB in the second minute, "
      f"{statistics.median(late) / 1024:.1f} MiB in the last ({100 * growth:+.1f}%)")
ok = status == 0 and overrun_share < 0.001 and growth < 0.10
print("PASS" if ok else "FAIL")
sys.exit(0 if ok else 1)
EOF
