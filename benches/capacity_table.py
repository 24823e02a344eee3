#!/usr/bin/env python3
"""Rows and the table of benches/capacity.sh.

`row ...` turns one run's /proc readings, bots report and floor result into a JSON line;
`table ROWS REPEAT SECONDS SERVER_CORE BOTS_CORE` prints one markdown row per scenario with the
median of each figure over the repeats. Ratios are taken per run (server and floor measured back
to back), then their median, with the range.
"""
import json
import statistics
import sys
import time


def row(args):
    (name, clients, rate, map_, scene, mode, c0, c1, t0, t1, rss0, rss1, report, floor,
     verdict, listed) = args
    clients, rate = int(clients), int(rate)
    cpu = (float(c1) - float(c0)) / 100.0
    wall = float(t1) - float(t0)
    try:
        r = json.load(open(report))
    except (OSError, ValueError):
        r = {}
    try:
        fl = json.load(open(floor))["us_per_client_tick"]
    except (OSError, ValueError, KeyError):
        fl = None
    us = cpu / wall / (clients * rate) * 1e6
    print(json.dumps({
        "scenario": name,
        "clients": f"{clients} {mode}" + (f", {listed} rooms" if int(listed) > 1 else ""),
        "hz": rate,
        "map": f"{map_.split('/')[-1]} {scene}", "server_us": us, "floor_us": fl,
        "ratio": us / fl if fl else None,
        "tick_p50": r.get("server_tick_p50_ms"), "tick_p99": r.get("server_tick_p99_ms"),
        "overruns": r.get("server_overruns"), "snapshots": r.get("snapshots_per_bot_per_s"),
        "snapshots_min": r.get("snapshots_per_bot_per_s_min"),
        "kbps": r.get("kbps_per_bot"), "ack_p99": r.get("input_to_ack_ms", {}).get("p99"),
        "join_p99": (r.get("join_ms") or {}).get("p99"),
        "rss_kib": (int(rss1) - int(rss0)) / clients, "errors": r.get("errors", clients),
        "desyncs": r.get("desyncs", 0), "asserts": verdict,
    }))


def table(args):
    path, repeat, secs, server_core, bots_core = args
    rows = [json.loads(line) for line in open(path)]
    print(f"capacity run {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC: server on core "
          f"{server_core}, bots on core {bots_core}, {secs} s measured per run, medians of "
          f"{repeat} runs")
    print()
    print("| scenario | clients | Hz | map | server us per client-tick | floor us | ratio "
          "| tick p50 / p99 ms | overruns | snapshots/bot/s (slowest bot) | kbps/bot | input-to-ack p99 ms | join p99 ms "
          "| RSS KiB/client | errors / desyncs | asserts |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")

    def med(rs, k):
        v = [r[k] for r in rs if r.get(k) is not None]
        return statistics.median(v) if v else None

    def f(v, d=1):
        return "-" if v is None else f"{v:.{d}f}"

    for name in dict.fromkeys(r["scenario"] for r in rows):
        rs = [r for r in rows if r["scenario"] == name]
        r0 = rs[0]
        ratios = [r["ratio"] for r in rs if r["ratio"]]
        spread = f" ({min(ratios):.2f}-{max(ratios):.2f})" if len(ratios) > 1 else ""
        print(f"| {name} | {r0['clients']} | {r0['hz']} | {r0['map']} "
              f"| {f(med(rs, 'server_us'), 2)} | {f(med(rs, 'floor_us'), 2)} "
              f"| {f(med(rs, 'ratio'), 2)}x{spread} "
              f"| {f(med(rs, 'tick_p50'), 2)} / {f(med(rs, 'tick_p99'), 2)} "
              f"| {f(med(rs, 'overruns'), 0)} | {f(med(rs, 'snapshots'), 2)} ({f(med(rs, 'snapshots_min'), 2)}) | {f(med(rs, 'kbps'))} "
              f"| {f(med(rs, 'ack_p99'))} | {f(med(rs, 'join_p99'))} | {f(med(rs, 'rss_kib'))} "
              f"| {sum(r['errors'] for r in rs)} / {sum(r['desyncs'] for r in rs)} "
              f"| {'/'.join(r['asserts'] for r in rs)} |")


if __name__ == "__main__":
    {"row": row, "table": table}[sys.argv[1]](sys.argv[2:])
