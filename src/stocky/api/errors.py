"""Map StockyError subclasses and validation failures to HTTP statuses with JSON bodies.

Every error body is ``{"detail": "<what went wrong>: <how to fix it>", "errors": [...]}``.
A 5xx body says in words which part failed and carries the request id; the failure's own text
(hosts, ports, driver messages) goes to the server log under that id, never to the client.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from stocky.core.redact import redact
from stocky.errors import (
    BadInput,
    DataUnavailable,
    ModelNotFound,
    RegistryError,
    StockyError,
    StoreError,
)

__all__ = [
    "PredictionNotLogged",
    "client_error_body",
    "install_error_handlers",
    "public_message",
    "request_id_of",
    "status_for",
    "validation_error_body",
]

log = logging.getLogger(__name__)

MAX_REQUEST_ID = 64


class PredictionNotLogged(StoreError):
    """A forecast was computed but its row could not be committed, so it is not served."""


# What a client is told when a part of the system fails (most specific class first).
_PUBLIC: tuple[tuple[type[StockyError], str], ...] = (
    (PredictionNotLogged, "the forecast was not served because it could not be logged"),
    (StoreError, "the database is unavailable or failed"),
    (RegistryError, "the model registry (MLflow) is unavailable or failed"),
)

_STATUS: tuple[tuple[type[StockyError], int], ...] = (
    (ModelNotFound, 404),
    (BadInput, 422),
    (DataUnavailable, 404),
    (StoreError, 503),
    (RegistryError, 503),
)


def status_for(exc: StockyError) -> int:
    """HTTP status for a StockyError (500 only for an unknown subclass)."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def public_message(exc: StockyError) -> str:
    """What failed, in words fit for any client (no hosts, ports, URLs or driver text)."""
    for cls, text in _PUBLIC:
        if isinstance(exc, cls):
            return text
    return "the server failed"


def request_id_of(request: Request) -> str:
    """The request's id: the client's `X-Request-ID` (first 64 characters) or a new one.

    Kept in the request scope, so a route and the error handlers report the same id.
    """
    state = request.scope.setdefault("state", {})
    rid = state.get("request_id")
    if rid is None:
        rid = (request.headers.get("x-request-id") or uuid.uuid4().hex)[:MAX_REQUEST_ID]
        state["request_id"] = rid
    return str(rid)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [p for p in loc if p != "body"]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif p in ("float", "int", "constrained-float", "function-after[...]"):
            continue
        else:
            out += ("." if out else "") + str(p)
    return out or "body"


_FIXES = {
    "missing": "add it",
    "extra_forbidden": "remove it (allowed: recent_prices, date, ticker)",
    "float_type": "send a JSON number such as 170.2",
    "int_type": "send a JSON number such as 170.2",
    "list_type": "send a JSON list of numbers",
    "string_type": "send a string",
    "json_invalid": "send valid JSON",
    "model_attributes_type": "send a JSON object",
    "model_type": "send a JSON object",
    "dict_type": "send a JSON object",
}


def _validation_items(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    items: dict[str, dict[str, str]] = {}
    for err in errors:
        field = "body" if err.get("type") == "json_invalid" else _field(tuple(err.get("loc", ())))
        if field in items:  # a union reports each branch; one message per field is enough
            continue
        fix = _FIXES.get(str(err.get("type")), "see /docs for the expected body")
        items[field] = {"field": field, "message": f"{field}: {err.get('msg', 'invalid')}: {fix}"}
    return list(items.values())


def validation_error_body(errors: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The 422 body for pydantic errors (locations starting with "body"), as /predict gives it."""
    items = _validation_items(errors)
    detail = "; ".join(i["message"] for i in items[:3]) or "the request body is invalid"
    if len(items) > 3:
        detail += f"; and {len(items) - 3} more (see errors)"
    return {"detail": detail, "errors": items}


def client_error_body(exc: StockyError) -> dict[str, Any]:
    """The body of a 4xx answer to a StockyError (its message says what to fix)."""
    return {"detail": redact(str(exc)), "errors": []}


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(StockyError)
    async def _stocky(request: Request, exc: StockyError) -> JSONResponse:
        status = status_for(exc)
        if status < 500:
            return JSONResponse(client_error_body(exc), status_code=status)
        rid = request_id_of(request)
        log.error(
            "%s %s answered %d (request id %s): %s",
            request.method,
            request.url.path,
            status,
            rid,
            redact(str(exc)),
            extra={"request_id": rid, "status": status},
        )
        detail = (
            f"{public_message(exc)}: retry later; the server log has the details under "
            f"request id {rid}"
        )
        return JSONResponse(
            {"detail": detail, "errors": [], "request_id": rid},
            status_code=status,
            headers={"X-Request-ID": rid},
        )

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _exc: ClientDisconnect) -> JSONResponse:
        # The client hung up (or the server's body read timeout closed the connection) before
        # the whole body arrived: nobody reads this answer, and it is no server error.
        log.info(
            "%s %s: the client left before sending the whole body", request.method, request.url.path
        )
        return JSONResponse({"detail": "the request body did not arrive", "errors": []}, 408)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_error_body(exc.errors()), status_code=422)
