from __future__ import annotations

import pickle
from typing import Any, Dict

import pytest

import uoom


RANKING = dict(radius_km=5.0, base_cost=1.0, cost_per_km=0.5, prep_min=10.0, speed_kmh=25.0, quality=0.9)


def test_constructor_defaults_and_getters() -> None:
    c = uoom.Channel("c1", "dark_store", 24.7, 46.69, **RANKING)
    assert (c.id, c.kind, c.lat, c.lon) == ("c1", "dark_store", 24.7, 46.69)
    assert c.radius_km == 5.0 and c.capacity == 0 and c.vehicles == ["bike"]
    assert (c.base_cost, c.cost_per_km, c.prep_min, c.speed_kmh, c.quality) == (1.0, 0.5, 10.0, 25.0, 0.9)
    assert c.status == "up"


def test_the_fields_that_decide_ranking_are_required() -> None:
    with pytest.raises(TypeError):
        uoom.Channel("c1", "dark_store", 0.0, 0.0)  # type: ignore[call-arg]
    partial = {"id": "c1", "kind": "dark_store", "lat": 0.0, "lon": 0.0, "radius_km": 5.0}
    with pytest.raises(uoom.ValidationError) as e:
        uoom.Channel.from_dict(partial)
    assert [(f["field"], f["code"]) for f in e.value.errors] == [
        ("base_cost", "required"),
        ("cost_per_km", "required"),
        ("prep_min", "required"),
        ("speed_kmh", "required"),
        ("quality", "required"),
    ]


def test_dict_round_trip(channel_dict: Dict[str, Any]) -> None:
    c = uoom.Channel.from_dict(channel_dict)
    assert c.to_dict() == channel_dict
    assert uoom.Channel.from_dict(c.to_dict()) == c
    assert c != uoom.Channel("c2", "dark_store", 24.7, 46.69, **RANKING)
    assert c != "c1"


def test_repr_names_the_channel(channel_dict: Dict[str, Any]) -> None:
    r = repr(uoom.Channel.from_dict(channel_dict))
    assert r.startswith("Channel(id='c1', kind='dark_store'")
    assert "capacity=60" in r and "['bike', 'car']" in r


def test_pickle(channel_dict: Dict[str, Any]) -> None:
    c = uoom.Channel.from_dict(channel_dict)
    assert pickle.loads(pickle.dumps(c)) == c


def test_geometry_matches_spec_formulas(channel_dict: Dict[str, Any]) -> None:
    c = uoom.Channel.from_dict(channel_dict)
    d = c.distance_km(24.71, 46.67)
    assert 2.0 < d < 2.5
    assert c.eta_min(24.71, 46.67) == pytest.approx(9.0 + 60.0 * d / 24.0)
    assert c.cost_to(24.71, 46.67) == pytest.approx(2.1 + 0.65 * d)


def test_constructor_rejects_unknown_names() -> None:
    with pytest.raises(uoom.ValidationError) as e:
        uoom.Channel("c1", "spaceship", 0.0, 0.0, **RANKING)
    assert e.value.errors[0]["code"] == "unknown_kind"
    with pytest.raises(uoom.ValidationError):
        uoom.Channel("c1", "dark_store", 0.0, 0.0, vehicles=["rocket"], **RANKING)
    with pytest.raises(uoom.ValidationError):
        uoom.Channel("c1", "dark_store", 0.0, 0.0, status="sleepy", **RANKING)


def test_from_dict_reports_every_problem_with_paths() -> None:
    with pytest.raises(uoom.ValidationError) as e:
        uoom.Channel.from_dict(dict(RANKING, id="x", kind="boat", quality=3, vehicles=["jet"], lat="north", colour="red"))
    fields = {err["field"]: err["code"] for err in e.value.errors}
    assert fields == {
        "colour": "unknown_field",
        "lat": "invalid_type",
        "lon": "required",
        "kind": "unknown_kind",
        "vehicles[0]": "unknown_vehicle",
        "quality": "out_of_range",
    }
    assert isinstance(e.value, ValueError) and isinstance(e.value, uoom.UoomError)


def test_from_dict_rejects_non_json_values(channel_dict: Dict[str, Any]) -> None:
    channel_dict["lat"] = float("nan")
    with pytest.raises(uoom.ValidationError) as e:
        uoom.Channel.from_dict(channel_dict)
    assert e.value.errors[0]["field"] == "lat"
    channel_dict["lat"] = object()
    with pytest.raises(uoom.ValidationError):
        uoom.Channel.from_dict(channel_dict)
    with pytest.raises(uoom.ValidationError):
        uoom.Channel.from_dict([1, 2])  # type: ignore[arg-type]
