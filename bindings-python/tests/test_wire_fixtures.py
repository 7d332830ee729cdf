"""The wire contract fixtures of core/tests/fixtures/wire.json, shared with the
Rust and Node suites: each case gives the same normalized output or the same
``{field, code}`` errors through the Python API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

import uoom

TABLE = json.loads((Path(__file__).resolve().parents[2] / "core" / "tests" / "fixtures" / "wire.json").read_text())
CASES: List[Dict[str, Any]] = TABLE["cases"]

K1 = {"id": "k1", "kind": "internal_kitchen", "lat": 24.7, "lon": 46.68, "radius_km": 8.0, "base_cost": 2.0,
      "cost_per_km": 0.5, "prep_min": 10.0, "speed_kmh": 25.0, "quality": 0.9}


def errors_of(call: Callable[[], Any]) -> Tuple[str, Any]:
    try:
        return "ok", call()
    except uoom.ValidationError as e:
        return "errors", [{"field": f["field"], "code": f["code"]} for f in e.errors]


def expected(case: Dict[str, Any]) -> Tuple[str, Any]:
    return ("ok", case["expect"]["ok"]) if "ok" in case["expect"] else ("errors", case["expect"]["errors"])


def through_api(case: Dict[str, Any]) -> Tuple[str, Any]:
    """The same input through the class that takes it, where one does."""
    contract, value = case["contract"], case["input"]
    if contract == "channel":
        return errors_of(lambda: uoom.Channel.from_dict(value).to_dict())
    if contract == "channels":
        return errors_of(lambda: [c.to_dict() for c in uoom.Ranker(value).channels])
    if contract == "router_options":
        # A gateway is an object with methods that the package's Router takes
        # apart (test_gateway.py); the JSON contract refuses the key.
        if isinstance(value, dict) and "gateway" in value:
            return errors_of(lambda: uoom.validate(contract, value))
        return errors_of(lambda: uoom.Router([K1], **value).options)
    if contract == "create_order":
        return errors_of(lambda: uoom.validate_order(value))
    return errors_of(lambda: uoom.validate(contract, value))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_through_validate(case: Dict[str, Any]) -> None:
    assert errors_of(lambda: uoom.validate(case["contract"], case["input"])) == expected(case)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_through_the_api(case: Dict[str, Any]) -> None:
    assert through_api(case) == expected(case)


def test_order_status_fixtures_through_the_router() -> None:
    router = uoom.Router([K1], manual_clock=True)
    for case in (c for c in CASES if c["contract"] == "order_status" and "errors" in c["expect"]):
        got = errors_of(lambda: router.advance("00000000-0000-0000-0000-000000000001", case["input"]))
        assert got == expected(case)
