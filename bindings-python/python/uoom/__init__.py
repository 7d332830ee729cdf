"""uoom: order routing and assignment optimisation with a Rust core.

>>> import uoom
>>> c = uoom.Channel("c1", "dark_store", 24.70, 46.69, radius_km=8.0, base_cost=2.1, cost_per_km=0.65,
...                  prep_min=9.0, speed_kmh=24.0, quality=0.91, capacity=60, vehicles=["bike", "car"])
>>> c.capacity
60
"""

from __future__ import annotations

from uoom._uoom import Channel, Ledger, Order, Ranker, __version__, solve, validate, validate_order
from uoom._router import Gateway, Router
from uoom.exceptions import (
    CapacityError,
    ConflictError,
    InfeasibleError,
    IoError,
    NotFoundError,
    TimeoutError,
    UoomError,
    ValidationError,
)

__all__ = [
    "__version__",
    "Channel",
    "Order",
    "Ledger",
    "Ranker",
    "Router",
    "Gateway",
    "validate",
    "validate_order",
    "solve",
    "UoomError",
    "ValidationError",
    "InfeasibleError",
    "CapacityError",
    "NotFoundError",
    "ConflictError",
    "TimeoutError",
    "IoError",
]
