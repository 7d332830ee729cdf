"""The assignment benchmark's arithmetic in plain Python (docs/bench-format.md).

An independent re-statement of the rules the Rust solver implements, used to
check its answers and to feed the peer solvers of `peers.py`: great-circle
distance, ETA, cost, score, which (order, channel) pairs are allowed, and the
objective of an assignment. Standard library only; numpy is used by
`allowed_pairs` when it is installed, for speed, with the same formulas.
"""

from __future__ import annotations

import json
import math
from typing import Any, Dict, List, Optional, Tuple

EARTH_RADIUS_KM = 6371.0
# Tolerance on the two inequalities of feasibility (radius, deadline).
TOLERANCE = 1e-9

Instance = Dict[str, Any]
# Order index -> channel index.
Assignment = Dict[int, int]


def read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


def distance_km(lat_a: float, lon_a: float, lat_b: float, lon_b: float) -> float:
    """Haversine distance on a sphere of radius EARTH_RADIUS_KM."""
    phi_a, phi_b = math.radians(lat_a), math.radians(lat_b)
    d_phi = phi_b - phi_a
    d_lambda = math.radians(lon_b - lon_a)
    s = math.sin(d_phi / 2) ** 2 + math.cos(phi_a) * math.cos(phi_b) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(s))


def evaluate(inst: Instance, order: Dict[str, Any], channel: Dict[str, Any]) -> Tuple[bool, float]:
    """Whether `order` may go to `channel`, and the score it would cost there."""
    km = distance_km(order["lat"], order["lon"], channel["lat"], channel["lon"])
    eta_min = channel["prep_min"] + 60.0 * km / channel["speed_kmh"]
    cost = channel["base_cost"] + channel["cost_per_km"] * km
    w = inst["weights"]
    score = w["cost"] * cost + w["time"] * eta_min + w["quality"] * (1.0 - channel["quality"])
    allowed = (
        channel["status"] == "up"
        and order["vehicle"] in channel["vehicles"]
        and km <= channel["radius_km"] + TOLERANCE
        and eta_min <= order["deadline_min"] + TOLERANCE
    )
    return allowed, score


def penalty(inst: Instance, order: Dict[str, Any]) -> float:
    """What leaving `order` unassigned costs."""
    return inst["unassigned_penalty"] * order["priority"]


def objective(inst: Instance, assignment: Assignment) -> float:
    """Sum of the scores of assigned orders plus the penalties of the others."""
    total = 0.0
    channels = inst["channels"]
    for i, order in enumerate(inst["orders"]):
        j = assignment.get(i)
        total += penalty(inst, order) if j is None else evaluate(inst, order, channels[j])[1]
    return total


def allowed_pairs(inst: Instance) -> List[Tuple[int, int, float]]:
    """Every allowed (order index, channel index, score), orders then channels in file order."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        return _allowed_pairs_loop(inst)
    return _allowed_pairs_numpy(inst)


def _allowed_pairs_loop(inst: Instance) -> List[Tuple[int, int, float]]:
    out = []
    for i, order in enumerate(inst["orders"]):
        for j, channel in enumerate(inst["channels"]):
            ok, score = evaluate(inst, order, channel)
            if ok:
                out.append((i, j, score))
    return out


def _allowed_pairs_numpy(inst: Instance) -> List[Tuple[int, int, float]]:
    import numpy as np

    orders, channels, w = inst["orders"], inst["channels"], inst["weights"]

    def per_channel(key: str) -> "np.ndarray":
        return np.array([c[key] for c in channels], dtype=float)[np.newaxis, :]

    def per_order(key: str) -> "np.ndarray":
        return np.array([o[key] for o in orders], dtype=float)[:, np.newaxis]

    phi_o, phi_c = np.radians(per_order("lat")), np.radians(per_channel("lat"))
    d_lambda = np.radians(per_channel("lon") - per_order("lon"))
    s = np.sin((phi_c - phi_o) / 2) ** 2 + np.cos(phi_o) * np.cos(phi_c) * np.sin(d_lambda / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(s))
    eta_min = per_channel("prep_min") + 60.0 * km / per_channel("speed_kmh")
    cost = per_channel("base_cost") + per_channel("cost_per_km") * km
    score = w["cost"] * cost + w["time"] * eta_min + w["quality"] * (1.0 - per_channel("quality"))

    up = np.array([c["status"] == "up" for c in channels])[np.newaxis, :]
    carries = np.array([[o["vehicle"] in c["vehicles"] for c in channels] for o in orders], dtype=bool)
    ok = up & carries & (km <= per_channel("radius_km") + TOLERANCE) & (eta_min <= per_order("deadline_min") + TOLERANCE)
    rows, cols = np.nonzero(ok)
    return list(zip(rows.tolist(), cols.tolist(), score[rows, cols].tolist()))


def check_solution(inst: Instance, solution: Dict[str, Any]) -> Tuple[List[str], Assignment]:
    """Problems of `solution` against `inst` (empty when feasible), and its assignment by index.

    An assignment naming an unknown order or channel, or an order already
    assigned, is reported and left out; a disallowed pair is reported and kept
    (its score still counts in the objective); channels over capacity are
    reported once each.
    """
    problems: List[str] = []
    order_at = {o["id"]: i for i, o in enumerate(inst["orders"])}
    channel_at = {c["id"]: j for j, c in enumerate(inst["channels"])}
    assignment: Assignment = {}
    load = [0] * len(inst["channels"])
    entries = solution.get("assignments")
    if not isinstance(entries, list):
        return ["'assignments' is missing or not a list"], assignment
    for entry in entries:
        if not isinstance(entry, dict):
            problems.append(f"assignment is not an object: {entry!r}")
            continue
        i, j = order_at.get(entry.get("order")), channel_at.get(entry.get("channel"))
        if i is None or j is None:
            problems.append(f"unknown order or channel in {entry!r}")
            continue
        if i in assignment:
            problems.append(f"order {entry['order']} is assigned more than once")
            continue
        order, channel = inst["orders"][i], inst["channels"][j]
        if not evaluate(inst, order, channel)[0]:
            problems.append(f"order {entry['order']} may not go to channel {entry['channel']}")
        assignment[i] = j
        load[j] += order["units"]
    for j, channel in enumerate(inst["channels"]):
        if load[j] > channel["capacity"]:
            problems.append(f"channel {channel['id']} holds {load[j]} units, capacity {channel['capacity']}")
    return problems, assignment


def best_known(reference: Optional[Dict[str, Any]], name: Optional[str]) -> Optional[float]:
    """The best known objective of instance `name` in a reference file's contents, if any."""
    if not reference or name is None:
        return None
    value = reference.get(name, {}).get("best_known")
    return None if value is None else float(value)
