"""One-step forecasts: the seed's POST /predict, and GET /forecast/{ticker} from stored prices."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from stocky.api.accesslog import note
from stocky.api.auth import ClientDep, admit
from stocky.api.deps import StateDep
from stocky.api.errors import request_id_of
from stocky.api.leanroute import LeanRoute
from stocky.api.schemas import (
    ForecastResponse,
    PredictRequest,
    PredictResponse,
    error_responses,
)
from stocky.api.service import (
    Served,
    prepare_request,
    resolve_model,
    serve_forecast,
    serve_prepared,
    timestamp_z,
)
from stocky.api.state import AppState
from stocky.errors import DataUnavailable

__all__ = ["add_predict_route", "router"]

router = APIRouter(tags=["forecast"])

_ERRORS = error_responses(
    401, 404, 413, 415, 422, 429, 503, d503="The prediction could not be logged; retry later"
)


def response_body(served: Served) -> dict[str, object]:
    return {
        "prediction": served.forecast.mean,
        "model_type": served.model.model_type,
        "arima_order": served.model.arima_order,
        "model": served.model.label,
        "timestamp": timestamp_z(served.created_at),
        "ticker": served.model.ticker,
        "model_version": served.model.version,
        "target_date": served.target_date.isoformat(),
        "lower": served.forecast.lower,
        "upper": served.forecast.upper,
        "naive": served.naive,
        "prediction_id": served.prediction_id,
    }


def _predict_body(min_prices: int, max_prices: int) -> dict[str, Any]:
    """The documented request body, with this server's length limits and price bounds."""
    schema = PredictRequest.model_json_schema()
    prices = schema["properties"]["recent_prices"]
    prices.update(minItems=min_prices, maxItems=max_prices)
    prices["items"]["exclusiveMinimum"] = 0
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    }


async def _parse(request: Request) -> PredictRequest:
    # pydantic-core parses and validates the raw bytes in one pass, cheaper than FastAPI's
    # json.loads + validate; errors go to the same handler as FastAPI's own.
    raw = await request.body()
    try:
        return PredictRequest.model_validate_json(raw)
    except ValidationError as exc:
        errors = [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
        raise RequestValidationError(errors, body=raw) from exc


async def predict(request: Request) -> Response:
    """Forecast the next session's close from recent prices; the forecast is logged first.

    Body: `recent_prices` (10-60 closes, oldest first), optional `date` and `ticker`.
    Send an `X-Request-ID` header to have it logged and echoed; one is made up otherwise.
    """
    # A LeanRoute endpoint takes the request only (no StateDep, no Header() parameters): see
    # stocky.api.leanroute.
    state: AppState = request.app.state.stocky
    client = await admit(request)  # before reading the body: refused clients cost little
    body = await _parse(request)
    request_id = request_id_of(request)
    prepared = prepare_request(state, body, request_id=request_id, api_key_id=client.key_id)
    note(request, ticker=prepared.model.ticker, model_version=prepared.model.version)
    # the row is committed (together with those of concurrent requests) before we answer
    served = await serve_prepared(state, prepared)
    # The body is built here and serialised once; response_model documents it. Strict JSON:
    # the service refused non-finite numbers, and NaN/Infinity must never reach a client.
    return Response(
        json.dumps(response_body(served), allow_nan=False),
        media_type="application/json",
        headers={"X-Request-ID": request_id},
    )


def add_predict_route(app: FastAPI, *, min_prices: int, max_prices: int) -> None:
    """Add POST /predict to `app` as a LeanRoute; call it before including routers, so the hot
    route is matched first. The documented body allows `min_prices..max_prices` prices."""
    app.router.add_api_route(
        "/predict",
        predict,
        methods=["POST"],
        tags=["forecast"],
        response_model=PredictResponse,
        responses=_ERRORS,
        openapi_extra=_predict_body(min_prices, max_prices),
        route_class_override=LeanRoute,
    )


@router.get("/forecast/{ticker}", response_model=ForecastResponse, responses=_ERRORS)
async def forecast(
    ticker: str, state: StateDep, client: ClientDep, request: Request, response: Response
) -> dict[str, object]:
    """Forecast the session after the last stored close of `ticker`."""
    model = resolve_model(state, ticker)
    frame = await run_in_threadpool(state.prices.load, model.ticker, last=state.settings.max_prices)
    if frame.empty:
        raise DataUnavailable(
            f"no prices are stored for {model.ticker}: run `stocky data pull --ticker {model.ticker}`"
        )
    tail = frame.tail(state.settings.max_prices)
    as_of = tail["date"].iloc[-1].date()
    request_id = request_id_of(request)
    note(request, ticker=model.ticker, model_version=model.version)
    served = await serve_forecast(
        state,
        model=model,
        prices=tail["close"].to_numpy(float),
        as_of=as_of,
        request_id=request_id,
        api_key_id=client.key_id,
    )
    response.headers["X-Request-ID"] = request_id
    return {**response_body(served), "as_of": as_of.isoformat(), "history_len": served.history_len}
