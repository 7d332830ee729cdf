#!/usr/bin/env python3
"""The optimization service, rebuilt on the uoom wheel.

A small HTTP service (standard library only) that takes a batch of orders and
channels and returns the assignment. The model building and solving that took
the old service minutes in Python happen in Rust, with the GIL released, so the
threaded server keeps answering other requests while a batch is solved.

    python server.py --port 8080
    curl -s localhost:8080/optimize -d @batch.json

Endpoints:
    POST /optimize          {"orders": [...], "channels": [...], "weights"?: {...},
                             "unassigned_penalty"?: 100, "time_limit_ms"?: 100, "exact"?: false}
                            -> {"assignments", "unassigned", "objective", "method", "solve_ms", ...}
    POST /orders/validate   a create-order request -> its normalized form
    GET  /health            {"status": "ok", "uoom": VERSION}

Errors are JSON {"code": "UOOM_...", "message": ..., "errors"?: [...]} with
400 for validation, 422 for infeasible or capacity, 404, 409, 500 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Tuple

import uoom

MAX_BODY = 16 * 1024 * 1024
DEFAULT_WEIGHTS = {"cost": 1.0, "time": 0.1, "quality": 10.0}

STATUS_OF = {
    "UOOM_VALIDATION": HTTPStatus.BAD_REQUEST,
    "UOOM_INFEASIBLE": HTTPStatus.UNPROCESSABLE_ENTITY,
    "UOOM_CAPACITY": HTTPStatus.UNPROCESSABLE_ENTITY,
    "UOOM_NOT_FOUND": HTTPStatus.NOT_FOUND,
    "UOOM_CONFLICT": HTTPStatus.CONFLICT,
    "UOOM_TIMEOUT": HTTPStatus.GATEWAY_TIMEOUT,
}


def optimize(batch: Dict[str, Any]) -> Dict[str, Any]:
    """Builds the solver instance from a request batch and solves it."""
    if not isinstance(batch, dict):
        raise uoom.ValidationError(
            "the body must be a JSON object",
            [{"field": "", "code": "invalid_type", "message": "the body must be a JSON object"}],
        )
    instance = {
        "name": str(batch.get("name", "batch")),
        "weights": batch.get("weights", DEFAULT_WEIGHTS),
        "unassigned_penalty": batch.get("unassigned_penalty", 100.0),
        "orders": batch.get("orders", []),
        "channels": batch.get("channels", []),
    }
    time_limit_ms = batch.get("time_limit_ms", 100)
    if not isinstance(time_limit_ms, int) or isinstance(time_limit_ms, bool) or not 1 <= time_limit_ms <= 60_000:
        raise uoom.ValidationError(
            "time_limit_ms must be an integer in [1, 60000]",
            [{"field": "time_limit_ms", "code": "out_of_range", "message": "time_limit_ms must be an integer in [1, 60000]"}],
        )
    return uoom.solve(
        instance, time_limit_ms=time_limit_ms, exact=bool(batch.get("exact", False)), explain=True
    )


class Handler(BaseHTTPRequestHandler):
    server_version = "uoom-optimizer/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.verbose:  # type: ignore[attr-defined]
            super().log_message(format, *args)

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_json(self) -> Tuple[bool, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"code": "UOOM_VALIDATION", "message": "body too large"})
            return False, None
        raw = self.rfile.read(length)
        try:
            return True, json.loads(raw or b"null")
        except ValueError as e:
            self._send(HTTPStatus.BAD_REQUEST, {"code": "UOOM_VALIDATION", "message": f"body is not JSON: {e}",
                                                "errors": [{"field": "", "code": "not_json", "message": str(e)}]})
            return False, None

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path == "/health":
            self._send(HTTPStatus.OK, {"status": "ok", "uoom": uoom.__version__})
        else:
            self._send(HTTPStatus.NOT_FOUND, {"code": "UOOM_NOT_FOUND", "message": f"no route {self.path}"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        routes = {"/optimize": optimize, "/orders/validate": uoom.validate_order}
        handler = routes.get(self.path)
        if handler is None:
            self._send(HTTPStatus.NOT_FOUND, {"code": "UOOM_NOT_FOUND", "message": f"no route {self.path}"})
            return
        ok, body = self._read_json()
        if not ok:
            return
        try:
            self._send(HTTPStatus.OK, handler(body))
        except uoom.ValidationError as e:
            self._send(HTTPStatus.BAD_REQUEST, {"code": e.code, "message": str(e), "errors": e.errors})
        except uoom.UoomError as e:
            self._send(STATUS_OF.get(e.code, HTTPStatus.INTERNAL_SERVER_ERROR), {"code": e.code, "message": str(e)})


def make_server(host: str, port: int, verbose: bool = False) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), Handler)
    server.verbose = verbose  # type: ignore[attr-defined]
    return server


def main(argv: Any = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    server = make_server(args.host, args.port, args.verbose)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
