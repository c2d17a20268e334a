"""The access log: one line per request on the `stocky.access` logger, at INFO.

uvicorn's own access log knows neither the latency nor the request id, so it stays off and
the guard middleware (stocky.api.telemetry), which times every request, writes this one.
A route adds what it learnt with `note` (a forecast: ticker and model version); the line
carries those as fields (`STOCKY_LOG_FORMAT=json`) and in its text.

Text:  `127.0.0.1:50312 "POST /predict" 200 1.84 ms request=ab12 ticker=^GSPC model_version=3`
JSON:  `{"time": ..., "logger": "stocky.access", "method": "POST", "path": "/predict",
        "status": 200, "latency_ms": 1.84, "request_id": "ab12", "ticker": "^GSPC", ...}`
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.types import Scope

__all__ = ["ACCESS_LOGGER", "AccessLog", "note"]

ACCESS_LOGGER = "stocky.access"

#: The request scope's state key under which routes leave fields for the access line.
_NOTES = "access_fields"
_MAX_REQUEST_ID = 64


def note(request: Request, **fields: Any) -> None:
    """Add `fields` (e.g. ticker=..., model_version=...) to the request's access line."""
    state = request.scope.setdefault("state", {})
    state.setdefault(_NOTES, {}).update(fields)


class AccessLog:
    """Writes the access line of a finished request (nothing when the logger is off)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)

    def write(self, scope: Scope, status: int, seconds: float) -> None:
        if not self.logger.isEnabledFor(logging.INFO):  # ~0.1 us when off
            return
        client = scope.get("client")
        fields: dict[str, Any] = {
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "latency_ms": round(seconds * 1000.0, 3),
            "client": f"{client[0]}:{client[1]}" if client else None,
        }
        state = scope.get("state") or {}
        request_id = state.get("request_id")
        if request_id is None:  # a route that made none: the client's own, when it sent one
            for name, value in scope.get("headers") or ():
                if name == b"x-request-id":
                    request_id = value.decode("latin-1")[:_MAX_REQUEST_ID]
                    break
        if request_id is not None:
            fields["request_id"] = str(request_id)
        fields.update(state.get(_NOTES) or {})
        tail = "".join(
            f" {key}={fields[key]}"
            for key in fields
            if key not in ("method", "path", "status", "latency_ms", "client")
        )
        self.logger.info(
            '%s "%s %s" %d %.2f ms%s',
            fields["client"] or "-",
            fields["method"],
            fields["path"],
            status,
            seconds * 1000.0,
            tail,
            extra=fields,
        )
