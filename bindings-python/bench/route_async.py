#!/usr/bin/env python3
"""`await router.route(order)` paced at RPS orders/s for SECONDS on one asyncio
loop, each booked through a gateway whose `async def book` answers after
PARTNER_MS (`asyncio.sleep`).

    python route_async.py [--rps 2000] [--seconds 10] [--partner-ms 50]

Prints one JSON object: latency from an order's scheduled arrival to its
outcome (P50, P99, max), the event loop's lag (a 1 ms ticker measuring how
late each of its wake-ups is), peak RSS, bookings in flight, confirmed count.
Run it on a release wheel: `./scripts/python-bench.sh route-async`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import sys
import time
from typing import Any, Dict, List

import uoom


def pct(sorted_values: List[float], p: float) -> float:
    """The p-quantile (nearest rank) of an ascending list."""
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, int(p * len(sorted_values) + 0.999999) - 1))
    return sorted_values[i]


def rss_mb() -> float:
    """Resident memory now, MB (Linux /proc; peak RSS from getrusage elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TimerPartner:
    """A partner that books after `ms` milliseconds, without a thread."""

    def __init__(self, ms: float) -> None:
        self.delay = ms / 1000.0

    async def book(self, request: Dict[str, Any]) -> str:
        await asyncio.sleep(self.delay)
        return f"BK-{request['order_id']}"

    async def cancel(self, request: Dict[str, Any]) -> None:
        return None


def order(i: int) -> Dict[str, Any]:
    return {
        "customerId": f"123e4567-e89b-12d3-a456-{i:012d}",
        "items": [{"itemId": "i1", "name": "Pizza", "quantity": 1, "unitPrice": 15.99}],
        "deliveryAddress": {"street": "1 Main St", "city": "New York", "postalCode": "10001",
                            "latitude": 40.712, "longitude": -74.006},
    }


async def run(rps: int, seconds: float, partner_ms: float) -> Dict[str, Any]:
    channels = [
        {"id": f"c{i}", "kind": "external_partner", "lat": 40.71 + 0.005 * i, "lon": -74.0, "radius_km": 15.0,
         "capacity": 1_000_000, "vehicles": ["bike", "car"], "base_cost": 2.0, "cost_per_km": 0.5,
         "prep_min": 10.0, "speed_kmh": 20.0, "quality": 0.9}
        for i in range(5)
    ]
    router = uoom.Router(channels, gateway=TimerPartner(partner_ms), booking_timeout_ms=2_000)
    loop = asyncio.get_running_loop()
    total = int(rps * seconds)
    latencies: List[float] = []
    lags: List[float] = []
    confirmed = 0
    in_flight_max = 0
    rss_max = rss_mb()
    done = asyncio.Event()

    async def one(i: int, scheduled: float) -> None:
        nonlocal confirmed
        outcome = await router.route(order(i))
        latencies.append(loop.time() - scheduled)
        if outcome["status"] == "CONFIRMED":
            confirmed += 1
        if len(latencies) == total:
            done.set()

    async def ticker() -> None:
        while not done.is_set():
            t0 = loop.time()
            await asyncio.sleep(0.001)
            lags.append(loop.time() - t0 - 0.001)

    tasks = set()
    tick = asyncio.ensure_future(ticker())
    t0 = loop.time()
    next_rss = t0
    sent = 0
    while sent < total:
        due = min(total, int((loop.time() - t0) * rps) + 1)
        for i in range(sent, due):
            task = asyncio.ensure_future(one(i, t0 + i / rps))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        sent = due
        in_flight_max = max(in_flight_max, router.in_flight())
        if loop.time() >= next_rss:
            rss_max = max(rss_max, rss_mb())
            next_rss += 0.1
        await asyncio.sleep(0.001)
    while not done.is_set():
        in_flight_max = max(in_flight_max, router.in_flight())
        rss_max = max(rss_max, rss_mb())
        await asyncio.sleep(0.01)
    wall = loop.time() - t0
    await tick
    latencies.sort()
    lags.sort()
    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    return {
        "orders": total, "confirmed": confirmed, "rps_target": rps, "seconds": seconds,
        "partner": f"asyncio.sleep {partner_ms:g} ms", "wall_s": round(wall, 2),
        "latency_ms": {"p50": ms(pct(latencies, 0.50)), "p99": ms(pct(latencies, 0.99)), "max": ms(latencies[-1])},
        "event_loop_lag_ms": {"p50": ms(pct(lags, 0.50)), "p99": ms(pct(lags, 0.99)), "max": ms(lags[-1]),
                              "ticks": len(lags)},
        "bookings_in_flight_max": in_flight_max,
        "rss_mb": round(rss_max, 1),
        "python": platform.python_version(), "uoom": uoom.__version__,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rps", type=int, default=2_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--partner-ms", type=float, default=50.0)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.rps, args.seconds, args.partner_ms))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
