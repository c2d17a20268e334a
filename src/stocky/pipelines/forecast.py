"""Make and log one forecast from a price window: shared by the API, the daily job and replay."""

from __future__ import annotations

import datetime as dt
import hashlib
import math

import numpy as np

from stocky.adapters.ports import PredictionRecord
from stocky.core.families.base import Forecast
from stocky.core.families.served import ServedModel
from stocky.errors import BadInput

__all__ = ["forecast_record", "input_hash", "validate_forecast"]


def input_hash(window: np.ndarray) -> str:
    """Short sha256 of the float64 window, so a logged row names its exact input."""
    return hashlib.sha256(np.ascontiguousarray(window, dtype=np.float64).tobytes()).hexdigest()[:16]


def forecast_record(
    *,
    forecaster: ServedModel,
    window: list[float] | np.ndarray,
    ticker: str,
    model_name: str,
    model_version: int,
    as_of: dt.date,
    target: dt.date,
    now: dt.datetime,
    request_id: str,
    source: str,
    api_key_id: int | None = None,
) -> tuple[Forecast, PredictionRecord]:
    """Forecast the session after `as_of` and build the row to log (the caller writes it).

    Raises:
        BadInput: The window is not finite prices > 0 (names the index), or the forecast or
            its interval is not a finite number (windows of wildly different magnitudes).
    """
    # overflow is checked on the result below, where the message can name the window
    with np.errstate(over="ignore", invalid="ignore"):
        forecast = forecaster.forecast(window)  # validates the window (names the bad index)
    arr = np.asarray(window, dtype=float)
    validate_forecast(forecast, arr)
    record = PredictionRecord(
        ticker=ticker,
        created_at=now,
        as_of=as_of,
        target_date=target,
        prediction=forecast.mean,
        lower=forecast.lower,
        upper=forecast.upper,
        naive=float(arr[-1]),
        model_name=model_name,
        model_version=model_version,
        arima_order=forecaster.arima_order or "-",
        history_len=len(arr),
        input_hash=input_hash(arr),
        request_id=request_id,
        source=source,
        api_key_id=api_key_id,
        model_type=forecaster.model_type,
        model_label=forecaster.label,
    )
    return forecast, record


def validate_forecast(forecast: Forecast, window: np.ndarray) -> None:
    """Refuse a forecast whose mean or interval bound is not a finite number.

    Finite prices can still overflow: a window mixing 1e155 and 1 has squared changes beyond
    the largest double, so its interval is infinite. Such a row must never be served or logged.

    Raises:
        BadInput: Naming the window's range and what to send instead.
    """
    values = (("forecast", forecast.mean), ("lower", forecast.lower), ("upper", forecast.upper))
    bad = [name for name, value in values if not math.isfinite(value)]
    if bad:
        raise BadInput(
            f"recent_prices spans {float(window.min()):g}..{float(window.max()):g}: too wide "
            f"to forecast ({' and '.join(bad)} not finite); send prices of one instrument"
        )
