"""Prometheus metrics and the ASGI middleware that guards and measures every request.

The middleware is plain ASGI (no BaseHTTPMiddleware) to keep /predict's overhead small. It
rejects oversized bodies (413) and non-JSON POST bodies (415) before any parsing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stocky.api.accesslog import AccessLog
from stocky.api.monitor_metrics import MonitorGauges

__all__ = ["GuardMiddleware", "Telemetry"]


class Telemetry:
    """The app's metrics, on a registry of its own (several apps may live in one process).

    Args:
        monitor_ttl_seconds: How long one read of the per-ticker monitoring snapshot serves
            scrapes (`MonitorGauges`).
    """

    def __init__(self, *, monitor_ttl_seconds: float = 30.0) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "stocky_http_requests_total",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "stocky_http_request_duration_seconds",
            "Request latency by route.",
            ["route"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.predictions = Counter(
            "stocky_predictions_total",
            "Predictions served by ticker and model version.",
            ["ticker", "model_version"],
            registry=self.registry,
        )
        self.log_failures = Counter(
            "stocky_prediction_log_failures_total",
            "Predictions not served because logging failed.",
            ["ticker"],
            registry=self.registry,
        )
        self.log_batch_rows = Histogram(
            "stocky_prediction_log_batch_rows",
            "Predictions committed together in one transaction (group commit).",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=self.registry,
        )
        self.reloads = Counter(
            "stocky_model_reloads_total",
            "Champion models (re)loaded by ticker.",
            ["ticker"],
            registry=self.registry,
        )
        self.loaded_version = Gauge(
            "stocky_model_loaded_version",
            "Registered version served per ticker.",
            ["ticker"],
            registry=self.registry,
        )
        #: per-ticker drift, coverage, label and forecast gauges (refreshed by /metrics)
        self.monitor = MonitorGauges(self.registry, ttl_seconds=monitor_ttl_seconds)

    def model_loaded(self, ticker: str, version: int) -> None:
        """Record the served version; start the ticker's log-failure counter at 0.

        A counter that appears only at its first failure hides that failure from `increase()`
        in alerting rules, so every served ticker exports its zero.
        """
        self.loaded_version.labels(ticker).set(version)
        self.log_failures.labels(ticker)


def _route_of(scope: Scope, known: frozenset[str]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    # rejected before routing: label static paths by name, everything else together
    return scope["path"] if scope["path"] in known else "unmatched"


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class GuardMiddleware:
    """Body-size and content-type guard plus request counting, latency and the access log
    (`access_log`, None for none)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        telemetry: Telemetry,
        max_body_bytes: int,
        known_paths: frozenset[str] = frozenset(),
        path_limits: Mapping[str, int] | None = None,
        access_log: AccessLog | None = None,
    ) -> None:
        self.app = app
        self.access_log = access_log
        #: body limits of routes that take more than max_body_bytes (POST /predict/batch)
        self.path_limits = dict(path_limits or {})
        self.known_paths = known_paths
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.telemetry = telemetry
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status_holder = {"status": 500}
        headers = dict(scope.get("headers") or [])
        method = scope["method"]
        length = headers.get(b"content-length")
        limit = (
            self.path_limits.get(scope["path"], self.max_body_bytes)
            if self.path_limits
            else (self.max_body_bytes)
        )
        fix = "send fewer items" if limit != self.max_body_bytes else "send fewer prices"
        if length is not None and length.isdigit() and int(length) > limit:
            await self._reject(
                scope,
                send,
                status_holder,
                start,
                413,
                f"request body is {int(length)} bytes, over the {limit}-byte limit: {fix}",
            )
            return
        if method in ("POST", "PUT", "PATCH") and (
            length not in (None, b"0") or b"transfer-encoding" in headers
        ):
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if ctype != b"application/json":
                await self._reject(
                    scope,
                    send,
                    status_holder,
                    start,
                    415,
                    (
                        f"content type {ctype.decode() or 'missing'!r} is not supported: "
                        "send the body as JSON with Content-Type: application/json"
                    ),
                )
                return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge
            return message

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_wrapper)
        except _BodyTooLarge:
            await self._reject(
                scope,
                send,
                status_holder,
                start,
                413,
                f"request body is over the {limit}-byte limit: {fix}",
            )
            return
        self._observe(scope, status_holder["status"], start)

    async def _reject(
        self,
        scope: Scope,
        send: Send,
        holder: dict[str, int],
        start: float,
        status: int,
        message: str,
    ) -> None:
        holder["status"] = status
        await _send_json(send, status, {"detail": message})
        self._observe(scope, status, start)

    def _observe(self, scope: Scope, status: int, start: float) -> None:
        route = _route_of(scope, self.known_paths)
        key = (route, scope["method"], status)
        children = self._children.get(key)
        if children is None:  # label look-ups cost ~10 us each; keep the children per key
            children = (
                self.telemetry.requests.labels(route, scope["method"], str(status)),
                self.telemetry.latency.labels(route),
            )
            self._children[key] = children
        seconds = time.perf_counter() - start
        children[0].inc()
        children[1].observe(seconds)
        if self.access_log is not None:
            self.access_log.write(scope, status, seconds)


class _BodyTooLarge(Exception):
    """Raised inside receive() when a streamed body passes the limit."""
