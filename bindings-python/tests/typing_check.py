"""Type-checked with `mypy --strict` in `make test-python`: the stubs must let
ordinary client code through without casts and reject obvious misuse."""

from __future__ import annotations

from typing import Any, Dict, List

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
