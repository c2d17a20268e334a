"""POST /predict/batch: many /predict bodies in one request, each answered on its own.

Every item goes through the same `prepare_request` as /predict, so an item is accepted or
refused exactly as /predict would (same status, same message). The forecasts of the accepted
items are logged in one transaction through the group-commit log, and the answer is sent only
after it committed; when the database fails, no forecast is served and the whole batch is a 503.

A batch shares the event loop with every other request, so it must not hold it for long:

- the item count is checked on the raw bytes before anything is parsed (`count_items`), so a
  batch over STOCKY_MAX_BATCH_ITEMS is refused for the cost of one scan;
- items are validated and forecast in chunks of `CHUNK` with a turn of the loop between them;
- each item counts against the client's rate limit, like a /predict request;
- error bodies are capped: at most `MAX_ITEM_ERRORS` validation errors per item, and the
  errors of at most `MAX_DETAILED_FAILURES` failed items in full (later ones get the first
  message only), each saying how many more there were.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError

from stocky.api.accesslog import note
from stocky.api.auth import admit
from stocky.api.errors import (
    MAX_REQUEST_ID,
    client_error_body,
    request_id_of,
    status_for,
    validation_error_body,
)
from stocky.api.leanroute import LeanRoute
from stocky.api.routes.predict import response_body
from stocky.api.schemas import BatchRequest, BatchResponse, PredictRequest, error_responses
from stocky.api.service import Prepared, prepare_request, serve_many
from stocky.api.state import AppState
from stocky.errors import BadInput, StockyError

__all__ = ["add_batch_route"]

PATH = "/predict/batch"

#: Items validated and forecast between two turns of the event loop (~1.5 ms of work).
CHUNK = 16
#: Validation errors listed per failed item; the rest are counted in its detail.
MAX_ITEM_ERRORS = 3
#: Failed items whose errors are listed; later failures carry their first message only.
MAX_DETAILED_FAILURES = 50

# The key every /predict body has, as a key (a colon follows; inside a JSON string its quote
# would be escaped). Counting it bounds the items from below without parsing anything.
_ITEM_KEY = re.compile(rb'(?<!\\)"recent_prices"\s*:')

_ERRORS = error_responses(
    413,
    415,
    422,
    503,
    d413="Body over STOCKY_MAX_BATCH_BODY_BYTES",
    d422='The envelope is not {"items": [...]} with 1 to STOCKY_MAX_BATCH_ITEMS items '
    "(a bad item is answered in its own result instead)",
    d503="The forecasts could not be logged; none was served; retry later",
)


class _Envelope(BaseModel):
    """The envelope only: items are validated one by one, so one bad item fails alone."""

    model_config = ConfigDict(extra="forbid")

    items: list[Any]


def _item_id(request_id: str, index: int) -> str:
    """The logged request id of one item: the batch's id and the item's index."""
    suffix = f"#{index}"
    return request_id[: MAX_REQUEST_ID - len(suffix)] + suffix


def _validate_item(raw: Any) -> PredictRequest:
    """The item as /predict would parse it (the same errors, located like /predict's)."""
    try:
        return PredictRequest.model_validate(raw)
    except ValidationError:
        # the messages of JSON parsing differ in wording from Python's ("array" vs "list"):
        # re-validate the item as the JSON /predict would have received
        text = json.dumps(raw, allow_nan=True)
        try:
            return PredictRequest.model_validate_json(text)
        except ValidationError as exc:
            raise _ItemInvalid([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from exc


class _ItemInvalid(Exception):
    """An item failed validation; carries pydantic's errors."""

    def __init__(self, errors: list[Any]) -> None:
        super().__init__("invalid item")
        self.errors = errors


def count_items(raw: bytes, limit: int) -> int | None:
    """The items a raw batch body holds at least, when that is over `limit` (else None), from
    a scan of its bytes: each /predict body has one `"recent_prices":` key. ~0.1 ms for 0.5 MB
    where parsing 5,000 items took 26-117 ms of the event loop."""
    if raw.count(b'"recent_prices"') <= limit:  # memchr-fast, never below the exact count
        return None
    n = len(_ITEM_KEY.findall(raw))
    return n if n > limit else None


def _too_many(n: int, limit: int) -> BadInput:
    return BadInput(
        f"items: {n} items are too many: send at most {limit} per batch "
        "(STOCKY_MAX_BATCH_ITEMS), or split them over several requests"
    )


async def _parse(request: Request, limit: int) -> list[Any]:
    raw = await request.body()
    counted = count_items(raw, limit)
    if counted is not None:  # refused before parsing
        raise _too_many(counted, limit)
    try:
        envelope = _Envelope.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
        raise RequestValidationError(errors, body=raw) from exc
    n = len(envelope.items)
    if n == 0:
        raise BadInput(f"items: the batch is empty: send 1 to {limit} /predict bodies")
    if n > limit:
        raise _too_many(n, limit)
    return envelope.items


def _error(index: int, status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"index": index, "status": status, "result": None, "error": body}


def _item_errors(errors: list[Any]) -> dict[str, Any]:
    """The 422 body of one item, with at most MAX_ITEM_ERRORS errors listed."""
    body = validation_error_body(errors)
    listed = body["errors"]
    if len(listed) <= MAX_ITEM_ERRORS:
        return body
    shown = listed[:MAX_ITEM_ERRORS]
    detail = "; ".join(e["message"] for e in shown)
    return {
        "detail": f"{detail}; and {len(listed) - len(shown)} more errors in this item (not listed)",
        "errors": shown,
    }


def _cap_failures(results: list[dict[str, Any]]) -> None:
    """Keep the errors of the first MAX_DETAILED_FAILURES failed items; later ones keep their
    first message only, and the last detailed one says how many follow."""
    failed = [r for r in results if r["status"] != 200]
    if len(failed) <= MAX_DETAILED_FAILURES:
        return
    more = len(failed) - MAX_DETAILED_FAILURES
    for result in failed[MAX_DETAILED_FAILURES:]:
        error = result["error"]
        first = error["errors"][0]["message"] if error["errors"] else error["detail"]
        result["error"] = {
            "detail": f"{first[:200]} (errors listed for the first {MAX_DETAILED_FAILURES} "
            "failed items only)",
            "errors": [],
        }
    last = failed[MAX_DETAILED_FAILURES - 1]["error"]
    last["detail"] += f"; {more} more items failed (their first message only is given)"


async def predict_batch(request: Request) -> Response:
    """Forecast many tickers at once; each item is validated and answered on its own.

    Body: `{"items": [<a /predict body>, ...]}`. The answer is 200 with one result per item,
    in order: `status` 200 with `result` (the /predict body), or the 404/422 /predict would
    have given with `error`. All forecasts are logged in one transaction before the answer.
    """
    state: AppState = request.app.state.stocky
    settings = state.settings
    client = await admit(request)  # before reading the body, as /predict
    items = await _parse(request, settings.max_batch_items)
    # every item is a forecast: each counts against the client's limit (the first already did)
    await state.gate.charge(client, len(items))
    request_id = request_id_of(request)
    note(request, items=len(items))
    results: list[dict[str, Any] | None] = [None] * len(items)
    prepared: list[tuple[int, Prepared]] = []
    for index, raw in enumerate(items):
        if index and index % CHUNK == 0:
            await asyncio.sleep(0)  # let other requests run between chunks
        try:
            body = _validate_item(raw)
            prepared.append(
                (
                    index,
                    prepare_request(
                        state,
                        body,
                        request_id=_item_id(request_id, index),
                        api_key_id=client.key_id,
                    ),
                )
            )
        except _ItemInvalid as exc:
            results[index] = _error(index, 422, _item_errors(exc.errors))
        except StockyError as exc:
            status = status_for(exc)
            if status >= 500:
                raise  # not about this item: the error handler answers for the batch
            results[index] = _error(index, status, client_error_body(exc))
    if prepared:
        # one transaction for every row; answered only after it committed (503 otherwise)
        served = await serve_many(state, [p for _, p in prepared])
        for n, ((index, _), outcome) in enumerate(zip(prepared, served, strict=True)):
            if n and n % (CHUNK * 4) == 0:
                await asyncio.sleep(0)
            if isinstance(outcome, BadInput):
                results[index] = _error(index, 422, client_error_body(outcome))
            else:
                results[index] = {
                    "index": index,
                    "status": 200,
                    "result": response_body(outcome),
                    "error": None,
                }
    done = [r for r in results if r is not None]
    _cap_failures(done)
    succeeded = sum(1 for r in done if r["status"] == 200)
    # encoded a chunk at a time (one json.dumps of 1,000 results held the loop ~8 ms); strict
    # JSON: every number was checked finite before it was logged
    parts: list[str] = []
    for start in range(0, len(results), CHUNK * 8):
        if start:
            await asyncio.sleep(0)
        parts.extend(json.dumps(r, allow_nan=False) for r in results[start : start + CHUNK * 8])
    text = (
        '{"results": [' + ", ".join(parts) + "], "
        f'"succeeded": {succeeded}, "failed": {len(items) - succeeded}}}'
    )
    return Response(text, media_type="application/json", headers={"X-Request-ID": request_id})


def _batch_body(*, max_items: int, min_prices: int, max_prices: int) -> dict[str, Any]:
    """The documented request body, with this server's item and price limits."""
    schema = BatchRequest.model_json_schema()
    items = schema["properties"]["items"]
    items.update(minItems=1, maxItems=max_items)
    # inline the item schema: "#/$defs/..." would point at the root of the OpenAPI document,
    # which has no $defs (ReDoc refuses the whole document, Swagger UI this operation)
    items["items"] = schema.pop("$defs")["PredictRequest"]
    prices = items["items"]["properties"]["recent_prices"]
    prices.update(minItems=min_prices, maxItems=max_prices)
    prices["items"]["exclusiveMinimum"] = 0
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def add_batch_route(app: FastAPI, *, max_items: int, min_prices: int, max_prices: int) -> None:
    """Add POST /predict/batch to `app` (a LeanRoute, like /predict); the documented body
    allows up to `max_items` items of `min_prices..max_prices` prices."""
    app.router.add_api_route(
        PATH,
        predict_batch,
        methods=["POST"],
        tags=["forecast"],
        response_model=BatchResponse,
        responses=_ERRORS,
        openapi_extra=_batch_body(
            max_items=max_items, min_prices=min_prices, max_prices=max_prices
        ),
        route_class_override=LeanRoute,
    )
