"""Type-checked with `mypy --strict` in `make test-python`: the stubs must let
ordinary client code through without casts and reject obvious misuse."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import uoom


def channel_names(channels: List[Dict[str, Any]]) -> List[str]:
    built = [uoom.Channel.from_dict(c) for c in channels]
    return [f"{c.id}:{c.kind}:{c.capacity + 1}" for c in built]


def catch() -> str:
    try:
        uoom.Channel(
            "c", "dark_store", 0.0, 0.0, radius_km=5.0, base_cost=1.0, cost_per_km=0.5, prep_min=10.0,
            speed_kmh=25.0, quality=0.9,
        )
    except uoom.ValidationError as e:
        return e.errors[0]["field"]
    return ""


def route_with_options(channels: List[Dict[str, Any]]) -> str:
    router = uoom.Router(channels, manual_clock=True, top_k=2, rank_weights={"cost": 1.0})
    return str(router.options["top_k"])


class Partner:
    """An asyncio partner: satisfies uoom.Gateway."""

    async def book(self, request: Dict[str, Any]) -> str:
        return f"BK-{request['order_id']}"

    async def cancel(self, request: Dict[str, Any]) -> None:
        return None


class BlockingPartner:
    """A partner of plain defs: satisfies uoom.Gateway too."""

    def book(self, request: Dict[str, Any]) -> str:
        return "BK-1"

    def cancel(self, request: Dict[str, Any]) -> None:
        return None


class NotAPartner:
    def book(self, request: int) -> str:
        return "x"


async def route_with_gateway(channels: List[Dict[str, Any]], request: Dict[str, Any]) -> Optional[str]:
    router = uoom.Router(channels, gateway=Partner(), booking_timeout_ms=2000)
    outcome = await router.route(request, idempotency_key=None)
    reference: Optional[str] = outcome["booking_reference"]
    return reference


def submit_with_gateway(channels: List[Dict[str, Any]], request: Dict[str, Any]) -> int:
    router = uoom.Router(channels, gateway=BlockingPartner())
    gateway: Optional[uoom.Gateway] = router.gateway
    status = str(router.submit(request)["status"])
    return len(status) + sum(b["pending"] for b in router.balances()) + router.in_flight() + int(gateway is None)


def misuse(channels: List[Dict[str, Any]]) -> None:
    uoom.Router(channels, gateway=NotAPartner())  # type: ignore[arg-type]
    uoom.Router(channels, gateway=Partner(), top_kk=1)  # type: ignore[call-arg]
