from __future__ import annotations

import copy
from typing import Any, Dict, List

import pytest

import uoom

REQ: Dict[str, Any] = {
    "customerId": "123e4567-e89b-12d3-a456-426614174000",
    "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    "deliveryAddress": {"street": "1 A St", "city": "Riyadh", "postalCode": "12211",
                        "latitude": 24.71, "longitude": 46.67},
}


def req(**over: Any) -> Dict[str, Any]:
    r = copy.deepcopy(REQ)
    r.update(over)
    return r


def channels(capacity: int = 10) -> List[uoom.Channel]:
    return [
        uoom.Channel("k1", "internal_kitchen", 24.70, 46.68, radius_km=8.0, capacity=capacity,
                     vehicles=["bike", "car"], base_cost=2.0, cost_per_km=0.5, prep_min=10.0, speed_kmh=25.0,
                     quality=0.9),
        uoom.Channel("k2", "dark_store", 24.73, 46.69, radius_km=8.0, capacity=capacity,
                     vehicles=["bike"], base_cost=2.5, cost_per_km=0.5, prep_min=10.0, speed_kmh=25.0,
                     quality=0.8),
    ]


def test_submit_confirms_on_a_channel() -> None:
    router = uoom.Router(channels(), manual_clock=True)
    out = router.submit(REQ)
    assert out["status"] == "CONFIRMED" and out["channel"] in {"k1", "k2"}
    assert out["decision"] == "realtime" and out["failure"] is None and out["replayed"] is False
    assert out["attempts"] >= 1
    assert out["booking_reference"], "the simulated partner's reference of the booking"
    view = router.status(out["order_id"])
    assert view is not None and view["status"] == "CONFIRMED" and view["channel"] == out["channel"]
    assert view["restaurant_id"] is None  # REQ names no restaurant
    rid = "550e8400-e29b-41d4-a716-446655440001"
    with_restaurant = router.submit(req(restaurantId=rid))
    assert router.status(with_restaurant["order_id"])["restaurant_id"] == rid


def test_idempotency_key_replays() -> None:
    router = uoom.Router(channels(), manual_clock=True)
    first = router.submit(REQ, idempotency_key="checkout-1")
    again = router.submit(REQ, idempotency_key="checkout-1")
    assert again["replayed"] is True and again["order_id"] == first["order_id"]


def test_unroutable_order_is_a_failed_outcome_not_an_exception() -> None:
    router = uoom.Router(channels(), manual_clock=True)
    far = req(deliveryAddress={**REQ["deliveryAddress"], "latitude": 10.0, "longitude": 10.0})
    out = router.submit(far)
    assert out["status"] == "FAILED" and out["failure"] == "no_feasible_channel" and out["channel"] is None


def test_capacity_runs_out() -> None:
    router = uoom.Router(channels(capacity=1), manual_clock=True)
    outs = router.route_many([REQ, REQ, REQ])
    assert [o["status"] for o in outs] == ["CONFIRMED", "CONFIRMED", "FAILED"]
    assert outs[2]["failure"] == "capacity_exhausted"


def test_route_many_reports_bad_requests_in_place() -> None:
    router = uoom.Router(channels(), manual_clock=True)
    outs = router.route_many([REQ, {"customerId": "x"}, REQ], keys=["a", None, "a"])
    assert outs[0]["status"] == "CONFIRMED"
    assert outs[1]["error"]["code"] == "UOOM_VALIDATION"
    assert {e["field"] for e in outs[1]["error"]["errors"]} >= {"customerId", "items"}
    assert outs[2]["replayed"] is True
    with pytest.raises(uoom.ValidationError):
        router.route_many([REQ], keys=["a", "b"])


def test_submit_rejects_invalid_request() -> None:
    router = uoom.Router(channels(), manual_clock=True)
    with pytest.raises(uoom.ValidationError) as e:
        router.submit({"items": []})
    assert "customerId" in {err["field"] for err in e.value.errors}


def test_batch_window_poll_and_flush() -> None:
    router = uoom.Router(channels(), manual_clock=True, batch_window_ms=100, solver_budget_ms=10)
    queued = router.route_many([REQ, REQ])
    assert [o["status"] for o in queued] == ["VALIDATED", "VALIDATED"]
    assert router.queued == 2 and router.poll() == []
    router.advance_ms(150)
    done = router.poll()
    assert [o["status"] for o in done] == ["CONFIRMED", "CONFIRMED"]
    assert all(o["decision"] in {"batch_optimal", "batch_improved", "batch_greedy"} for o in done)
    router.submit(REQ)
    assert [o["status"] for o in router.flush()] == ["CONFIRMED"]
    assert router.queued == 0


def test_lifecycle_after_routing() -> None:
    router = uoom.Router(channels(), manual_clock=True)
    oid = router.submit(REQ)["order_id"]
    assert router.advance(oid, "PREPARING")["status"] == "PREPARING"
    with pytest.raises(uoom.ConflictError):
        router.advance(oid, "CONFIRMED")
    with pytest.raises(uoom.NotFoundError):
        router.advance("00000000-0000-0000-0000-000000000099", "PREPARING")
    with pytest.raises(uoom.ValidationError):
        router.advance("nope", "PREPARING")
    assert router.status("00000000-0000-0000-0000-000000000099") is None


def test_metrics_repr_and_clock() -> None:
    router = uoom.Router(channels(), manual_clock=True)
    router.submit(REQ)
    assert "uoom" in router.metrics()
    assert repr(router) == "Router(channels=2, queued=0)"
    with pytest.raises(uoom.ValidationError):
        uoom.Router(channels()).advance_ms(1)
    with pytest.raises(uoom.ValidationError):
        uoom.Router([{"id": "x"}])


def test_options_are_checked_and_every_default_is_written() -> None:
    router = uoom.Router(channels(), manual_clock=True, top_k=2, batch_max=8, partner_latency_ms=1)
    o = router.options
    assert (o["top_k"], o["batch_max"], o["partner_latency_ms"], o["reservation_ttl_ms"]) == (2, 8, 1, 30_000)
    assert o["rank_weights"] == {"capacity": 0.25, "quality": 0.3, "latency": 0.3, "cost": 0.15}
    with pytest.raises(uoom.ValidationError) as e:
        uoom.Router(channels(), slot_mss=5, top_k=0)  # type: ignore[call-arg]
    assert [(f["field"], f["code"]) for f in e.value.errors] == [("slot_mss", "unknown_field"), ("top_k", "out_of_range")]


def test_a_gateway_is_a_host_object_not_an_option_value() -> None:
    class Gateway:
        def book(self, request: Dict[str, Any]) -> str:
            return "ref"

    # The package's Router takes the object (test_gateway.py); the JSON
    # contract and the native class refuse the key.
    assert uoom.Router(channels(), gateway=Gateway()).gateway is not None
    with pytest.raises(uoom.ValidationError) as e:
        uoom.validate("router_options", {"gateway": {}})
    assert [(f["field"], f["code"]) for f in e.value.errors] == [("gateway", "unsupported")]
    assert "route()" in e.value.errors[0]["message"]


def test_every_bad_channel_is_reported() -> None:
    good = channels()[0].to_dict()
    with pytest.raises(uoom.ValidationError) as e:
        uoom.Router([good, dict(good, id="k2", quality=None), dict(good, speed_kmh=0)])
    assert [(f["field"], f["code"]) for f in e.value.errors] == [
        ("channels[1].quality", "required"),
        ("channels[2].id", "duplicate"),
        ("channels[2].speed_kmh", "out_of_range"),
    ]
