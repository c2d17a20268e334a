"""Make and log one forecast from a price window: shared by the API, the daily job and replay."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np

from stocky.adapters.ports import PredictionRecord
from stocky.core.arima import ArimaForecaster, Forecast

__all__ = ["forecast_record", "input_hash"]


def input_hash(window: np.ndarray) -> str:
    """Short sha256 of the float64 window, so a logged row names its exact input."""
    return hashlib.sha256(np.ascontiguousarray(window, dtype=np.float64).tobytes()).hexdigest()[:16]


def forecast_record(
    *,
    forecaster: ArimaForecaster,
    window: list[float] | np.ndarray,
    ticker: str,
    model_name: str,
    model_version: int,
    as_of: dt.date,
    target: dt.date,
    now: dt.datetime,
    request_id: str,
    source: str,
) -> tuple[Forecast, PredictionRecord]:
    """Forecast the session after `as_of` and build the row to log (the caller writes it)."""
    forecast = forecaster.forecast(window)  # validates the window (names the bad index)
    arr = np.asarray(window, dtype=float)
    assert forecaster.params_ is not None
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
        arima_order=str(forecaster.params_.order),
        history_len=len(arr),
        input_hash=input_hash(arr),
        request_id=request_id,
        source=source,
    )
    return forecast, record
