"""Router.route() and Router.submit() with a Python gateway: every way a
partner can answer, with the ledger's balances checked afterwards (no hold
left behind)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Awaitable, Callable, Dict, List

import pytest

import uoom

REQ: Dict[str, Any] = {
    "customerId": "123e4567-e89b-12d3-a456-426614174000",
    "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
    "deliveryAddress": {"street": "1 A St", "city": "Riyadh", "postalCode": "12211",
                        "latitude": 24.71, "longitude": 46.67},
}

Answer = Callable[[Dict[str, Any], int], Any]


def channels(capacity: int = 10) -> List[uoom.Channel]:
    return [
        uoom.Channel("k1", "internal_kitchen", 24.70, 46.68, radius_km=8.0, capacity=capacity,
                     vehicles=["bike", "car"], base_cost=2.0, cost_per_km=0.5, prep_min=10.0, speed_kmh=25.0,
                     quality=0.9),
        uoom.Channel("k2", "dark_store", 24.73, 46.69, radius_km=8.0, capacity=capacity,
                     vehicles=["bike"], base_cost=2.5, cost_per_km=0.5, prep_min=10.0, speed_kmh=25.0,
                     quality=0.8),
    ]


class Partner:
    """An async partner that records what it was asked and answers as `answer(request, n)` says
    (a value, an exception to raise, or an awaitable to await)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.booked: List[Dict[str, Any]] = []
        self.cancelled: List[Dict[str, Any]] = []

    async def book(self, request: Dict[str, Any]) -> str:
        self.booked.append(request)
        value = self.answer(request, len(self.booked))
        if isinstance(value, BaseException):
            raise value
        if isinstance(value, Awaitable):
            value = await value
        return value  # type: ignore[no-any-return]

    async def cancel(self, request: Dict[str, Any]) -> None:
        self.cancelled.append(request)


class SyncPartner:
    """The same with plain defs: `submit()` calls them directly, `route()` in a thread."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.booked: List[Dict[str, Any]] = []
        self.cancelled: List[Dict[str, Any]] = []

    def book(self, request: Dict[str, Any]) -> str:
        self.booked.append(request)
        value = self.answer(request, len(self.booked))
        if isinstance(value, BaseException):
            raise value
        return value  # type: ignore[no-any-return]

    def cancel(self, request: Dict[str, Any]) -> None:
        self.cancelled.append(request)


def router(gateway: Any, **options: Any) -> uoom.Router:
    return uoom.Router(channels(), gateway=gateway, **{"seed": 3, "booking_timeout_ms": 100, **options})


def assert_nothing_held(r: uoom.Router) -> None:
    for b in r.balances():
        assert b["pending"] == 0, f"{b['channel_id']}: a hold was left behind"
        assert b["committed"] <= b["capacity"], f"{b['channel_id']}: overbooked"
    assert r.in_flight() == 0


def committed(r: uoom.Router) -> int:
    return sum(b["committed"] for b in r.balances())


async def settle() -> None:
    """Lets background cancels run."""
    for _ in range(5):
        await asyncio.sleep(0.01)


def test_route_is_awaitable_and_books_through_the_gateway() -> None:
    p = Partner(lambda req, n: f"REF-{req['channel_id']}")
    r = router(p)

    async def main() -> None:
        pending = r.route(REQ, "k-1")
        assert asyncio.iscoroutine(pending)
        out = await pending
        assert out["status"] == "CONFIRMED"
        assert out["booking_reference"] == f"REF-{out['channel']}"
        req = p.booked[0]
        assert sorted(req) == ["channel_id", "channel_kind", "order", "order_id", "units"]
        assert req["order_id"] == out["order_id"] == req["order"]["id"]
        assert (req["units"], req["channel_kind"]) == (1, "internal_kitchen")
        assert req["order"]["status"] == "VALIDATED" and req["order"]["customerId"] == REQ["customerId"]
        assert committed(r) == 1
        again = await r.route(REQ, idempotency_key="k-1")
        assert again["replayed"] is True and again["order_id"] == out["order_id"]
        assert len(p.booked) == 1, "a replay books nothing"

    asyncio.run(main())
    assert r.status(p.booked[0]["order_id"])["status"] == "CONFIRMED"  # type: ignore[index]
    assert_nothing_held(r)


def test_route_without_a_gateway_awaits_the_simulated_partners() -> None:
    r = uoom.Router(channels(), seed=3)
    assert r.gateway is None
    out = asyncio.run(r.route(REQ))
    assert out["status"] == "CONFIRMED" and out["booking_reference"]
    with pytest.raises(uoom.ValidationError):
        asyncio.run(r.route({}))
    assert_nothing_held(r)


def test_a_raising_book_is_partner_failed_and_the_next_channel_is_tried(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="uoom")

    def answer(req: Dict[str, Any], n: int) -> Any:
        return RuntimeError("no courier free") if n == 1 else "second"

    p = Partner(answer)
    r = router(p)
    out = asyncio.run(r.route(REQ))
    assert out["status"] == "CONFIRMED" and out["attempts"] == 2
    assert out["booking_reference"] == "second"
    assert p.booked[0]["channel_id"] != p.booked[1]["channel_id"]
    assert p.cancelled == [], "a refusal needs no cancel"
    assert "no courier free" in caplog.text
    assert_nothing_held(r)


def test_a_plain_def_book_that_raises_fails_with_its_message(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="uoom")
    p = SyncPartner(lambda req, n: TypeError("bad partner config"))
    r = router(p)
    out = asyncio.run(r.route(REQ))
    assert (out["status"], out["failure"]) == ("FAILED", "partner_failed")
    assert len(p.booked) == 2  # both candidates tried
    assert "bad partner config" in caplog.text
    out = r.submit(REQ)
    assert (out["status"], out["failure"]) == ("FAILED", "partner_failed")
    assert_nothing_held(r)


def test_a_book_that_never_settles_is_partner_timeout_then_cancelled() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        p = Partner(lambda req, n: loop.create_future())  # a Future nobody resolves
        r = router(p, booking_timeout_ms=50)
        t0 = time.perf_counter()
        out = await r.route(REQ)
        took = time.perf_counter() - t0
        assert (out["status"], out["failure"]) == ("FAILED", "partner_timeout")
        assert took >= 0.045 * len(p.booked), f"gave up after {took * 1000:.0f} ms"
        await settle()
        assert len(p.cancelled) == len(p.booked) == 2, "every timed-out booking is cancelled"
        assert p.cancelled[0]["reference"] is None and p.cancelled[0]["reason"] == "partner_timeout"
        assert sorted(p.cancelled[0]) == ["channel_id", "order_id", "reason", "reference"]
        assert p.cancelled[0]["order_id"] == out["order_id"]
        assert_nothing_held(r)

    asyncio.run(main())


@pytest.mark.parametrize("bad", [42, None, "", {"reference": "R1"}, b"REF"])
def test_a_malformed_answer_is_partner_failed_naming_it(bad: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="uoom")
    r = router(Partner(lambda req, n: bad), top_k=1, fallback_attempts=0)
    out = asyncio.run(r.route(REQ))
    assert (out["status"], out["failure"]) == ("FAILED", "partner_failed")
    assert type(bad).__name__ in caplog.text and "not a booking reference" in caplog.text
    assert_nothing_held(r)


def test_a_cancel_that_fails_is_logged_and_the_hold_still_released(caplog: pytest.LogCaptureFixture) -> None:
    class Down:
        def __init__(self) -> None:
            self.cancels = 0

        async def book(self, request: Dict[str, Any]) -> str:
            await asyncio.Event().wait()  # never answers
            return "never"

        async def cancel(self, request: Dict[str, Any]) -> None:
            self.cancels += 1
            raise ConnectionError("partner API down")

    async def main() -> None:
        gw = Down()
        r = router(gw, booking_timeout_ms=20, top_k=1, fallback_attempts=0)
        out = await r.route(REQ)
        assert out["failure"] == "partner_timeout"
        await settle()
        assert gw.cancels == 1
        assert_nothing_held(r)

    asyncio.run(main())
    failed = [rec for rec in caplog.records if rec.name == "uoom" and rec.levelno == logging.WARNING]
    assert any("partner API down" in rec.getMessage() for rec in failed), caplog.text


def test_a_plain_def_gateway_routes_through_submit() -> None:
    p = SyncPartner(lambda req, n: f"S-{n}")
    r = router(p)
    out = r.submit(REQ, idempotency_key="s-1")
    assert (out["status"], out["booking_reference"]) == ("CONFIRMED", "S-1")
    assert r.submit(REQ, "s-1")["replayed"] is True
    assert len(p.booked) == 1
    assert committed(r) == 1
    assert_nothing_held(r)


def test_submit_catches_a_late_answer_with_the_engines_deadline() -> None:
    def slow(req: Dict[str, Any], n: int) -> str:
        time.sleep(0.06)
        return f"LATE-{n}"

    p = SyncPartner(slow)
    r = router(p, booking_timeout_ms=30, top_k=1, fallback_attempts=0)
    out = r.submit(REQ)
    assert (out["status"], out["failure"]) == ("FAILED", "partner_timeout")
    assert [c["reference"] for c in p.cancelled] == ["LATE-1"], "the late booking is cancelled by its reference"
    assert_nothing_held(r)


def test_route_cancels_a_late_answer_from_a_plain_def_book() -> None:
    def slow(req: Dict[str, Any], n: int) -> str:
        time.sleep(0.08)
        return f"LATE-{n}"

    async def main() -> None:
        p = SyncPartner(slow)
        r = router(p, booking_timeout_ms=20, top_k=1, fallback_attempts=0)
        out = await r.route(REQ)
        assert out["failure"] == "partner_timeout"
        await asyncio.sleep(0.15)
        refs = sorted(str(c["reference"]) for c in p.cancelled)
        assert refs == ["LATE-1", "None"], "the timeout's cancel, then the late booking's"
        assert_nothing_held(r)

    asyncio.run(main())


def test_a_plain_def_book_runs_off_the_event_loop() -> None:
    def blocking(req: Dict[str, Any], n: int) -> str:
        time.sleep(0.1)
        return "ok"

    async def main() -> None:
        r = router(SyncPartner(blocking), booking_timeout_ms=2_000)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        t = asyncio.ensure_future(ticker())
        out = await r.route(REQ)
        t.cancel()
        assert out["status"] == "CONFIRMED"
        assert ticks >= 5, f"the loop ticked {ticks} times while the partner blocked for 100 ms"

    asyncio.run(main())


def test_submit_refuses_an_async_gateway() -> None:
    p = Partner(lambda req, n: "x")
    r = router(p)
    with pytest.raises(uoom.ConflictError) as e:
        r.submit(REQ)
    assert "await router.route" in str(e.value) and e.value.code == "UOOM_CONFLICT"
    with pytest.raises(uoom.ConflictError):
        r.route_many([REQ])
    assert p.booked == [] and committed(r) == 0
    assert_nothing_held(r)


def test_submit_refuses_a_plain_def_that_returns_an_awaitable() -> None:
    class Sneaky:
        def book(self, request: Dict[str, Any]) -> Any:
            return asyncio.sleep(0, result="R")

        def cancel(self, request: Dict[str, Any]) -> None:
            pass

    r = router(Sneaky())
    with pytest.raises(uoom.ConflictError):
        r.submit(REQ)
    assert_nothing_held(r)
    # route() awaits what the thread handed back
    out = asyncio.run(r.route(REQ))
    assert (out["status"], out["booking_reference"]) == ("CONFIRMED", "R")


def test_bad_gateways_are_refused() -> None:
    class NoBook:
        book = 1

    class BadCancel:
        def book(self, request: Dict[str, Any]) -> str:
            return "x"

        cancel = "no"

    with pytest.raises(uoom.ValidationError) as e:
        uoom.Router(channels(), gateway=NoBook())  # type: ignore[arg-type]
    assert [(f["field"], f["code"]) for f in e.value.errors] == [("gateway", "invalid_type")]
    with pytest.raises(uoom.ValidationError) as e:
        uoom.Router(channels(), gateway=BadCancel())  # type: ignore[arg-type]
    assert [(f["field"], f["code"]) for f in e.value.errors] == [("gateway.cancel", "invalid_type")]
    with pytest.raises(uoom.ValidationError) as e:
        uoom.Router(channels(), gateway=SyncPartner(lambda r, n: "x"), batch_window_ms=10)
    assert [(f["field"], f["code"]) for f in e.value.errors] == [("batch_window_ms", "unsupported")]
    # The native class takes no gateway: the key is refused as the JSON contract refuses it.
    with pytest.raises(uoom.ValidationError) as e:
        uoom._uoom.Router(channels(), gateway=SyncPartner(lambda r, n: "x"))  # type: ignore[call-arg]
    assert [(f["field"], f["code"]) for f in e.value.errors] == [("gateway", "unsupported")]
    assert uoom.Router(channels(), gateway=None).gateway is None


def test_cancelling_the_route_task_abandons_the_saga() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        p = Partner(lambda req, n: loop.create_future())
        r = router(p, booking_timeout_ms=10_000)
        task = asyncio.ensure_future(r.route(REQ))
        while not p.booked:
            await asyncio.sleep(0.001)
        assert r.in_flight() == 1
        assert sum(b["pending"] for b in r.balances()) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await settle()
        assert_nothing_held(r)
        assert [c["reason"] for c in p.cancelled] == ["partner_timeout"]
        view = r.status(p.booked[0]["order_id"])
        assert view is not None and view["status"] == "FAILED"

    asyncio.run(main())


def test_resume_takes_exactly_one_answer() -> None:
    r = router(SyncPartner(lambda req, n: "x"))
    step = r.begin(REQ)
    book = step["book"]
    assert book is not None and step["outcome"] is None and book["timeout_ms"] == 100
    with pytest.raises(uoom.ValidationError):
        r.resume(book["ticket"])
    with pytest.raises(uoom.ValidationError):
        r.resume(book["ticket"], reference="a", error="b")
    done = r.resume(book["ticket"], error="refused")
    assert done["book"] is not None, "the next candidate"
    with pytest.raises(uoom.NotFoundError):
        r.resume(book["ticket"], reference="again")
    final = r.abandon(done["book"]["ticket"])
    assert final["outcome"] is not None and final["outcome"]["status"] == "FAILED"
    assert [c["reason"] for c in final["cancels"]] == ["partner_timeout"]
    assert_nothing_held(r)


BURST = 10_000


def test_a_burst_of_concurrent_routes_all_settle_and_add_up() -> None:
    n = 0

    class Busy:
        async def book(self, request: Dict[str, Any]) -> str:
            nonlocal n
            n += 1
            mine = n
            await asyncio.sleep(0.001 * (1 + mine % 7))
            if mine % 50 == 0:
                raise RuntimeError("refused")
            return f"R{mine}"

        async def cancel(self, request: Dict[str, Any]) -> None:
            pass

    r = uoom.Router(channels(capacity=6_000), seed=5, gateway=Busy(), booking_timeout_ms=5_000)

    async def main() -> List[Dict[str, Any]]:
        return list(await asyncio.gather(*(r.route(REQ) for _ in range(BURST))))

    outs = asyncio.run(main())
    assert len(outs) == BURST
    assert len({o["order_id"] for o in outs}) == BURST
    confirmed = sum(o["status"] == "CONFIRMED" for o in outs)
    failed = sum(o["status"] == "FAILED" for o in outs)
    assert confirmed + failed == BURST
    assert committed(r) == confirmed, "every confirmed order holds one committed unit"
    assert confirmed > BURST * 0.95, f"{confirmed} confirmed"
    assert len({o["booking_reference"] for o in outs if o["status"] == "CONFIRMED"}) == confirmed
    assert_nothing_held(r)


def test_gateways_type_check_as_the_protocol() -> None:
    gw: uoom.Gateway = SyncPartner(lambda req, n: "x")
    also: uoom.Gateway = Partner(lambda req, n: "x")
    assert callable(gw.book) and callable(also.cancel)



def test_cancelling_a_confirmed_order_cancels_its_booking_through_the_gateway() -> None:
    p = Partner(lambda req, n: f"REF-{n}")
    r = router(p)

    async def main() -> str:
        out = await r.route(REQ)
        assert out["status"] == "CONFIRMED"
        view = r.advance(out["order_id"], "CANCELLED")  # on the loop: sent in the background
        assert view["status"] == "CANCELLED"
        await settle()
        return str(out["order_id"])

    oid = asyncio.run(main())
    assert [(c["order_id"], c["reference"], c["reason"]) for c in p.cancelled] == [(oid, "REF-1", "order_cancelled")]
    assert committed(r) == 0, "the committed unit is refunded"
    # Off the loop, a plain-def gateway's cancel runs before advance returns.
    sp = SyncPartner(lambda req, n: "S-1")
    rs = router(sp)
    out = rs.submit(REQ)
    rs.advance(out["order_id"], "CANCELLED")
    assert [c["reference"] for c in sp.cancelled] == ["S-1"]
    # An async gateway off the loop: advance runs the cancel to completion.
    ap = Partner(lambda req, n: "A-1")
    ra = router(ap)
    out = asyncio.run(ra.route(REQ))
    ra.advance(out["order_id"], "CANCELLED")
    assert [c["reference"] for c in ap.cancelled] == ["A-1"]
    assert_nothing_held(rs)
    assert_nothing_held(ra)
