#!/usr/bin/env python3
"""uoom solve at several budgets, each run twice, optionally under load.

    python3 benches/compare/budgets.py [--budgets 10,20,100] [--load] [--only b-m-0,t-1]

For each public instance (benches/instances/) and budget: gap to best_known
(objective recomputed and feasibility checked here, by the benchmark's rules),
solve_ms of both runs, whether the two runs gave the same assignment, and the
method and clock_cut fields uoom reports. --load runs a second process burning
both cores (two `yes > /dev/null`) during the runs. Prints a markdown table.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INST = os.path.join(ROOT, "benches", "instances")
R_KM = 6371.0
SLACK = 1e-9


def pair(inst, o, c):
    p1, p2 = math.radians(o["lat"]), math.radians(c["lat"])
    dp, dl = p2 - p1, math.radians(c["lon"] - o["lon"])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    d = 2 * R_KM * math.asin(math.sqrt(h))
    eta = c["prep_min"] + 60.0 * d / c["speed_kmh"]
    w = inst["weights"]
    score = w["cost"] * (c["base_cost"] + c["cost_per_km"] * d) + w["time"] * eta + w["quality"] * (1.0 - c["quality"])
    ok = (c["status"] == "up" and d <= c["radius_km"] + SLACK
          and o["vehicle"] in c["vehicles"] and eta <= o["deadline_min"] + SLACK)
    return ok, score


def evaluate(inst, sol):
    """(feasible, objective) of a solution, by the benchmark's rules."""
    oix = {o["id"]: i for i, o in enumerate(inst["orders"])}
    cix = {c["id"]: j for j, c in enumerate(inst["channels"])}
    used = [0] * len(inst["channels"])
    asg = {}
    ok = True
    for a in sol["assignments"]:
        i, j = oix.get(a["order"]), cix.get(a["channel"])
        if i is None or j is None or i in asg:
            return False, None
        f, _ = pair(inst, inst["orders"][i], inst["channels"][j])
        ok &= f
        asg[i] = j
        used[j] += inst["orders"][i]["units"]
    ok &= all(u <= c["capacity"] for u, c in zip(used, inst["channels"]))
    total = 0.0
    for i, o in enumerate(inst["orders"]):
        j = asg.get(i)
        total += inst["unassigned_penalty"] * o["priority"] if j is None else pair(inst, o, inst["channels"][j])[1]
    return ok, total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budgets", default="10,20,100")
    ap.add_argument("--only")
    ap.add_argument("--load", action="store_true")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--uoom", default=os.path.join(ROOT, "target", "release", "uoom"))
    args = ap.parse_args()
    ref = json.load(open(os.path.join(INST, "reference.json")))
    names = sorted(f[:-5] for f in os.listdir(INST) if f.endswith(".json") and f != "reference.json")
    if args.only:
        names = [n for n in names if n in args.only.split(",")]
    budgets = [int(b) for b in args.budgets.split(",")]
    burners = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL) for _ in range(2)] if args.load else []
    try:
        print("| instance | budget ms | gap % | solve_ms (runs) | same | method | clock_cut |")
        print("|---|---|---|---|---|---|---|")
        worst = {}
        for n in names:
            path = os.path.join(INST, n + ".json")
            inst = json.load(open(path))
            best = ref.get(n, {}).get("best_known")
            for b in budgets:
                sols = []
                for _ in range(args.runs):
                    with tempfile.NamedTemporaryFile(suffix=".json") as f:
                        subprocess.run([args.uoom, "solve", path, "--time-limit-ms", str(b), "-o", f.name],
                                       check=True, stderr=subprocess.DEVNULL)
                        sols.append(json.load(open(f.name)))
                feas, obj = evaluate(inst, sols[0])
                gap = "INFEASIBLE" if not feas else ("n/a" if best is None else f"{100 * (obj - best) / abs(best):.4f}")
                same = len({json.dumps(sorted((a["order"], a["channel"]) for a in s["assignments"])) for s in sols}) == 1
                ms = [s["solve_ms"] for s in sols]
                worst[b] = max(worst.get(b, 0.0), max(ms) - b)
                print(f"| {n} | {b} | {gap} | {' / '.join(f'{m:.1f}' for m in ms)} | {'same' if same else 'DIFFERENT'} |"
                      f" {sols[0].get('method')} | {','.join(str(s.get('clock_cut')) for s in sols)} |", flush=True)
        print("\nworst solve_ms - budget: " + ", ".join(f"{b} ms: {w:+.1f}" for b, w in sorted(worst.items())))
    finally:
        for p in burners:
            p.kill()
            p.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
