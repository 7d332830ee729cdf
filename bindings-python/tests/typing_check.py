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
        uoom.Channel("c", "dark_store", 0.0, 0.0)
    except uoom.ValidationError as e:
        return e.errors[0]["field"]
    return ""
