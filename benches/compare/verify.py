#!/usr/bin/env python3
"""Check a solution file against its instance and print one JSON line.

    python3 benches/compare/verify.py INSTANCE.json SOLUTION.json [--reference FILE]

The rules are those of docs/bench-format.md, recomputed here independently of
the Rust solver (benches/compare/assignment.py). The line holds `instance`,
`feasible`, `objective` (recomputed), `claimed_objective` (the solution's own),
`assigned`, `unassigned`, `solve_ms`, and, when the reference file
(default: benches/instances/reference.json) knows the instance, `best_known`
and `gap` = (objective - best_known) / |best_known|; `problems` lists up to 20
reasons when the solution is not feasible.

Exit status: 0 feasible, 1 infeasible or unreadable solution, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import assignment as bench  # noqa: E402

DEFAULT_REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "instances", "reference.json")


def verdict(inst: dict, solution: dict, reference: dict | None) -> dict:
    problems, chosen = bench.check_solution(inst, solution)
    value = bench.objective(inst, chosen)
    out = {
        "instance": inst.get("name"),
        "feasible": not problems,
        "objective": round(value, 6),
        "claimed_objective": solution.get("objective"),
        "assigned": len(chosen),
        "unassigned": len(inst["orders"]) - len(chosen),
        "solve_ms": solution.get("solve_ms"),
    }
    best = bench.best_known(reference, inst.get("name"))
    if best is not None:
        out["best_known"] = best
        out["gap"] = round((value - best) / abs(best), 9) if best else None
    if problems:
        out["problems"] = problems[:20]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("instance")
    ap.add_argument("solution")
    ap.add_argument("--reference", default=DEFAULT_REFERENCE, help="best-known objectives (JSON by instance name)")
    args = ap.parse_args()
    inst = bench.read_json(args.instance)
    try:
        solution = bench.read_json(args.solution)
        if not isinstance(solution, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        print(json.dumps({"instance": inst.get("name"), "feasible": False,
                          "problems": [f"cannot read the solution: {e}"]}))
        return 1
    reference = bench.read_json(args.reference) if os.path.exists(args.reference) else None
    out = verdict(inst, solution, reference)
    print(json.dumps(out))
    return 0 if out["feasible"] else 1


if __name__ == "__main__":
    sys.exit(main())
