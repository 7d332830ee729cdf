"""Starts the optimizer service as a real process on 127.0.0.1 (a free port)
and talks HTTP to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Tuple

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), (line, proc.stderr.read() if proc.stderr else "")
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def call(url: str, body: Any = None, raw: bytes = b"") -> Tuple[int, Dict[str, Any]]:
    data = raw or (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def batch() -> Dict[str, Any]:
    channels = [
        {"id": "near", "kind": "dark_store", "lat": 24.70, "lon": 46.69, "radius_km": 8.0, "capacity": 1,
         "vehicles": ["bike", "car"], "base_cost": 2.0, "cost_per_km": 0.5, "prep_min": 9.0,
         "speed_kmh": 24.0, "quality": 0.9, "status": "up"},
        {"id": "far", "kind": "internal_kitchen", "lat": 24.75, "lon": 46.72, "radius_km": 12.0, "capacity": 5,
         "vehicles": ["car"], "base_cost": 3.0, "cost_per_km": 0.7, "prep_min": 12.0,
         "speed_kmh": 30.0, "quality": 0.8, "status": "up"},
    ]
    orders = [
        {"id": "o1", "lat": 24.71, "lon": 46.67, "units": 1, "vehicle": "bike", "deadline_min": 45.0, "priority": 1},
        {"id": "o2", "lat": 24.72, "lon": 46.68, "units": 1, "vehicle": "car", "deadline_min": 60.0, "priority": 2},
        {"id": "o3", "lat": 10.0, "lon": 10.0, "units": 1, "vehicle": "bike", "deadline_min": 45.0, "priority": 1},
    ]
    return {"name": "t", "orders": orders, "channels": channels, "unassigned_penalty": 100.0}


def test_health(base_url: str) -> None:
    status, body = call(base_url + "/health")
    assert status == 200 and body["status"] == "ok"


def test_optimize_assigns_and_explains(base_url: str) -> None:
    status, body = call(base_url + "/optimize", batch())
    assert status == 200, body
    got = {a["order"]: a["channel"] for a in body["assignments"]}
    assert got == {"o1": "near", "o2": "far"}
    assert body["unassigned"] == ["o3"]
    assert body["method"] in {"optimal", "improved", "greedy", "fallback"}
    assert body["objective"] > 100.0  # o3's penalty is in it
    reasons = {u["order"]: u["reason"] for u in body["explanations"]["unassigned"]}
    assert set(reasons) == {"o3"}


def test_optimize_exact(base_url: str) -> None:
    status, body = call(base_url + "/optimize", {**batch(), "exact": True})
    assert status == 200, body
    assert body["method"] == "optimal"


def test_optimize_reports_field_errors(base_url: str) -> None:
    b = batch()
    b["orders"][1]["units"] = 0
    b["channels"][0]["vehicles"] = ["rocket"]
    status, body = call(base_url + "/optimize", b)
    assert status == 400 and body["code"] == "UOOM_VALIDATION"
    fields = {e["field"] for e in body["errors"]}
    assert {"orders[1].units", "channels[0].vehicles[0]"} <= fields, fields
    status, body = call(base_url + "/optimize", {**batch(), "time_limit_ms": "soon"})
    assert status == 400 and body["errors"][0]["field"] == "time_limit_ms"


def test_bad_json_and_unknown_route(base_url: str) -> None:
    status, body = call(base_url + "/optimize", raw=b"{not json")
    assert status == 400 and body["errors"][0]["code"] == "not_json"
    status, body = call(base_url + "/nope", {})
    assert status == 404 and body["code"] == "UOOM_NOT_FOUND"


def test_validate_order_endpoint(base_url: str) -> None:
    req = {"customerId": "123e4567-e89b-12d3-a456-426614174000",
           "items": [{"itemId": "i", "name": "Pizza", "quantity": 2, "unitPrice": 15.99}],
           "deliveryAddress": {"street": "1 A St", "city": "X", "postalCode": "1", "latitude": 1.0, "longitude": 2.0}}
    status, body = call(base_url + "/orders/validate", req)
    assert status == 200 and body["total"] == {"amount": "31.98", "currency": "USD"}
    req["items"][0]["quantity"] = -1
    status, body = call(base_url + "/orders/validate", req)
    assert status == 400 and body["errors"][0]["field"] == "items[0].quantity"


def test_concurrent_batches(base_url: str) -> None:
    """The GIL is released during a solve, so parallel requests all succeed."""
    results: list = []

    def one() -> None:
        results.append(call(base_url + "/optimize", batch())[0])

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [200] * 8
