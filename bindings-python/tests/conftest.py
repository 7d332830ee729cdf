"""Shared fixtures: the benchmark instances of benches/instances and small hand-made ones."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Dict

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _instances_dir() -> Path:
    """The repository's benchmark instances (or UOOM_BENCH_INSTANCES); a missing one fails the test."""
    env = os.environ.get("UOOM_BENCH_INSTANCES")
    return Path(env) if env else ROOT / "benches" / "instances"


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
