#!/usr/bin/env python3
"""uoom from Python beside OR-Tools CP-SAT from Python, in the same process and run.

    python bench_python.py [--instance b-m-0] [--cpsat-limits 0.1,1,10] [--json]

For the batch: `uoom.solve(instance, time_limit_ms)` and CP-SAT (model built and
solved as benches/compare/peers.py does, numpy-vectorised pair generation, so
Python overhead does not count against CP-SAT more than it must), each timed
from the instance dict in memory to the assignment, each objective recomputed by
benches/compare/assignment.py (the verifier's formulas), gap to the best known
objective of benches/instances/reference.json. For one order: the wall time per
call of routing a single order from Python (`Ranker.rank` top-1 on the rt-1000-0
channels, `Router.submit` when the engine is built in, and `uoom.solve` on
rt-50-0), median of many calls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import uoom

ROOT = Path(__file__).resolve().parents[2]


COMPARE = ROOT / "benches" / "compare"


def instances_dir(arg: str) -> Path:
    cand = Path(arg) if arg else ROOT / "benches" / "instances"
    if not (cand / "reference.json").exists():
        sys.exit(f"no benchmark instances in {cand} (pass --instances-dir)")
    return cand


def per_call_us(fn: Callable[[], Any], iters: int) -> Dict[str, float]:
    """Median and p99 of single-call wall times, in µs (after a warm-up)."""
    for _ in range(min(1000, iters // 10 + 1)):
        fn()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iters):
        t0 = clock()
        fn()
        samples.append((clock() - t0) / 1000.0)
    samples.sort()
    return {"p50_us": round(samples[len(samples) // 2], 2), "p99_us": round(samples[int(len(samples) * 0.99)], 2),
            "calls": iters}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances-dir", default="", help="benchmark instances (default: benches/instances)")
    ap.add_argument("--instance", default="b-m-0")
    ap.add_argument("--time-limit-ms", type=int, default=100, help="uoom's budget")
    ap.add_argument("--runs", type=int, default=5, help="uoom.solve runs (median reported)")
    ap.add_argument("--cpsat-limits", default="0.1,1", help="CP-SAT time limits in seconds, comma-separated")
    ap.add_argument("--route-iters", type=int, default=20000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    idir = instances_dir(args.instances_dir)
    sys.path.insert(0, str(COMPARE))
    import assignment as model  # type: ignore[import-not-found]
    import peers  # type: ignore[import-not-found]

    inst = model.read_json(str(idir / f"{args.instance}.json"))
    refs = json.load(open(idir / "reference.json")).get(args.instance, {})
    best = refs.get("best_known")
    out: Dict[str, Any] = {"instance": args.instance, "orders": len(inst["orders"]),
                           "channels": len(inst["channels"]), "best_known": best, "uoom_version": uoom.__version__,
                           "cpus": os.cpu_count()}

    def verified(assignment: Dict[int, int]) -> Dict[str, Any]:
        obj = model.objective(inst, assignment)
        return {"objective": round(obj, 6), "gap": None if best is None else round((obj - best) / abs(best), 6),
                "assigned": len(assignment)}

    order_ix = {o["id"]: i for i, o in enumerate(inst["orders"])}
    chan_ix = {c["id"]: j for j, c in enumerate(inst["channels"])}

    def uoom_run(exact: bool, limit: int) -> Dict[str, Any]:
        t0 = time.perf_counter()
        sol = uoom.solve(inst, time_limit_ms=limit, exact=exact, explain=False)
        wall = (time.perf_counter() - t0) * 1e3
        a = {order_ix[x["order"]]: chan_ix[x["channel"]] for x in sol["assignments"]}
        return {"wall_ms": round(wall, 2), "solve_ms": round(sol["solve_ms"], 2), "method": sol["method"],
                "claimed_objective": round(sol["objective"], 6), **verified(a)}

    runs = [uoom_run(False, args.time_limit_ms) for _ in range(args.runs)]
    runs.sort(key=lambda r: r["wall_ms"])
    med = runs[len(runs) // 2]
    out["uoom"] = {**med, "time_limit_ms": args.time_limit_ms, "runs": args.runs,
                   "wall_ms_all": [r["wall_ms"] for r in runs],
                   "objective_all": sorted({r["objective"] for r in runs})}
    out["uoom_exact"] = uoom_run(True, args.time_limit_ms)

    import numpy  # noqa: F401  (loaded before the clock, as in peers.py)
    from ortools.sat.python import cp_model  # noqa: F401

    out["cpsat"] = []
    for limit in [float(x) for x in args.cpsat_limits.split(",") if x]:
        t0 = time.perf_counter()
        pairs = model.allowed_pairs(inst)
        t_pairs = time.perf_counter()
        assignment, status = peers.with_cpsat(inst, pairs, limit, 0)
        wall = (time.perf_counter() - t0) * 1e3
        out["cpsat"].append({"time_limit_s": limit, "wall_ms": round(wall, 2),
                             "pairs_ms": round((t_pairs - t0) * 1e3, 2), "status": status, **verified(assignment)})

    # One order at a time.
    rt = model.read_json(str(idir / "rt-1000-0.json"))
    o = rt["orders"][0]
    route: Dict[str, Any] = {}
    if hasattr(uoom, "Ranker"):
        ranker = uoom.Ranker([uoom.Channel.from_dict(c) for c in rt["channels"]])
        route["ranker_rank_top1_1000_channels"] = per_call_us(
            lambda: ranker.rank(o["lat"], o["lon"], vehicle=o["vehicle"], units=o["units"],
                                deadline_min=o["deadline_min"], k=1), args.route_iters)
        # The same call on a one-channel ranker: what is left is the cost of
        # crossing the boundary (argument parsing, result dicts), not ranking.
        one = uoom.Ranker([uoom.Channel.from_dict(rt["channels"][0])])
        route["ranker_rank_top1_1_channel"] = per_call_us(
            lambda: one.rank(o["lat"], o["lon"], vehicle=o["vehicle"], units=o["units"],
                             deadline_min=o["deadline_min"], k=1), args.route_iters)
        qs = [{"lat": o["lat"], "lon": o["lon"], "vehicle": o["vehicle"], "units": o["units"],
               "deadline_min": o["deadline_min"]}] * 1000
        per_batch = per_call_us(lambda: ranker.rank_many(qs, k=1), 50)
        route["ranker_rank_many_per_order_us_1000_channels"] = round(per_batch["p50_us"] / len(qs), 2)
    if hasattr(uoom, "Router"):
        route.update(bench_router(args.route_iters))
    rt50 = model.read_json(str(idir / "rt-50-0.json"))
    route["solve_rt_50_0"] = per_call_us(lambda: uoom.solve(rt50, time_limit_ms=1, explain=False),
                                         max(1000, args.route_iters // 10))
    out["one_order"] = route

    if args.json:
        print(json.dumps(out))
    else:
        print(json.dumps(out, indent=2))
    return 0


def bench_router(iters: int) -> Dict[str, Any]:
    """Router.submit for one order: the per-call cost from Python, with the
    Rust-side time the router reports, so the boundary overhead is visible."""
    import uoom as u

    channels = [u.Channel(f"c{j}", "dark_store", 24.70 + 0.01 * (j % 10), 46.60 + 0.01 * (j // 10),
                          radius_km=15.0, capacity=10_000_000, vehicles=["bike", "car"], base_cost=2.0,
                          cost_per_km=0.5, prep_min=8.0, speed_kmh=25.0, quality=0.9) for j in range(50)]
    router = u.Router(channels)
    req = {"customerId": "123e4567-e89b-12d3-a456-426614174000",
           "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
           "deliveryAddress": {"street": "1 A St", "city": "Riyadh", "postalCode": "12211",
                               "latitude": 24.71, "longitude": 46.67}}
    stats = per_call_us(lambda: router.submit(req), iters)
    batch = [req] * 1000
    per_batch = per_call_us(lambda: router.route_many(batch), 20)
    return {"router_submit_50_channels": stats,
            "router_route_many_per_order_us": round(per_batch["p50_us"] / len(batch), 2)}


if __name__ == "__main__":
    sys.exit(main())
