#!/usr/bin/env python3
"""A fulfillment partner's booking API, for the service's tests and demos.

The same HTTP API as the Rust example's `uoom-example-partner`, in Python
(Starlette under uvicorn): bookings answer after a latency, a share of them is
refused, and some channels refuse every booking.

    python partner.py --port 8081

Endpoints:
    POST /bookings        {"orderId", "channelId", "channelKind", "units"}
                          -> 200 {"reference": "BK-<channel>-<order>"} | 503 {"error": ...}
    POST /cancellations   {"orderId", "channelId", "reference", "reason"} -> 204
    GET  /stats           {"booked", "refused", "cancelled"}

Environment: `LATENCY_MS` (default 50), `FAIL_PERCENT` (default 10: that share
of bookings, chosen by order and channel, is refused, so a retry of the same
booking meets the same fate), `REFUSE_CHANNELS` (comma-separated channel ids
that refuse every booking).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from typing import Any, Dict, FrozenSet

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


def bucket(key: str) -> int:
    """A stable number in 0..100 from `key` (FNV-1a, as the Rust partner computes it).

    >>> bucket("o1/k1") == bucket("o1/k1"), 0 <= bucket("x") < 100
    (True, True)
    """
    h = 0xCBF29CE484222325
    for b in key.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h % 100


def create_app(latency_ms: int = 50, fail_percent: int = 10, refuse: FrozenSet[str] = frozenset()) -> Starlette:
    """The partner's API with its counters."""
    stats: Dict[str, int] = {"booked": 0, "refused": 0, "cancelled": 0}

    async def book(request: Request) -> Response:
        msg: Dict[str, Any] = await request.json()
        order, channel = str(msg.get("orderId", "")), str(msg.get("channelId", ""))
        await asyncio.sleep(latency_ms / 1000)
        if channel in refuse or bucket(f"{order}/{channel}") < fail_percent:
            stats["refused"] += 1
            return JSONResponse({"error": "no courier free"}, status_code=503)
        stats["booked"] += 1
        return JSONResponse({"reference": f"BK-{channel}-{order}"})

    async def cancel(request: Request) -> Response:
        await request.body()
        stats["cancelled"] += 1
        return Response(status_code=204)

    async def get_stats(request: Request) -> Response:
        return JSONResponse(stats)

    return Starlette(routes=[
        Route("/bookings", book, methods=["POST"]),
        Route("/cancellations", cancel, methods=["POST"]),
        Route("/stats", get_stats, methods=["GET"]),
    ])


def serve(app: Any, host: str, port: int) -> None:
    """Runs `app` under uvicorn on a socket bound first, so that `--port 0`
    can print the port it got before serving."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_host, bound_port = sock.getsockname()[:2]
    print(f"listening on http://{bound_host}:{bound_port}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


def main(argv: Any = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    args = ap.parse_args(argv)
    refuse = frozenset(c for c in os.environ.get("REFUSE_CHANNELS", "").split(",") if c)
    app = create_app(int(os.environ.get("LATENCY_MS", "50")), int(os.environ.get("FAIL_PERCENT", "10")), refuse)
    serve(app, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
