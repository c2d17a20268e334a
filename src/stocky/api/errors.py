"""Map StockyError subclasses and validation failures to HTTP statuses with JSON bodies.

Every error body is ``{"detail": "<what went wrong>: <how to fix it>", "errors": [...]}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from stocky.errors import (
    BadInput,
    DataUnavailable,
    ModelNotFound,
    RegistryError,
    StockyError,
    StoreError,
)

__all__ = ["install_error_handlers", "status_for"]

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


def _validation_items(exc: RequestValidationError) -> list[dict[str, str]]:
    items: dict[str, dict[str, str]] = {}
    for err in exc.errors():
        field = "body" if err.get("type") == "json_invalid" else _field(tuple(err.get("loc", ())))
        if field in items:  # a union reports each branch; one message per field is enough
            continue
        fix = _FIXES.get(str(err.get("type")), "see /docs for the expected body")
        items[field] = {"field": field, "message": f"{field}: {err.get('msg', 'invalid')}: {fix}"}
    return list(items.values())


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(StockyError)
    async def _stocky(_request: Request, exc: StockyError) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "errors": []}, status_code=status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        items = _validation_items(exc)
        detail = "; ".join(i["message"] for i in items[:3]) or "the request body is invalid"
        if len(items) > 3:
            detail += f"; and {len(items) - 3} more (see errors)"
        return JSONResponse({"detail": detail, "errors": items}, status_code=422)
