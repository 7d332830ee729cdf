#!/usr/bin/env python3
"""The "MCF+repair" peer: OR-Tools' min-cost flow on the transportation
relaxation, rounding, greedy repair and a local search.

    python3 benches/compare/mcf_peer.py INSTANCE.json --time-limit 0.1 --out SOL.json

Needs ortools and numpy. solve_ms counts everything from the instance in
memory (feasible pairs, vectorised with numpy; the flow; rounding; repair; local
search), as the benchmark asks; imports and file reading are excluded.

1. Relaxation in units: order i supplies u_i units; a unit of i costs
   score_ij / u_i on channel j (capacity cap_j) or pen_i / u_i on a direct
   "unassigned" arc. Costs are scaled to integers (1e4 per unit).
2. Rounding: an order the flow places whole keeps its channel (or stays out).
3. Repair: split orders, largest first, go to their cheapest channel with room.
4. Local search until no move improves or the time limit: shift (an order to a
   cheaper channel with room, or in from the unassigned pool), swap (two
   orders on two channels exchange places when both fit) and eject (an
   unassigned order takes the place of one that then goes out).
"""
import argparse
import json
import math
import sys
import time

import numpy as np
from ortools.graph.python import min_cost_flow

R_KM = 6371.0
SLACK = 1e-9
SCALE = 1e4


def pairs(inst):
    O, C, w = inst["orders"], inst["channels"], inst["weights"]
    olat = np.radians([o["lat"] for o in O])[:, None]
    olon = np.radians([o["lon"] for o in O])[:, None]
    clat = np.radians([c["lat"] for c in C])[None, :]
    clon = np.radians([c["lon"] for c in C])[None, :]
    h = np.sin((clat - olat) / 2) ** 2 + np.cos(olat) * np.cos(clat) * np.sin((clon - olon) / 2) ** 2
    d = 2 * R_KM * np.arcsin(np.sqrt(h))
    col = lambda k: np.array([c[k] for c in C], dtype=float)[None, :]
    eta = col("prep_min") + 60.0 * d / col("speed_kmh")
    score = w["cost"] * (col("base_cost") + col("cost_per_km") * d) + w["time"] * eta + w["quality"] * (1.0 - col("quality"))
    vehicles = sorted({v for c in C for v in c["vehicles"]} | {o["vehicle"] for o in O})
    vix = {v: k for k, v in enumerate(vehicles)}
    cveh = np.zeros((len(vehicles), len(C)), dtype=bool)
    for j, c in enumerate(C):
        for v in c["vehicles"]:
            cveh[vix[v], j] = True
    ok = cveh[[vix[o["vehicle"]] for o in O], :]
    ok &= np.array([c["status"] == "up" for c in C])[None, :]
    ok &= d <= col("radius_km") + SLACK
    ok &= eta <= np.array([o["deadline_min"] for o in O], dtype=float)[:, None] + SLACK
    pen = np.array([inst["unassigned_penalty"] * o["priority"] for o in O], dtype=float)
    ok &= score < pen[:, None]  # a pair dearer than the penalty is never used
    ii, jj = np.nonzero(ok)
    return ii, jj, score[ii, jj], pen


def solve(inst, time_limit):
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    n, m = len(inst["orders"]), len(inst["channels"])
    units = np.array([o["units"] for o in inst["orders"]], dtype=np.int64)
    cap = np.array([c["capacity"] for c in inst["channels"]], dtype=np.int64)
    ii, jj, sc, pen = pairs(inst)
    # Nodes: orders 0..n-1, channels n..n+m-1, sink n+m.
    sink = n + m
    mcf = min_cost_flow.SimpleMinCostFlow()
    per_unit = np.rint(SCALE * sc / units[ii]).astype(np.int64)
    arcs = mcf.add_arcs_with_capacity_and_unit_cost(ii, n + jj, units[ii], per_unit)
    mcf.add_arcs_with_capacity_and_unit_cost(np.arange(n), np.full(n, sink), units,
                                             np.rint(SCALE * pen / units).astype(np.int64))
    mcf.add_arcs_with_capacity_and_unit_cost(n + np.arange(m), np.full(m, sink), cap, np.zeros(m, dtype=np.int64))
    mcf.set_nodes_supplies(np.arange(n + m + 1), np.concatenate([units, np.zeros(m, dtype=np.int64), [-units.sum()]]))
    if mcf.solve() != mcf.OPTIMAL:
        raise SystemExit("min-cost flow failed")
    flow = mcf.flows(arcs)
    # Per-order options (channel, score), cheapest first.
    opts = [[] for _ in range(n)]
    for i, j, s in zip(ii.tolist(), jj.tolist(), sc.tolist()):
        opts[i].append((s, j))
    for o in opts:
        o.sort()
    score = {(i, j): s for i, j, s in zip(ii.tolist(), jj.tolist(), sc.tolist())}
    asg = [-1] * n
    free = cap.tolist()
    split = []
    for i, j, f in zip(ii.tolist(), jj.tolist(), flow.tolist()):
        if f == units[i]:
            asg[i] = j
            free[j] -= int(units[i])
        elif f > 0 and i not in split:
            split.append(i)
    u = units.tolist()
    penl = pen.tolist()
    # Repair: split orders, largest first, to their cheapest channel with room.
    for i in sorted(split, key=lambda i: (-u[i], i)):
        if asg[i] >= 0:
            continue
        for s, j in opts[i]:
            if free[j] >= u[i]:
                asg[i], free[j] = j, free[j] - u[i]
                break
    members = [set() for _ in range(m)]
    for i, j in enumerate(asg):
        if j >= 0:
            members[j].add(i)
    cost = lambda i, j: penl[i] if j < 0 else score[(i, j)]
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for i in range(n):  # shift
            here = cost(i, asg[i])
            for s, j in opts[i]:
                if s >= here - 1e-9:
                    break
                if j != asg[i] and free[j] >= u[i]:
                    if asg[i] >= 0:
                        free[asg[i]] += u[i]
                        members[asg[i]].discard(i)
                    asg[i], free[j] = j, free[j] - u[i]
                    members[j].add(i)
                    improved = True
                    break
        if time.perf_counter() >= deadline:
            break
        for i in range(n):  # swap
            a = asg[i]
            if a < 0:
                continue
            here = cost(i, a)
            for s, b in opts[i]:
                if s >= here - 1e-9 or time.perf_counter() >= deadline:
                    break
                if b == a:
                    continue
                gain_i = here - s
                for k in list(members[b]):
                    if (k, a) not in score:
                        continue
                    if free[b] + u[k] < u[i] or free[a] + u[i] < u[k]:
                        continue
                    if gain_i + cost(k, b) - score[(k, a)] > 1e-9:
                        members[a].discard(i)
                        members[b].discard(k)
                        free[a] += u[i] - u[k]
                        free[b] += u[k] - u[i]
                        asg[i], asg[k] = b, a
                        members[b].add(i)
                        members[a].add(k)
                        improved = True
                        break
                if asg[i] != a:
                    break
        for i in range(n):  # eject: an unassigned order takes the place of one that goes out
            if asg[i] >= 0 or time.perf_counter() >= deadline:
                continue
            for s, j in opts[i]:
                gain_i = penl[i] - s
                for k in list(members[j]):
                    if free[j] + u[k] >= u[i] and gain_i - (penl[k] - score[(k, j)]) > 1e-9:
                        members[j].discard(k)
                        asg[k] = -1
                        free[j] += u[k] - u[i]
                        asg[i] = j
                        members[j].add(i)
                        improved = True
                        break
                if asg[i] >= 0:
                    break
    total = sum(cost(i, asg[i]) for i in range(n))
    ms = 1e3 * (time.perf_counter() - t0)
    return asg, total, ms


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instance")
    ap.add_argument("--time-limit", type=float, default=0.1, help="seconds")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    inst = json.load(open(args.instance))
    asg, total, ms = solve(inst, args.time_limit)
    O, C = inst["orders"], inst["channels"]
    sol = {
        "instance": inst["name"],
        "assignments": [{"order": O[i]["id"], "channel": C[j]["id"]} for i, j in enumerate(asg) if j >= 0],
        "unassigned": [O[i]["id"] for i, j in enumerate(asg) if j < 0],
        "objective": total,
        "solve_ms": ms,
        "status": "HEURISTIC",
    }
    json.dump(sol, open(args.out, "w"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
