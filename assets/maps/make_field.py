#!/usr/bin/env python3
"""Writes field.json: a 256 x 256 unit map for crowds (the capacity runs' 1,500 players).

Seeded, so the file is reproducible: `python3 assets/maps/make_field.py > assets/maps/field.json`.
Walls are scattered blocks; spawn points sit on a jittered 18 x 18 grid, each at least one unit
clear of every wall, so players start spread over the whole field and each sees tens of others.
"""
import json
import random

SIZE = 256.0
rng = random.Random(20261126)

walls = [
    {"x": 0.0, "y": 0.0, "w": SIZE, "h": 1.0},
    {"x": 0.0, "y": SIZE - 1.0, "w": SIZE, "h": 1.0},
    {"x": 0.0, "y": 0.0, "w": 1.0, "h": SIZE},
    {"x": SIZE - 1.0, "y": 0.0, "w": 1.0, "h": SIZE},
]
for _ in range(120):
    long, short = rng.uniform(3.0, 12.0), rng.uniform(1.0, 2.0)
    w, h = (long, short) if rng.random() < 0.5 else (short, long)
    x = round(rng.uniform(4.0, SIZE - 4.0 - w), 1)
    y = round(rng.uniform(4.0, SIZE - 4.0 - h), 1)
    walls.append({"x": x, "y": y, "w": round(w, 1), "h": round(h, 1)})


def clear(px, py, margin=1.5):
    for r in walls:
        dx = max(r["x"] - px, 0.0, px - (r["x"] + r["w"]))
        dy = max(r["y"] - py, 0.0, py - (r["y"] + r["h"]))
        if dx * dx + dy * dy < margin * margin:
            return False
    return True


spawns = []
step = (SIZE - 16.0) / 17
for i in range(18):
    for j in range(18):
        for _ in range(20):
            x = round(8.0 + i * step + rng.uniform(-3.0, 3.0), 1)
            y = round(8.0 + j * step + rng.uniform(-3.0, 3.0), 1)
            if clear(x, y):
                spawns.append({"x": x, "y": y})
                break

print(json.dumps({"name": "field", "width": SIZE, "height": SIZE, "walls": walls, "spawns": spawns}, indent=1))
