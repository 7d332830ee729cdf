from __future__ import annotations

import copy
import pickle
from typing import Any, Dict

import pytest

import uoom

REQUEST: Dict[str, Any] = {
    "customerId": "123e4567-e89b-12d3-a456-426614174000",
    "restaurantId": "550e8400-e29b-41d4-a716-446655440001",
    "items": [
        {"itemId": "item1", "name": "Pizza", "quantity": 2, "unitPrice": 15.99},
        {"itemId": "item2", "name": "Cola", "quantity": 1, "unitPrice": 0.1},
    ],
    "deliveryAddress": {
        "street": "123 Main St",
        "city": "New York",
        "postalCode": "10001",
        "latitude": 40.7128,
        "longitude": -74.0060,
    },
}
ORDER_ID = "00000000-0000-0000-0000-000000000007"


@pytest.fixture
def request_dict() -> Dict[str, Any]:
    return copy.deepcopy(REQUEST)


def test_validate_order_normalizes(request_dict: Dict[str, Any]) -> None:
    request_dict["customerId"] = request_dict["customerId"].upper()
    request_dict["items"][0]["name"] = "  Pizza  "
    request_dict["unknownField"] = 1
    out = uoom.validate_order(request_dict)
    assert out["customerId"] == REQUEST["customerId"]
    assert out["items"][0]["name"] == "Pizza"
    assert out["items"][0]["lineTotal"] == {"amount": "31.98", "currency": "USD"}
    assert out["total"] == {"amount": "32.08", "currency": "USD"}
    assert out["currency"] == "USD" and out["totalQuantity"] == 3
    assert "unknownField" not in out


def test_validate_order_reports_every_field(request_dict: Dict[str, Any]) -> None:
    request_dict["customerId"] = "nope"
    request_dict["items"][0]["quantity"] = 0
    request_dict["items"][1]["unitPrice"] = 1.234
    del request_dict["deliveryAddress"]["city"]
    with pytest.raises(uoom.ValidationError) as e:
        uoom.validate_order(request_dict)
    fields = [err["field"] for err in e.value.errors]
    assert fields == ["customerId", "items[0].quantity", "items[1].unitPrice", "deliveryAddress.city"]
    assert all(set(err) == {"field", "code", "message"} for err in e.value.errors)
    assert "customerId" in str(e.value)


def test_validate_order_rejects_non_objects_and_non_json_values(request_dict: Dict[str, Any]) -> None:
    with pytest.raises(uoom.ValidationError) as e:
        uoom.validate_order([1, 2])  # type: ignore[arg-type]
    assert e.value.errors[0]["code"] == "invalid_type"
    request_dict["deliveryAddress"]["latitude"] = float("inf")
    with pytest.raises(uoom.ValidationError) as e:
        uoom.validate_order(request_dict)
    assert e.value.errors[0]["field"] == "deliveryAddress.latitude"
    request_dict["deliveryAddress"]["latitude"] = {1, 2}
    with pytest.raises(uoom.ValidationError):
        uoom.validate_order(request_dict)


def test_order_fields(request_dict: Dict[str, Any]) -> None:
    o = uoom.Order(request_dict, id=ORDER_ID, created_at_ms=1_000)
    assert o.id == ORDER_ID
    assert o.customer_id == REQUEST["customerId"]
    assert o.restaurant_id == REQUEST["restaurantId"]
    assert o.status == "PENDING"
    assert (o.total, o.total_minor, o.currency) == ("32.08", 3208, "USD")
    assert o.total_quantity == 3
    assert [i["itemId"] for i in o.items] == ["item1", "item2"]
    assert o.delivery_address["postalCode"] == "10001"
    assert (o.lat, o.lon) == (40.7128, -74.0060)
    assert (o.vehicle, o.deadline_min, o.priority) == (None, None, None)
    assert (o.created_at_ms, o.updated_at_ms) == (1_000, 1_000)
    assert repr(o) == f"Order(id='{ORDER_ID}', status='PENDING', total='32.08 USD', items=2, lat=40.7128, lon=-74.006)"


def test_order_hints_and_generated_id(request_dict: Dict[str, Any]) -> None:
    request_dict.pop("restaurantId")
    request_dict.update({"vehicle": "refrigerated", "deadlineMinutes": 30, "priority": 1})
    o = uoom.Order(request_dict)
    assert len(o.id) == 36 and o.restaurant_id is None
    assert (o.vehicle, o.deadline_min, o.priority) == ("refrigerated", 30.0, 1)
    assert o.created_at_ms > 1_600_000_000_000  # system clock by default


def test_order_rejects_bad_request_and_bad_id(request_dict: Dict[str, Any]) -> None:
    with pytest.raises(uoom.ValidationError):
        uoom.Order({"customerId": "x"})
    with pytest.raises(uoom.ValidationError) as e:
        uoom.Order(request_dict, id="not-a-uuid")
    assert e.value.errors[0]["field"] == "id"


def test_lifecycle(request_dict: Dict[str, Any]) -> None:
    o = uoom.Order(request_dict, id=ORDER_ID, created_at_ms=0)
    assert o.can_transition_to("VALIDATED") and not o.can_transition_to("DELIVERED")
    for step in ["VALIDATED", "ROUTED", "CONFIRMED", "PREPARING", "OUT_FOR_DELIVERY"]:
        o.transition(step, now_ms=10)
    assert o.status == "OUT_FOR_DELIVERY" and o.updated_at_ms == 10
    with pytest.raises(uoom.ConflictError):
        o.transition("CANCELLED", now_ms=20)
    assert o.status == "OUT_FOR_DELIVERY"
    assert o.transition("DELIVERED", now_ms=30) == "OUT_FOR_DELIVERY"
    with pytest.raises(uoom.ValidationError):
        o.transition("SHIPPED")
    with pytest.raises(uoom.ValidationError):
        o.can_transition_to("SHIPPED")


def test_dict_and_pickle_round_trip(request_dict: Dict[str, Any]) -> None:
    o = uoom.Order(request_dict, id=ORDER_ID, created_at_ms=5)
    o.transition("VALIDATED", now_ms=6)
    d = o.to_dict()
    assert d["status"] == "VALIDATED" and d["total"] == {"amount": "32.08", "currency": "USD"}
    assert uoom.Order.from_dict(d) == o
    assert pickle.loads(pickle.dumps(o)) == o
    assert o != "order"
    with pytest.raises(uoom.ValidationError):
        uoom.Order.from_dict({"id": 3})
