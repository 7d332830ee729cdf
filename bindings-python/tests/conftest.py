"""Shared fixtures: benchmark instances (copies in core/tests/data, else shared/bench) and small hand-made ones."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _instances_dir() -> Path:
    env = os.environ.get("UOOM_BENCH_INSTANCES")
    # core/tests/data holds copies of the public instances the tests use, so
    # a clone without ../shared runs every test.
    for cand in ([Path(env)] if env else []) + [
        ROOT / "core" / "tests" / "data",
        ROOT.parent / "shared" / "bench" / "instances",
        ROOT / "shared" / "bench" / "instances",
    ]:
        if (cand / "b-s-0.json").exists():
            return cand
    pytest.skip("benchmark instances (shared/bench/instances) not found")
    raise AssertionError("unreachable")


@pytest.fixture(scope="session")
def instances_dir() -> Path:
    return _instances_dir()


def _load_instance(name: str) -> Dict[str, Any]:
    with open(_instances_dir() / f"{name}.json") as f:
        data: Dict[str, Any] = json.load(f)
    return data


@pytest.fixture
def load_instance() -> Callable[[str], Dict[str, Any]]:
    """Loads a benchmark instance by name (a fresh copy each call)."""
    return _load_instance


CHANNEL = {
    "id": "c1",
    "kind": "dark_store",
    "lat": 24.70,
    "lon": 46.69,
    "radius_km": 8.0,
    "capacity": 60,
    "vehicles": ["bike", "car"],
    "base_cost": 2.1,
    "cost_per_km": 0.65,
    "prep_min": 9.0,
    "speed_kmh": 24.0,
    "quality": 0.91,
    "status": "up",
}


@pytest.fixture
def channel_dict() -> Dict[str, Any]:
    return dict(CHANNEL)
