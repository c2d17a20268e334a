"""The prediction use case behind /predict and /forecast: validate, forecast, log, answer."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from stocky.adapters.store.predictions import PredictionRecord
from stocky.api.champions import LoadedModel
from stocky.api.errors import PredictionNotLogged
from stocky.api.schemas import PredictRequest
from stocky.api.state import AppState
from stocky.core.arima import Forecast
from stocky.core.tickers import normalize_ticker
from stocky.errors import BadInput, ModelNotFound, StoreError
from stocky.pipelines.forecast import forecast_record

__all__ = [
    "Prepared",
    "Served",
    "parse_date",
    "prepare_request",
    "resolve_model",
    "serve_forecast",
    "serve_many",
    "serve_prepared",
    "timestamp_z",
]

#: Served tickers named in a "no model" message; the rest are counted (GET /models lists all).
SHOWN_TICKERS = 20


@dataclass(frozen=True)
class Prepared:
    """A forecast made and its row built, not yet logged."""

    model: LoadedModel
    forecast: Forecast
    record: PredictionRecord


@dataclass(frozen=True)
class Served:
    """A logged forecast, ready to render."""

    model: LoadedModel
    forecast: Forecast
    created_at: dt.datetime
    as_of: dt.date
    target_date: dt.date
    naive: float
    prediction_id: int
    history_len: int


def timestamp_z(moment: dt.datetime) -> str:
    """UTC ISO-8601 with milliseconds and Z, as in the seed README."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str | None) -> dt.date | None:
    """Parse the optional `date` field: exactly YYYY-MM-DD.

    Python's own parser also takes "20240703" and "2024-W27-3"; the API documents one form.

    Raises:
        BadInput: Not a YYYY-MM-DD date.
    """
    if text is None:
        return None
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise BadInput(f"date: {shown!r} is not a YYYY-MM-DD date: send e.g. 2024-01-15") from exc


def resolve_model(state: AppState, ticker: str | None) -> LoadedModel:
    """The champion for `ticker` (default ticker when None).

    Raises:
        BadInput: The ticker is not a symbol (see stocky.core.tickers).
        ModelNotFound: No champion is loaded for it; the message lists those that are.
    """
    symbol = state.settings.default_ticker if ticker is None else normalize_ticker(ticker)
    model = state.champions.get(symbol)
    if model is None:
        served = state.champions.tickers()
        known = ", ".join(served[:SHOWN_TICKERS]) or "none yet"
        if len(served) > SHOWN_TICKERS:
            known += f" and {len(served) - SHOWN_TICKERS} more: GET /models lists them"
        raise ModelNotFound(
            f"ticker: no model is served for {symbol!r} (served: {known}): "
            f"use one of those or run `stocky train --ticker {symbol}`"
        )
    return model


def _validate_session(state: AppState, day: dt.date) -> None:
    """An explicit `date` must be a trading session: the forecast is for the one after it."""
    before = state.session_on_or_before(day)
    if before != day:
        raise BadInput(
            f"date: {day.isoformat()} is not a {state.calendar.exchange} trading session: send "
            f"the session of the last price, e.g. {before.isoformat()} (the session before it)"
        )


def _validate_length(n: int, low: int, high: int) -> None:
    if n < low:
        raise BadInput(
            f"recent_prices: {n} prices are too few: send {low} to {high} prices, most recent last"
        )
    if n > high:
        raise BadInput(
            f"recent_prices: {n} prices are too many: send {low} to {high} prices, most recent last"
        )


def _prepare(
    state: AppState,
    *,
    model: LoadedModel,
    prices: list[float] | np.ndarray,
    as_of: dt.date | None,
    request_id: str,
    api_key_id: int | None,
) -> tuple[Forecast, PredictionRecord]:
    settings = state.settings
    _validate_length(len(prices), settings.min_prices, settings.max_prices)
    now = state.clock()
    if as_of is not None:
        _validate_session(state, as_of)
    day = as_of if as_of is not None else state.calendar.local_date(now)
    return forecast_record(
        forecaster=model.forecaster,
        window=prices,
        ticker=model.ticker,
        model_name=model.name,
        model_version=model.version,
        as_of=day,
        target=state.next_session(day),
        now=now,
        request_id=request_id,
        source="api",
        api_key_id=api_key_id,
    )


def _not_logged(state: AppState, model: LoadedModel, exc: StoreError) -> StoreError:
    state.telemetry.log_failures.labels(model.ticker).inc()
    return PredictionNotLogged(
        f"{exc}: the forecast was not served because it could not be logged; "
        "retry later and check the database (STOCKY_DATABASE_URL)"
    )


def _served(
    state: AppState,
    model: LoadedModel,
    forecast: Forecast,
    record: PredictionRecord,
    prediction_id: int,
) -> Served:
    state.telemetry.predictions.labels(model.ticker, str(model.version)).inc()
    return Served(
        model,
        forecast,
        record.created_at,
        record.as_of,
        record.target_date,
        record.naive,
        prediction_id,
        record.history_len,
    )


def prepare_request(
    state: AppState, body: PredictRequest, *, request_id: str, api_key_id: int | None = None
) -> Prepared:
    """Everything /predict does before logging: ticker, date, prices, forecast, row.

    POST /predict and each item of POST /predict/batch go through here, so they accept and
    refuse exactly the same inputs with the same messages.

    Raises:
        BadInput: A bad ticker, date or price window (the message names it and the fix).
        ModelNotFound: No champion is served for the ticker.
    """
    model = resolve_model(state, body.ticker)
    forecast, record = _prepare(
        state,
        model=model,
        prices=body.recent_prices,
        as_of=parse_date(body.date),
        request_id=request_id,
        api_key_id=api_key_id,
    )
    return Prepared(model, forecast, record)


async def serve_prepared(state: AppState, prepared: Prepared) -> Served:
    """Log one prepared forecast (group commit) and return it once the row is committed.

    Raises:
        StoreError: The prediction could not be logged (the caller answers 503).
    """
    try:
        prediction_id = await state.log.write(prepared.record)
    except StoreError as exc:
        raise _not_logged(state, prepared.model, exc) from exc
    return _served(state, prepared.model, prepared.forecast, prepared.record, prediction_id)


async def serve_many(state: AppState, prepared: list[Prepared]) -> list[Served | BadInput]:
    """Log many forecasts in one transaction, in the thread pool (off the event loop); return
    them once every row is committed.

    Raises:
        StoreError: The database failed: nothing is served (the caller answers 503).
    """
    outcomes = await state.log.write_apart([p.record for p in prepared])
    failed = next((o for o in outcomes if isinstance(o, StoreError)), None)
    if failed is not None:
        raise _not_logged(state, prepared[0].model, failed) from failed
    served: list[Served | BadInput] = []
    for item, outcome in zip(prepared, outcomes, strict=True):
        if isinstance(outcome, BadInput):  # the database refused this row's values
            served.append(outcome)
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            served.append(_served(state, item.model, item.forecast, item.record, outcome))
    return served


async def serve_forecast(
    state: AppState,
    *,
    model: LoadedModel,
    prices: list[float] | np.ndarray,
    as_of: dt.date | None,
    request_id: str,
    api_key_id: int | None = None,
) -> Served:
    """Forecast the session after `as_of` (default: today) and return once the row is logged.

    The row is committed together with those of concurrent requests (`GroupCommitLog`), with
    the id of the client key the request carried (`api_key_id`, None without one).

    Raises:
        BadInput: Bad prices or a date outside the exchange calendar.
        StoreError: The prediction could not be logged (the caller answers 503).
    """
    forecast, record = _prepare(
        state,
        model=model,
        prices=prices,
        as_of=as_of,
        request_id=request_id,
        api_key_id=api_key_id,
    )
    try:
        prediction_id = await state.log.write(record)
    except StoreError as exc:
        raise _not_logged(state, model, exc) from exc
    return _served(state, model, forecast, record, prediction_id)
