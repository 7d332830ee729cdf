from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, Callable, Dict

Load = Callable[[str], Dict[str, Any]]

import pytest

import uoom


def recompute(inst: Dict[str, Any], sol: Dict[str, Any]) -> float:
    """The SPEC objective, computed here independently of the library."""
    import math

    w = inst["weights"]
    chans = {c["id"]: c for c in inst["channels"]}
    orders = {o["id"]: o for o in inst["orders"]}
    total = 0.0
    assigned = set()
    used: Dict[str, int] = {}
    for a in sol["assignments"]:
        o, c = orders[a["order"]], chans[a["channel"]]
        assert a["order"] not in assigned
        assigned.add(a["order"])
        p1, p2 = math.radians(o["lat"]), math.radians(c["lat"])
        dp, dl = p2 - p1, math.radians(c["lon"] - o["lon"])
        h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        d = 2 * 6371.0 * math.asin(math.sqrt(h))
        eta = c["prep_min"] + 60.0 * d / c["speed_kmh"]
        assert c["status"] == "up" and o["vehicle"] in c["vehicles"]
        assert d <= c["radius_km"] + 1e-9 and eta <= o["deadline_min"] + 1e-9
        used[c["id"]] = used.get(c["id"], 0) + o["units"]
        total += w["cost"] * (c["base_cost"] + c["cost_per_km"] * d) + w["time"] * eta + w["quality"] * (1 - c["quality"])
    for cid, u in used.items():
        assert u <= chans[cid]["capacity"]
    for oid, o in orders.items():
        if oid not in assigned:
            total += inst["unassigned_penalty"] * o["priority"]
    return total


def test_solve_small_batch_matches_spec(load_instance: Load) -> None:
    inst = load_instance("b-s-0")
    assert "explanations" not in uoom.solve(inst, time_limit_ms=20)
    sol = uoom.solve(inst, explain=True)
    assert sol["instance"] == inst["name"]
    assert sol["method"] in {"optimal", "improved", "greedy"}
    assert sol["objective"] == pytest.approx(recompute(inst, sol), rel=1e-9)
    ids = {a["order"] for a in sol["assignments"]} | set(sol["unassigned"])
    assert ids == {o["id"] for o in inst["orders"]}
    assert sol["solve_ms"] > 0
    ex = sol["explanations"]
    assert len(ex["assigned"]) == len(sol["assignments"])
    assert {u["order"] for u in ex["unassigned"]} == set(sol["unassigned"])


def test_solve_exact_is_optimal_and_no_worse(load_instance: Load) -> None:
    inst = load_instance("b-s-0")
    budget = uoom.solve(inst, time_limit_ms=50, explain=False)
    exact = uoom.solve(inst, exact=True, explain=False)
    assert "explanations" not in exact
    assert exact["method"] == "optimal"
    assert exact["objective"] <= budget["objective"] + 1e-6
    assert exact["objective"] == pytest.approx(recompute(inst, exact), rel=1e-9)


def test_solve_accepts_positional_arguments_and_tuples(load_instance: Load) -> None:
    inst = load_instance("rt-50-0")
    inst["channels"] = tuple(inst["channels"])
    sol = uoom.solve(inst, 20, False)
    assert len(sol["assignments"]) + len(sol["unassigned"]) == 1


def test_solve_reports_every_bad_field(load_instance: Load) -> None:
    inst = copy.deepcopy(load_instance("b-s-0"))
    inst["orders"][3]["units"] = 0
    inst["channels"][1]["vehicles"] = ["rocket"]
    del inst["orders"][5]["lat"]
    with pytest.raises(uoom.ValidationError) as e:
        uoom.solve(inst)
    fields = {err["field"] for err in e.value.errors}
    assert {"orders[3].units", "channels[1].vehicles[0]", "orders[5].lat"} <= fields, fields


def test_solve_rejects_non_dict_and_non_json_values(load_instance: Load) -> None:
    with pytest.raises(uoom.ValidationError):
        uoom.solve([])  # type: ignore[arg-type]
    inst = copy.deepcopy(load_instance("rt-50-0"))
    inst["orders"][0]["lat"] = float("nan")
    with pytest.raises(uoom.ValidationError) as e:
        uoom.solve(inst)
    assert e.value.errors[0]["field"] == "orders[0].lat"


def test_solve_releases_the_gil(load_instance: Load) -> None:
    """Another Python thread keeps running while Rust solves."""
    inst = load_instance("b-m-0")
    done = threading.Event()
    ticks = 0

    def solve() -> None:
        uoom.solve(inst, time_limit_ms=300, explain=False)
        done.set()

    t = threading.Thread(target=solve)
    t.start()
    time.sleep(0.02)  # let the solve start
    while not done.is_set():
        ticks += 1
    t.join()
    # Holding the GIL for the whole solve would leave this thread ~0 ticks.
    assert ticks > 10_000, ticks


def test_exact_solve_is_interruptible_with_ctrl_c(instances_dir: Any) -> None:
    script = textwrap.dedent(
        f"""
        import json, signal, sys, time, uoom
        # A child of a background job starts with SIGINT ignored (POSIX), and
        # Python then installs no handler: restore the usual one.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        inst = json.load(open({str(instances_dir / 'b-l-0.json')!r}))
        print("solving", flush=True)
        t0 = time.perf_counter()
        try:
            uoom.solve(inst, exact=True, explain=False)
            print("finished", flush=True)
        except KeyboardInterrupt:
            print("interrupted after %.3f s" % (time.perf_counter() - t0), flush=True)
            sys.exit(3)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "solving"
    time.sleep(0.5)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    waited = time.perf_counter() - sent
    assert proc.returncode == 3, out
    assert out.startswith("interrupted after"), out
    assert waited < 2.0, waited
