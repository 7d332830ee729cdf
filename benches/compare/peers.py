#!/usr/bin/env python3
"""Solve a benchmark instance with a peer solver, for comparison with `uoom solve`.

    python3 benches/compare/peers.py INSTANCE.json --solver cpsat  [--time-limit 0.1] [--workers N] --out SOL.json
    python3 benches/compare/peers.py INSTANCE.json --solver highs  [--time-limit 3600] [--gap 1e-7] --out SOL.json
    python3 benches/compare/peers.py INSTANCE.json --solver greedy --out SOL.json

Solvers:
  cpsat   OR-Tools CP-SAT (pip install ortools): one boolean per allowed pair;
          the objective is scaled by 1000 and rounded to integers, as CP-SAT needs.
  highs   HiGHS as a MILP (pip install highspy numpy): same model, float objective,
          relative gap --gap.
  greedy  no dependency: orders by priority (highest first), then units (largest
          first), each to its cheapest allowed channel with room left.

The model of both exact peers: minimise sum over allowed pairs of
(score - penalty) * x, each order on at most one channel, each channel's units
at most its capacity (the constant sum of all penalties is added back).

The solution file has the format of docs/bench-format.md plus `solver` and
`status`; `solve_ms` counts pair generation, model building and solving, from
the instance already in memory (imports happen before the clock starts).
The objective written is recomputed with assignment.py, not taken from the peer.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Dict, List, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import assignment as bench  # noqa: E402

Pairs = List[Tuple[int, int, float]]


def pairs_by(pairs: Pairs) -> Tuple[Dict[int, List[int]], Dict[int, List[int]]]:
    """Indexes into `pairs`, grouped by order and by channel."""
    of_order: Dict[int, List[int]] = {}
    of_channel: Dict[int, List[int]] = {}
    for k, (i, j, _) in enumerate(pairs):
        of_order.setdefault(i, []).append(k)
        of_channel.setdefault(j, []).append(k)
    return of_order, of_channel


def gain(inst: dict, pair: Tuple[int, int, float]) -> float:
    """Objective change of assigning the pair's order there instead of leaving it out."""
    i, _, score = pair
    return score - bench.penalty(inst, inst["orders"][i])


def with_cpsat(inst: dict, pairs: Pairs, seconds: float, workers: int) -> Tuple[bench.Assignment, str]:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = [model.NewBoolVar(f"p{k}") for k in range(len(pairs))]
    of_order, of_channel = pairs_by(pairs)
    for ks in of_order.values():
        model.AddAtMostOne(x[k] for k in ks)
    for j, ks in of_channel.items():
        units = [inst["orders"][pairs[k][0]]["units"] for k in ks]
        model.Add(sum(u * x[k] for u, k in zip(units, ks)) <= inst["channels"][j]["capacity"])
    model.Minimize(sum(int(round(1000 * gain(inst, p))) * x[k] for k, p in enumerate(pairs)))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    if workers:
        solver.parameters.num_workers = workers
    status = solver.Solve(model)
    chosen: bench.Assignment = {}
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen = {pairs[k][0]: pairs[k][1] for k in range(len(pairs)) if solver.Value(x[k])}
    return chosen, solver.StatusName(status)


def with_highs(inst: dict, pairs: Pairs, seconds: float, rel_gap: float) -> Tuple[bench.Assignment, str]:
    import highspy
    import numpy as np

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("time_limit", float(seconds))
    h.setOptionValue("mip_rel_gap", float(rel_gap))
    n = len(pairs)
    cols = np.arange(n, dtype=np.int32)
    h.addVars(n, np.zeros(n), np.ones(n))
    h.changeColsCost(n, cols, np.array([gain(inst, p) for p in pairs], dtype=float))
    h.changeColsIntegrality(n, cols, np.array([highspy.HighsVarType.kInteger] * n))
    of_order, of_channel = pairs_by(pairs)
    for ks in of_order.values():
        h.addRow(-highspy.kHighsInf, 1.0, len(ks), np.array(ks, dtype=np.int32), np.ones(len(ks)))
    for j, ks in of_channel.items():
        units = np.array([inst["orders"][pairs[k][0]]["units"] for k in ks], dtype=float)
        h.addRow(-highspy.kHighsInf, float(inst["channels"][j]["capacity"]), len(ks),
                 np.array(ks, dtype=np.int32), units)
    h.run()
    values = h.getSolution().col_value
    chosen: bench.Assignment = {}
    if len(values) == n:
        chosen = {pairs[k][0]: pairs[k][1] for k in range(n) if values[k] > 0.5}
    return chosen, h.modelStatusToString(h.getModelStatus())


def with_greedy(inst: dict, pairs: Pairs) -> Tuple[bench.Assignment, str]:
    options: Dict[int, List[Tuple[float, int]]] = {}
    for i, j, score in pairs:
        options.setdefault(i, []).append((score, j))
    room = [c["capacity"] for c in inst["channels"]]
    orders = inst["orders"]
    chosen: bench.Assignment = {}
    for i in sorted(range(len(orders)), key=lambda i: (-orders[i]["priority"], -orders[i]["units"])):
        need = orders[i]["units"]
        for _, j in sorted(options.get(i, [])):
            if room[j] >= need:
                room[j] -= need
                chosen[i] = j
                break
    return chosen, "HEURISTIC"


def preload(solver: str) -> None:
    """Import what `solver` needs before the clock starts (a running service has it loaded)."""
    try:
        import numpy  # noqa: F401

        if solver == "cpsat":
            from ortools.sat.python import cp_model  # noqa: F401
        elif solver == "highs":
            import highspy  # noqa: F401
    except ImportError:
        pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instance")
    ap.add_argument("--solver", choices=["cpsat", "highs", "greedy"], required=True)
    ap.add_argument("--time-limit", type=float, default=0.1, help="seconds (cpsat, highs)")
    ap.add_argument("--workers", type=int, default=0, help="CP-SAT workers (0: CP-SAT's default)")
    ap.add_argument("--gap", type=float, default=1e-7, help="HiGHS relative MIP gap")
    ap.add_argument("--out", help="solution file to write")
    args = ap.parse_args()
    inst = bench.read_json(args.instance)
    preload(args.solver)
    started = time.perf_counter()
    pairs = bench.allowed_pairs(inst)
    if args.solver == "cpsat":
        chosen, status = with_cpsat(inst, pairs, args.time_limit, args.workers)
    elif args.solver == "highs":
        chosen, status = with_highs(inst, pairs, args.time_limit, args.gap)
    else:
        chosen, status = with_greedy(inst, pairs)
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    orders, channels = inst["orders"], inst["channels"]
    solution = {
        "instance": inst["name"],
        "solver": args.solver,
        "status": status,
        "assignments": [{"order": orders[i]["id"], "channel": channels[j]["id"]} for i, j in sorted(chosen.items())],
        "unassigned": [o["id"] for i, o in enumerate(orders) if i not in chosen],
        "objective": round(bench.objective(inst, chosen), 6),
        "solve_ms": round(elapsed_ms, 3),
    }
    if args.out:
        with open(args.out, "w") as f:
            json.dump(solution, f)
    print(json.dumps({k: solution[k] for k in ("instance", "solver", "status", "objective", "solve_ms")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
