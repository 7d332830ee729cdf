#!/usr/bin/env python3
"""The optimization service, rebuilt on the uoom wheel: FastAPI under uvicorn.

A batch of orders and channels in, the assignment out (`POST /optimize`), and
single orders routed in-process and booked with the partners over HTTP
(`POST /orders`). The model building and solving that took the old service
minutes in Python happen in Rust, on a thread pool with the GIL released, so
the event loop keeps answering while a batch is solved; an order's booking is
awaited on the loop (a shared, pooled `httpx.AsyncClient`), no thread held.

    PARTNER_URL=http://127.0.0.1:8081 python server.py --port 8080
    curl -s localhost:8080/optimize -d @batch.json

Endpoints:
    POST /optimize          {"orders": [...], "channels": [...], "weights"?: {...},
                             "unassigned_penalty"?: 100, "time_limit_ms"?: 100, "exact"?: false}
                            -> {"assignments", "unassigned", "objective", "method", "solve_ms", ...}
    POST /orders            a create-order request (`Idempotency-Key` header honoured)
                            -> 201 the outcome when CONFIRMED, 422 when FAILED (with `failure`)
    GET  /orders/{id}       the order's status
    POST /orders/validate   a create-order request -> its normalized form
    GET  /health            {"status": "ok", "uoom": VERSION, "bookings_in_flight": N}
    GET  /metrics           Prometheus text

Errors are JSON {"code": "UOOM_...", "message": ..., "errors"?: [...]}: 400 for
validation (every field error), 404, 409, 413 for a body over 8 MiB, 422 for
infeasible or capacity. Without `PARTNER_URL` orders book with simulated partners.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Dict, List, Optional

import httpx
import uvicorn
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.exceptions import HTTPException

import uoom

MAX_BODY = 8 * 1024 * 1024
MAX_TIME_LIMIT_MS = 60_000
DEFAULT_WEIGHTS = {"cost": 1.0, "time": 0.1, "quality": 10.0}

STATUS_OF = {
    "UOOM_VALIDATION": 400,
    "UOOM_INFEASIBLE": 422,
    "UOOM_CAPACITY": 422,
    "UOOM_NOT_FOUND": 404,
    "UOOM_CONFLICT": 409,
    "UOOM_TIMEOUT": 504,
    "UOOM_IO": 502,
}

#: The channels orders are routed to: a small New York catalogue (two own
#: kitchens, a dark store, a partner with refrigerated vans).
CHANNELS: List[Dict[str, Any]] = [
    {"id": "nyc-kitchen-soho", "kind": "internal_kitchen", "lat": 40.7233, "lon": -74.003, "radius_km": 6.0,
     "capacity": 400, "vehicles": ["bike", "car"], "base_cost": 2.5, "cost_per_km": 0.6, "prep_min": 12.0,
     "speed_kmh": 18.0, "quality": 0.93},
    {"id": "nyc-kitchen-midtown", "kind": "internal_kitchen", "lat": 40.7549, "lon": -73.984, "radius_km": 6.0,
     "capacity": 400, "vehicles": ["bike", "car"], "base_cost": 2.5, "cost_per_km": 0.6, "prep_min": 12.0,
     "speed_kmh": 16.0, "quality": 0.9},
    {"id": "nyc-darkstore-fidi", "kind": "dark_store", "lat": 40.7075, "lon": -74.0113, "radius_km": 5.0,
     "capacity": 600, "vehicles": ["bike", "car", "van"], "base_cost": 2.1, "cost_per_km": 0.65, "prep_min": 8.0,
     "speed_kmh": 20.0, "quality": 0.88},
    {"id": "nyc-partner-brooklyn", "kind": "external_partner", "lat": 40.6928, "lon": -73.9903, "radius_km": 10.0,
     "capacity": 1000, "vehicles": ["car", "van", "refrigerated"], "base_cost": 4.0, "cost_per_km": 0.8,
     "prep_min": 15.0, "speed_kmh": 25.0, "quality": 0.8},
]


class PartnerError(Exception):
    """The partner answered a booking with something other than 200."""


class HttpPartner:
    """uoom's gateway for the partners' booking API over HTTP.

    `POST {base}/bookings` answers `{"reference"}`; `POST {base}/cancellations`
    takes back a booking uoom gave up. A non-200 answer raises, which uoom
    counts as a refusal (`partner_failed`) before trying the next channel;
    uoom itself cuts a booking at `booking_timeout_ms` (cancelling this
    coroutine, which aborts the request) and sends the cancel.
    """

    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self.client = client
        self.base = base_url.rstrip("/")

    async def book(self, request: Dict[str, Any]) -> str:
        res = await self.client.post(f"{self.base}/bookings", json={
            "orderId": request["order_id"], "channelId": request["channel_id"],
            "channelKind": request["channel_kind"], "units": request["units"],
        })
        if res.status_code != 200:
            raise PartnerError(f"partner answered {res.status_code}: {res.text[:200]}")
        reference: str = res.json().get("reference")  # anything but a str is refused by uoom, named
        return reference

    async def cancel(self, request: Dict[str, Any]) -> None:
        res = await self.client.post(f"{self.base}/cancellations", json={
            "orderId": request["order_id"], "channelId": request["channel_id"],
            "reference": request["reference"], "reason": request["reason"],
        })
        if res.status_code >= 300:
            raise PartnerError(f"partner answered {res.status_code}")


class BodyTooLarge(Exception):
    pass


def invalid(field: str, code: str, message: str) -> uoom.ValidationError:
    return uoom.ValidationError(f"invalid input: {field or 'body'}: {message}",
                                [{"field": field, "code": code, "message": message}])


async def read_body(request: Request) -> bytes:
    """The request body, refused past MAX_BODY (by its Content-Length, or while it streams)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BodyTooLarge()
    chunks: List[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError as e:
        raise invalid("", "not_json", f"the body is not JSON: {e}") from None


def solve_batch(raw: bytes) -> Dict[str, Any]:
    """Parses a batch, builds the solver instance and solves it (on a solve thread).

    >>> out = solve_batch(json.dumps({"orders": [], "channels": [CHANNELS[0]]}).encode())
    >>> out["assignments"], out["unassigned"]
    ([], [])
    """
    batch = parse_json(raw)
    if not isinstance(batch, dict):
        raise invalid("", "invalid_type", "the body must be a JSON object")
    instance = {
        "name": str(batch.get("name", "batch")),
        "weights": batch.get("weights", DEFAULT_WEIGHTS),
        "unassigned_penalty": batch.get("unassigned_penalty", 100.0),
        "orders": batch.get("orders", []),
        "channels": batch.get("channels", []),
    }
    time_limit_ms = batch.get("time_limit_ms", 100)
    if not isinstance(time_limit_ms, int) or isinstance(time_limit_ms, bool) \
            or not 1 <= time_limit_ms <= MAX_TIME_LIMIT_MS:
        raise invalid("time_limit_ms", "out_of_range", f"time_limit_ms must be an integer in [1, {MAX_TIME_LIMIT_MS}]")
    exact = batch.get("exact", False)
    if not isinstance(exact, bool):
        raise invalid("exact", "invalid_type", "exact must be true or false")
    return uoom.solve(instance, time_limit_ms=time_limit_ms, exact=exact, explain=True)


def create_app(partner_url: Optional[str] = None, channels: Optional[List[Dict[str, Any]]] = None,
               booking_timeout_ms: int = 2_000, solve_threads: Optional[int] = None) -> FastAPI:
    """The service. Orders book with the partner at `partner_url` (simulated
    partners without one); batches are solved on `solve_threads` threads."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0), limits=limits) as client:
            gateway = HttpPartner(client, partner_url) if partner_url else None
            app.state.router = uoom.Router(channels or CHANNELS, gateway=gateway,
                                           booking_timeout_ms=booking_timeout_ms)
            app.state.solve_pool = ThreadPoolExecutor(max_workers=solve_threads or os.cpu_count() or 1,
                                                      thread_name_prefix="uoom-solve")
            try:
                yield
            finally:
                app.state.solve_pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(title="uoom optimizer", version=uoom.__version__, lifespan=lifespan)

    @app.exception_handler(uoom.UoomError)
    async def uoom_error(request: Request, exc: uoom.UoomError) -> JSONResponse:
        body: Dict[str, Any] = {"code": exc.code, "message": str(exc)}
        if isinstance(exc, uoom.ValidationError):
            body["errors"] = exc.errors
        return JSONResponse(body, status_code=STATUS_OF.get(exc.code, 500))

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        message = f"the body is larger than {MAX_BODY} bytes"
        return JSONResponse({"code": "UOOM_VALIDATION", "message": message,
                             "errors": [{"field": "", "code": "too_large", "message": message}]}, status_code=413)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = "UOOM_NOT_FOUND" if exc.status_code == 404 else "UOOM_HTTP"
        return JSONResponse({"code": code, "message": str(exc.detail)}, status_code=exc.status_code)

    @app.get("/health")
    async def health(request: Request) -> Dict[str, Any]:
        return {"status": "ok", "uoom": uoom.__version__, "bookings_in_flight": request.app.state.router.in_flight()}

    @app.post("/optimize")
    async def optimize(request: Request) -> Dict[str, Any]:
        raw = await read_body(request)
        # Parsing, building and solving all run on a solve thread (the GIL is
        # released inside uoom.solve): the loop keeps serving meanwhile.
        loop = asyncio.get_running_loop()
        solution: Dict[str, Any] = await loop.run_in_executor(request.app.state.solve_pool, solve_batch, raw)
        return solution

    @app.post("/orders")
    async def create_order(request: Request, idempotency_key: Optional[str] = Header(default=None)) -> JSONResponse:
        body = parse_json(await read_body(request))
        outcome = await request.app.state.router.route(body, idempotency_key)
        return JSONResponse(outcome, status_code=201 if outcome["status"] == "CONFIRMED" else 422)

    @app.post("/orders/validate")
    async def validate_order(request: Request) -> Dict[str, Any]:
        return uoom.validate_order(parse_json(await read_body(request)))

    @app.get("/orders/{order_id}")
    async def order_status(order_id: str, request: Request) -> Dict[str, Any]:
        view: Optional[Dict[str, Any]] = request.app.state.router.status(order_id)
        if view is None:
            raise uoom.NotFoundError(f"not found: order {order_id}")
        return view

    @app.get("/metrics")
    async def metrics(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.app.state.router.metrics(), media_type="text/plain; version=0.0.4")

    return app


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
    ap.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    ap.add_argument("--booking-timeout-ms", type=int, default=2_000)
    args = ap.parse_args(argv)
    app = create_app(os.environ.get("PARTNER_URL") or None, booking_timeout_ms=args.booking_timeout_ms)
    serve(app, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
