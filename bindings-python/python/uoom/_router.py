"""The router with a partner gateway: ``await router.route(...)`` on asyncio,
``router.submit(...)`` blocking.

The native router (``uoom._uoom.Router``) exposes the saga's steps: ``begin``
gives the booking to make, ``resume`` takes the partner's answer, ``abandon``
gives a booking up. This subclass drives them with the caller's gateway, an
object with ``book(request)`` and ``cancel(request)`` methods, each an
``async def`` or a plain ``def``. The engine owns the booking timeout and the
compensation: the loop only runs one step's CPU work at a time (with the GIL
released inside Rust), and nothing waits for a partner but the awaiting
coroutine.

>>> import asyncio, uoom
>>> class Partner:
...     async def book(self, request):
...         return f"BK-{request['channel_id']}"
...     async def cancel(self, request):
...         pass
>>> k1 = uoom.Channel("k1", "internal_kitchen", 40.71, -74.0, radius_km=8.0, capacity=5,
...                   base_cost=2.0, cost_per_km=0.5, prep_min=10.0, speed_kmh=25.0, quality=0.9)
>>> router = uoom.Router([k1], gateway=Partner(), booking_timeout_ms=2000)
>>> order = {"customerId": "123e4567-e89b-12d3-a456-426614174000",
...          "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
...          "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
...                              "latitude": 40.712, "longitude": -74.006}}
>>> outcome = asyncio.run(router.route(order))
>>> outcome["status"], outcome["booking_reference"]
('CONFIRMED', 'BK-k1')
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import reprlib
from typing import (
    TYPE_CHECKING,
    Any,
    Awaitable,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Protocol,
    Sequence,
    Set,
    Union,
    cast,
)

from uoom import _uoom
from uoom.exceptions import ConflictError, ValidationError

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from uoom._uoom import Channel, _OrderStatus, _RouterOptions

__all__ = ["Gateway", "Router"]

#: Where the router reports what a partner said beside the outcome: a refused
#: booking (INFO), a malformed answer and a failed cancel (WARNING).
logger = logging.getLogger("uoom")

_Answer = Dict[str, Any]


class Gateway(Protocol):
    """A partner's booking API, as ``Router(channels, gateway=...)`` takes it.

    ``book`` receives ``{"order_id", "channel_id", "channel_kind", "units",
    "order"}`` and returns the partner's booking reference (a non-empty
    ``str``); raising means the partner refused or failed. ``cancel``
    receives ``{"order_id", "channel_id", "reference", "reason"}`` for a
    booking the engine gave up (``reference`` is None after a timeout: the
    partner may hold a booking the engine never saw). Either may be an
    ``async def`` or a plain ``def``.
    """

    def book(self, request: Dict[str, Any]) -> Union[str, Awaitable[str]]: ...

    def cancel(self, request: Dict[str, Any]) -> Union[None, Awaitable[None]]: ...


def _is_async(fn: Any) -> bool:
    """True for an ``async def`` function or method (or an object whose ``__call__`` is one)."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


def _reason(err: BaseException) -> str:
    """The error text of a refused booking, whatever was raised."""
    return str(err) or type(err).__name__


def _invalid(field: str, code: str, message: str) -> ValidationError:
    return ValidationError(f"invalid input: {field}: {message}", [{"field": field, "code": code, "message": message}])


def _answer_of(value: Any) -> _Answer:
    """The engine's answer for what ``book`` returned: a non-empty str is the reference."""
    if isinstance(value, str) and value:
        return {"reference": value}
    what = "an empty str" if isinstance(value, str) else f"{reprlib.repr(value)} ({type(value).__name__})"
    return {"error": f"gateway.book returned {what}, not a booking reference (a non-empty str)"}


class Router(_uoom.Router):
    """Routes orders to channels: ranking, capacity reservation, partner
    booking with compensation, batch optimisation when a window is set.

    Without a ``gateway`` the router books through simulated partners
    (``partner_failure_rate``, ``partner_latency_ms``). With one, ``route()``
    (awaitable) and ``submit()`` (blocking, for a gateway of plain ``def``s)
    book through it with the engine's ``booking_timeout_ms``; a batch window
    cannot be combined with a gateway.
    """

    _gateway: Optional[Gateway]
    _book_async: bool
    _cancel_async: bool
    _timeout_s: float
    _background: Set[asyncio.Future[Any]]

    def __new__(
        cls,
        channels: Iterable[Union[Channel, Dict[str, Any]]],
        *,
        gateway: Optional[Gateway] = None,
        **options: Unpack[_RouterOptions],
    ) -> Router:
        if gateway is not None:
            if not callable(getattr(gateway, "book", None)):
                raise _invalid("gateway", "invalid_type", "gateway must be an object with a book(request) method")
            if getattr(gateway, "cancel", None) is not None and not callable(gateway.cancel):
                raise _invalid("gateway.cancel", "invalid_type", "gateway.cancel must be a method")
            if options.get("batch_window_ms") is not None:
                raise _invalid(
                    "batch_window_ms",
                    "unsupported",
                    "a batch window routes through simulated partners: it cannot be combined with a gateway",
                )
        self = super().__new__(cls, channels, **options)
        self._gateway = gateway
        self._book_async = gateway is not None and _is_async(gateway.book)
        self._cancel_async = gateway is not None and _is_async(getattr(gateway, "cancel", None))
        self._timeout_s = self.options["booking_timeout_ms"] / 1000.0
        self._background = set()
        return self

    @property
    def gateway(self) -> Optional[Gateway]:
        """The gateway this router books through (None: simulated partners)."""
        return self._gateway

    # -- asyncio --------------------------------------------------------------

    async def route(self, request: Dict[str, Any], idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """Routes one create-order request; always awaitable.

        With a gateway, each booking is ``await gateway.book(request)`` (a
        plain ``def book`` runs in the loop's default executor, so a blocking
        partner call does not stall the loop), cut at ``booking_timeout_ms``:
        a raise is ``partner_failed``, no answer in time is
        ``partner_timeout`` and is cancelled, a value that is not a
        non-empty ``str`` is ``partner_failed``; the hold is released and the
        next candidate tried. Cancels are sent in the background. Cancelling
        the awaiting task gives the booking up at once (its hold released,
        the order failed, the booking cancelled). Without a gateway this is
        ``submit`` through the simulated partners, with nothing to await.
        """
        if self._gateway is None:
            return super().submit(request, idempotency_key)
        step = self.begin(request, idempotency_key)
        while True:
            self._cancel_later(step["cancels"])
            book = step["book"]
            if book is None:
                outcome = step["outcome"]
                assert outcome is not None  # a step without a booking is the outcome
                return outcome
            ticket = book["ticket"]
            try:
                answer = await self._book_within(book["request"], book["timeout_ms"])
            except BaseException:
                # The caller went away (task.cancel(), a server shutting down):
                # fail the order now rather than leave its hold to the TTL.
                self._cancel_later(self.abandon(ticket)["cancels"])
                raise
            step = self.resume(ticket, **answer)

    async def _book_within(self, request: Dict[str, Any], timeout_ms: int) -> _Answer:
        """The partner's answer as the engine takes it, cut at ``timeout_ms``."""
        gateway = self._gateway
        assert gateway is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000.0
        try:
            if self._book_async:
                pending: asyncio.Future[Any] = asyncio.ensure_future(cast("Awaitable[Any]", gateway.book(request)))
            else:
                pending = loop.run_in_executor(None, gateway.book, request)
        except Exception as e:  # an object whose book is not awaitable after all
            return self._refused(request, e)
        while True:
            try:
                done, _ = await asyncio.wait((pending,), timeout=max(0.0, deadline - loop.time()))
            except BaseException:
                self._give_up(pending, request)
                raise
            if not done:
                self._give_up(pending, request)
                return {"timeout": True}
            try:
                value = pending.result()
            except asyncio.CancelledError:
                return self._refused(request, RuntimeError("gateway.book was cancelled"))
            except Exception as e:
                return self._refused(request, e)
            if inspect.isawaitable(value):  # a plain def that returned a coroutine: await it too
                pending = asyncio.ensure_future(value)
                continue
            return self._checked(request, value)

    def _give_up(self, pending: asyncio.Future[Any], request: Dict[str, Any]) -> None:
        """Stops waiting for a booking: a coroutine is cancelled; an answer that
        still comes (a thread, or a coroutine that ignored the cancel) and
        carries a reference is cancelled with the partner."""

        def late(f: asyncio.Future[Any]) -> None:
            if f.cancelled() or f.exception() is not None:
                return
            value = f.result()
            if isinstance(value, str) and value:
                late_cancel = {"order_id": request["order_id"], "channel_id": request["channel_id"],
                               "reference": value, "reason": "partner_timeout"}
                self._cancel_later([late_cancel])
            elif inspect.iscoroutine(value):
                value.close()

        if isinstance(pending, asyncio.Task):  # a thread cannot be stopped: its answer is awaited by `late`
            pending.cancel()
        pending.add_done_callback(late)

    def _cancel_later(self, cancels: List[Dict[str, Any]]) -> None:
        """Sends cancels in the background of the running loop (fire and forget)."""
        if not cancels or getattr(self._gateway, "cancel", None) is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on a loop (advance() from plain code): send them before returning
            if self._cancel_async:
                asyncio.run(self._cancel_all(cancels))
            else:
                self._cancel_now(cancels)
            return
        for c in cancels:
            task = loop.create_task(self._cancel_one(c))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _cancel_one(self, c: Dict[str, Any]) -> None:
        gateway = self._gateway
        assert gateway is not None
        # A cancel gets as long as a booking does; it must not pile up forever.
        timeout = self._timeout_s
        try:
            if self._cancel_async:
                await asyncio.wait_for(cast("Awaitable[None]", gateway.cancel(c)), timeout)
            else:
                loop = asyncio.get_running_loop()
                value = await asyncio.wait_for(loop.run_in_executor(None, gateway.cancel, c), timeout)
                if inspect.isawaitable(value):
                    await asyncio.wait_for(value, timeout)
        except asyncio.TimeoutError:
            self._cancel_failed(c, f"no answer within {timeout * 1000:.0f} ms")
        except Exception as e:
            self._cancel_failed(c, _reason(e))

    # -- blocking --------------------------------------------------------------

    def submit(self, request: Dict[str, Any], idempotency_key: Optional[str] = None) -> Dict[str, Any]:
        """Routes one create-order request, blocking.

        Without a gateway, through the simulated partners. With a gateway of
        plain ``def``s, each booking is a direct ``gateway.book(request)``
        call; one that returns after ``booking_timeout_ms`` counts as
        ``partner_timeout`` (the engine's deadline) and is cancelled. A
        gateway with an ``async def`` book or cancel cannot be awaited here:
        ``ConflictError``, use ``await router.route(...)``.
        """
        gateway = self._gateway
        if gateway is None:
            return super().submit(request, idempotency_key)
        if self._book_async or self._cancel_async:
            raise self._needs_route("submit", "awaits nothing, and this gateway's book or cancel is an async def")
        step = self.begin(request, idempotency_key)
        while True:
            self._cancel_now(step["cancels"])
            book = step["book"]
            if book is None:
                outcome = step["outcome"]
                assert outcome is not None  # a step without a booking is the outcome
                return outcome
            ticket, booking = book["ticket"], book["request"]
            try:
                value = gateway.book(booking)
            except Exception as e:
                answer = self._refused(booking, e)
            except BaseException:  # KeyboardInterrupt: give the booking up, then stop
                self._cancel_now(self.abandon(ticket)["cancels"])
                raise
            else:
                if inspect.isawaitable(value):
                    if inspect.iscoroutine(value):
                        value.close()
                    self._cancel_now(self.abandon(ticket)["cancels"])
                    raise self._needs_route("submit", "awaits nothing, and this gateway's book returned an awaitable")
                answer = self._checked(booking, value)
            step = self.resume(ticket, **answer)

    def _cancel_now(self, cancels: List[Dict[str, Any]]) -> None:
        cancel: Optional[Callable[[Dict[str, Any]], Any]] = getattr(self._gateway, "cancel", None)
        if cancel is None:
            return
        for c in cancels:
            try:
                cancel(c)
            except Exception as e:
                self._cancel_failed(c, _reason(e))

    def route_many(
        self, requests: Iterable[Dict[str, Any]], *, keys: Optional[Sequence[Optional[str]]] = None
    ) -> List[Dict[str, Any]]:
        """Routes many requests in one call through the simulated partners
        (``ConflictError`` with a gateway: route them with ``route()``)."""
        if self._gateway is not None:
            raise self._needs_route("route_many", "books through the simulated partners")
        return super().route_many(requests, keys=keys)

    def advance(self, order_id: str, status: _OrderStatus) -> Dict[str, Any]:
        """Moves a routed order along its lifecycle; returns its status view.

        With a gateway, cancelling a confirmed order takes its booking back
        through ``gateway.cancel``: in the background when called on a
        running event loop, before returning otherwise.
        """
        if self._gateway is None:
            return super().advance(order_id, status)
        view, cancels = self.advance_deferred(order_id, status)
        self._cancel_later(cancels)
        return view

    async def _cancel_all(self, cancels: List[Dict[str, Any]]) -> None:
        await asyncio.gather(*(self._cancel_one(c) for c in cancels))

    # -- reporting -------------------------------------------------------------

    @staticmethod
    def _refused(request: Dict[str, Any], err: BaseException) -> _Answer:
        reason = _reason(err)
        logger.info("uoom: booking order %s on %s failed: %s", request["order_id"], request["channel_id"], reason)
        return {"error": reason}

    @staticmethod
    def _checked(request: Dict[str, Any], value: Any) -> _Answer:
        answer = _answer_of(value)
        if "error" in answer:
            logger.warning("uoom: booking order %s on %s: %s", request["order_id"], request["channel_id"],
                           answer["error"])
        return answer

    @staticmethod
    def _cancel_failed(c: Dict[str, Any], reason: str) -> None:
        logger.warning("uoom: cancelling the booking of order %s on %s failed: %s (its hold is released)",
                       c["order_id"], c["channel_id"], reason)

    @staticmethod
    def _needs_route(method: str, why: str) -> ConflictError:
        return ConflictError(f"conflict: Router.{method}() {why}: use `await router.route(request)`")

