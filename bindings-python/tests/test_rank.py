from __future__ import annotations

from typing import Any, Dict, List

import pytest

import uoom


def chans() -> List[Dict[str, Any]]:
    base = {"kind": "dark_store", "radius_km": 8.0, "vehicles": ["bike", "car"], "base_cost": 2.0,
            "cost_per_km": 0.5, "prep_min": 9.0, "speed_kmh": 24.0, "status": "up"}
    return [
        {**base, "id": "near", "lat": 24.70, "lon": 46.68, "capacity": 5, "quality": 0.9},
        {**base, "id": "mid", "lat": 24.74, "lon": 46.70, "capacity": 5, "quality": 0.95},
        {**base, "id": "far", "lat": 25.50, "lon": 47.50, "capacity": 5, "quality": 1.0},
        {**base, "id": "van", "lat": 24.71, "lon": 46.66, "capacity": 5, "quality": 0.9, "vehicles": ["van"]},
    ]


@pytest.fixture
def ranker() -> uoom.Ranker:
    return uoom.Ranker([uoom.Channel.from_dict(c) for c in chans()[:2]] + chans()[2:], now_ms=0)


def test_rank_filters_and_orders(ranker: uoom.Ranker) -> None:
    top = ranker.rank(24.71, 46.67, vehicle="bike", k=5)
    assert [r["channel"] for r in top] == ["near", "mid"]
    best = top[0]
    assert best["score"] >= top[1]["score"]
    assert best["score"] == pytest.approx(sum(best["contributions"].values()))
    assert set(best) == {"channel", "score", "distance_km", "eta_min", "cost", "contributions"}
    assert ranker.rank(24.71, 46.67, k=1)[0]["channel"] == "near"
    assert [r["channel"] for r in ranker.rank(24.71, 46.67, vehicle="van")] == ["van"]


def test_weights_change_the_winner(ranker: uoom.Ranker) -> None:
    quality_only = ranker.rank(24.71, 46.67, weights={"quality": 1.0, "capacity": 0, "latency": 0, "cost": 0}, k=1)
    assert quality_only[0]["channel"] == "mid"
    with pytest.raises(uoom.ValidationError):
        ranker.rank(24.71, 46.67, weights={"speed": 1.0})
    with pytest.raises(uoom.ValidationError):
        uoom.Ranker(chans(), weights={"cost": -1.0})


def test_explain_names_every_excluded_channel(ranker: uoom.Ranker) -> None:
    ex = ranker.explain(24.71, 46.67, vehicle="bike", k=1)
    assert [r["id"] for r in ex["ranked"]] == ["near"]
    assert ex["eligible"] == 2
    reasons = {e["id"]: e["reason"] for e in ex["excluded"]}
    assert reasons == {"far": "out_of_radius", "van": "vehicle_mismatch"}
    assert sum(ex["weights"].values()) == pytest.approx(1.0)


def test_signal_updates(ranker: uoom.Ranker) -> None:
    ranker.update_health("near", "down")
    assert [r["channel"] for r in ranker.rank(24.71, 46.67)] == ["mid"]
    ranker.update_health("near", "up")
    ranker.set_breaker_open("mid", True)
    assert [r["channel"] for r in ranker.rank(24.71, 46.67)] == ["near"]
    ranker.set_breaker_open("mid", False)
    ranker.update_headroom("near", 0, 5)
    assert [r["channel"] for r in ranker.rank(24.71, 46.67)] == ["mid"]
    ranker.update_quality("mid", 0.1)
    s = ranker.signals("mid")
    assert s["quality"] == 0.1 and s["health"] == "up" and s["breaker_open"] is False
    with pytest.raises(uoom.NotFoundError):
        ranker.update_quality("ghost", 0.5)
    with pytest.raises(uoom.ValidationError):
        ranker.update_quality("mid", 2.0)
    with pytest.raises(uoom.ValidationError):
        ranker.update_health("mid", "sleepy")


def test_stale_signals_are_excluded() -> None:
    r = uoom.Ranker(chans()[:1], now_ms=0, max_signal_age_ms=1_000)
    assert len(r.rank(24.71, 46.67)) == 1
    r.advance_ms(2_000)
    assert r.rank(24.71, 46.67) == []
    r2 = uoom.Ranker(chans()[:1], now_ms=0, max_signal_age_ms=1_000, stale_policy="zero_score")
    r2.advance_ms(2_000)
    assert len(r2.rank(24.71, 46.67)) == 1
    with pytest.raises(uoom.ValidationError):
        uoom.Ranker(chans(), stale_policy="sometimes")


def test_rank_many_matches_rank(ranker: uoom.Ranker) -> None:
    qs = [{"lat": 24.71, "lon": 46.67}, {"lat": 24.71, "lon": 46.67, "vehicle": "van", "units": 2},
          {"lat": 0.0, "lon": 0.0, "deadline_min": 30}]
    many = ranker.rank_many(qs, k=3)
    assert many[0] == ranker.rank(24.71, 46.67, k=3)
    assert [r["channel"] for r in many[1]] == ["van"]
    assert many[2] == []
    with pytest.raises(uoom.ValidationError) as e:
        ranker.rank_many([{"lat": 1.0}])
    assert e.value.errors[0]["field"] == "queries[0].lon"


def test_sync_headroom_from_ledger(ranker: uoom.Ranker) -> None:
    lg = uoom.Ledger(now_ms=0)
    lg.set_capacity("near", 1)
    lg.set_capacity("mid", 5)
    lg.reserve("r", "near", 1)
    assert ranker.sync_headroom(lg) == 2
    assert [r["channel"] for r in ranker.rank(24.71, 46.67)] == ["mid"]
    assert ranker.signals("mid")["available"] == 5
    assert ranker.signals("far")["available"] == 0  # unknown to the ledger: no headroom


def test_properties_and_errors(ranker: uoom.Ranker) -> None:
    assert len(ranker) == 4 and repr(ranker) == "Ranker(channels=4)"
    assert [c.id for c in ranker.channels] == ["near", "mid", "far", "van"]
    with pytest.raises(uoom.ValidationError):
        ranker.rank(24.71, 46.67, vehicle="rocket")
    with pytest.raises(uoom.ValidationError):
        ranker.rank(100.0, 46.67)
    with pytest.raises(uoom.ValidationError):
        uoom.Ranker([{"id": "x"}])
    with pytest.raises(uoom.ValidationError):
        uoom.Ranker(chans()).advance_ms(5)
