from __future__ import annotations

import pytest

import uoom


@pytest.fixture
def ledger() -> uoom.Ledger:
    lg = uoom.Ledger(now_ms=0)
    lg.set_capacity("c1", 5)
    lg.set_capacity("c2", 1)
    return lg


def test_reserve_commit_release_and_balance(ledger: uoom.Ledger) -> None:
    r = ledger.reserve("order-1", "c1", 2, ttl_ms=1_000)
    assert r["id"] == "order-1" and r["channel"] == "c1" and r["slot"] == 0
    assert (r["units"], r["state"], r["expires_at_ms"]) == (2, "pending", 1_000)
    assert ledger.balance("c1") == {"capacity": 5, "pending": 2, "committed": 0, "available": 3, "overcommitted": 0}
    assert ledger.commit("order-1")["state"] == "committed"
    assert ledger.available("c1") == 3
    ledger.reserve(7, "c1", 3)
    assert ledger.release(7)["state"] == "released"
    assert ledger.available("c1") == 3
    assert ledger.get("order-1")["committed"] == 2
    assert ledger.available("unknown") == 0


def test_refund_gives_committed_units_back_once(ledger: uoom.Ledger) -> None:
    ledger.reserve("o", "c1", 4)
    ledger.commit("o", 3)
    assert ledger.available("c1") == 2
    r = ledger.refund("o")
    assert (r["state"], r["committed"]) == ("refunded", 3)
    assert ledger.available("c1") == 5
    assert ledger.refund("o") == r
    ledger.reserve("p", "c1", 1)
    with pytest.raises(uoom.ConflictError):
        ledger.refund("p")
    with pytest.raises(uoom.NotFoundError):
        ledger.refund("nobody")


def test_idempotent_keys_and_conflicts(ledger: uoom.Ledger) -> None:
    a = ledger.reserve("k", "c1", 2)
    assert ledger.reserve("k", "c1", 2) == a
    with pytest.raises(uoom.ConflictError):
        ledger.reserve("k", "c1", 3)


def test_errors_by_category(ledger: uoom.Ledger) -> None:
    with pytest.raises(uoom.CapacityError):
        ledger.reserve("big", "c2", 2)
    with pytest.raises(uoom.NotFoundError):
        ledger.reserve("x", "nowhere", 1)
    with pytest.raises(uoom.NotFoundError):
        ledger.commit("never-reserved")
    with pytest.raises(uoom.NotFoundError):
        ledger.balance("nowhere")
    with pytest.raises(uoom.ValidationError):
        ledger.reserve("zero", "c1", 0)
    with pytest.raises(uoom.ValidationError):
        ledger.reserve(1.5, "c1", 1)  # type: ignore[arg-type]
    with pytest.raises(uoom.ValidationError):
        ledger.reserve(-1, "c1", 1)


def test_ttl_expiry_with_the_manual_clock(ledger: uoom.Ledger) -> None:
    ledger.reserve("t", "c2", 1, ttl_ms=100)
    assert ledger.available("c2") == 0
    ledger.advance_ms(101)
    assert ledger.now_ms == 101
    assert ledger.expire_due() >= 0
    assert ledger.available("c2") == 1
    assert ledger.get("t")["state"] == "expired"
    with pytest.raises(uoom.ValidationError):
        uoom.Ledger().advance_ms(1)


def test_reserve_many_keeps_going_past_failures(ledger: uoom.Ledger) -> None:
    out = ledger.reserve_many(
        [
            {"id": "a", "channel": "c2", "units": 1},
            {"id": "b", "channel": "c2", "units": 1},
            {"id": "c", "channel": "c1", "units": 4, "slot": 0},
            {"id": "d", "channel": "ghost", "units": 1, "ttl_ms": 500},
        ],
    )
    assert [r["id"] for r in out] == ["a", "b", "c", "d"]
    assert out[0]["state"] == "pending" and out[2]["units"] == 4
    assert out[1]["error"]["code"] == "UOOM_CAPACITY"
    assert out[3]["error"]["code"] == "UOOM_NOT_FOUND"
    with pytest.raises(uoom.ValidationError) as e:
        ledger.reserve_many([{"id": "e", "channel": "c1"}, {"id": "f", "channel": "c1", "units": 0, "ttl": 5}])
    assert [(f["field"], f["code"]) for f in e.value.errors] == [
        ("items[0].units", "required"),
        ("items[1].ttl", "unknown_field"),
        ("items[1].units", "out_of_range"),
    ]


def test_reserve_batch_is_all_or_nothing(ledger: uoom.Ledger) -> None:
    with pytest.raises(uoom.CapacityError):
        ledger.reserve_batch("b1", [("c1", 2, None), ("c2", 2, None)])
    assert ledger.available("c1") == 5
    legs = ledger.reserve_batch("b2", [("c1", 2, None), ("c2", 1, 0)])
    assert len(legs) == 2 and {leg["channel"] for leg in legs} == {"c1", "c2"}
    assert all(leg["batch"] == legs[0]["batch"] for leg in legs)
    assert [leg["state"] for leg in ledger.commit_batch("b2")] == ["committed", "committed"]
    ledger.reserve_batch("b3", [("c1", 1, None)])
    assert [leg["state"] for leg in ledger.release_batch("b3")] == ["released"]


def test_slots_and_set_capacity() -> None:
    lg = uoom.Ledger(now_ms=0, slot_ms=1_000)
    assert lg.slot_ms == 1_000 and lg.slot_of(2_500) == 2
    ch = lg.set_capacity("c", 3, slot=2)
    assert (ch["old"], ch["new"]) == (None, 3)
    lg.reserve("r", "c", 3, slot=2)
    ch = lg.set_capacity("c", 1, slot=2)
    assert (ch["old"], ch["overcommitted"]) == (3, 2)
    assert ch["balance"]["available"] == 0
    assert repr(lg) == "Ledger(now_ms=0, slot_ms=1000)"


def test_partial_commit_returns_the_rest(ledger: uoom.Ledger) -> None:
    ledger.reserve("p", "c1", 4)
    r = ledger.commit("p", 1)
    assert (r["units"], r["committed"], r["state"]) == (4, 1, "committed")
    assert ledger.balance("c1")["available"] == 4
    with pytest.raises(uoom.UoomError):
        ledger.commit("p")
