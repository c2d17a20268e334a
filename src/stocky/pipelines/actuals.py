"""The actuals ETL: attach the real close to every prediction whose target session has closed.

Idempotent (only rows without an actual are touched), catches up any number of missed days,
and writes each ticker's labels in one transaction after all its prices are in hand, so a
source failure leaves the predictions table exactly as it was.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stocky.adapters.ports import ActualUpdate, PredictionLog, PriceStore
from stocky.adapters.prices.base import PriceSource
from stocky.adapters.store.predictions import SCORABLE_ERROR
from stocky.pipelines.data import pull_prices

__all__ = ["ActualsResult", "attach_actuals", "scorable"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActualsResult:
    """What one ticker's run did."""

    ticker: str
    updated: int
    due_without_close: int
    not_due: int
    rows_pulled: int
    #: Due rows left pending: a number that is not finite, or an error too large to store
    #: (rows logged before stocky refused such forecasts).
    unscorable: int = 0


def attach_actuals(
    *,
    predictions: PredictionLog,
    prices: PriceStore,
    source: PriceSource,
    ticker: str,
    as_of: dt.date,
    now: dt.datetime,
) -> ActualsResult:
    """Label every prediction of `ticker` whose target session is on or before `as_of`.

    Closes come from the price store; sessions it lacks are pulled from `source` first.

    Args:
        predictions: The prediction log.
        prices: The price store.
        source: Where missing closes come from.
        ticker: The ticker.
        as_of: The last session whose close may be used (time is an argument).
        now: Recorded as `actual_at`.

    Returns:
        Counts of labeled rows, rows due but without a close yet, rows not due.

    Raises:
        DataUnavailable: The source failed; nothing was written to the predictions table.
        StoreError: The database failed; the transaction was rolled back.
    """
    due = predictions.pending(ticker, up_to=as_of)
    waiting_total = predictions.pending_count(ticker)
    if due.empty:
        return ActualsResult(ticker, 0, 0, waiting_total, 0)
    targets = set(due["target_date"].dt.date)
    closes = _closes(prices, ticker, min(targets), as_of)
    pulled = 0
    if not targets <= set(closes):
        result = pull_prices(source=source, repo=prices, ticker=ticker, end=as_of, now=now)
        pulled = result.rows_added
        closes = _closes(prices, ticker, min(targets), as_of)
    closed = due[[d.date() in closes for d in due["target_date"]]]
    ok = scorable(closed, [closes[d.date()] for d in closed["target_date"]])
    updates = [
        ActualUpdate(int(row.id), closes[row.target_date.date()], now)
        for row in closed[ok].itertuples(index=False)
    ]
    updated = predictions.attach_actuals(updates)
    missing = len(due) - len(closed)
    if missing:
        log.info("%s: %d due predictions have no close yet; they stay pending", ticker, missing)
    unscorable = int((~ok).sum())
    if unscorable:
        log.warning(
            "%s: %d due predictions hold a number that is not finite or too far from the close "
            "to score (logged before stocky refused such forecasts); they stay pending",
            ticker,
            unscorable,
        )
    return ActualsResult(
        ticker, updated, missing, waiting_total - len(due), pulled, unscorable=unscorable
    )


def scorable(due: pd.DataFrame, actual: list[float]) -> np.ndarray:
    """Rows whose numbers are finite and whose errors can be stored and squared."""
    numbers = due[["prediction", "lower", "upper", "naive"]].to_numpy(dtype=float)
    close = np.asarray(actual, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        errors = np.abs(close[:, None] - numbers[:, [0, 3]])
        ok: np.ndarray = np.isfinite(numbers).all(axis=1) & (errors <= SCORABLE_ERROR).all(axis=1)
    return ok


def _closes(prices: PriceStore, ticker: str, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    frame = prices.load(ticker, start=start, end=end)
    return {
        pd.Timestamp(d).date(): float(c) for d, c in zip(frame["date"], frame["close"], strict=True)
    }
