"""The actuals ETL: attach the real close to every prediction whose target session has closed.

Set-based for any number of tickers (one ticker is a fleet of one): every ticker's pending rows
in one query, their closes in one, matched with one join over the whole set, and one UPDATE
batch written after all the closes are in hand. A ticker whose closes are missing is re-pulled
once (`pull_many`); when its source fails, that ticker is reported and nothing of it is written.
Idempotent (only rows without an actual are touched) and catches up any number of missed days.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from stocky.adapters.ports import ActualUpdate, PredictionLog, PriceStore
from stocky.adapters.prediction_columns import SCORABLE_ERROR
from stocky.adapters.prices.base import PriceSource
from stocky.errors import StockyError
from stocky.pipelines.data import pull_many

__all__ = [
    "ActualsResult",
    "attach_actuals",
    "attach_actuals_many",
    "scorable",
    "scorable_numbers",
]

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
    """`attach_actuals_many` for one ticker, its failure raised.

    Raises:
        DataUnavailable: The source failed; nothing was written to the predictions table.
        StoreError: The database failed; the transaction was rolled back.
    """
    failed: dict[str, StockyError] = {}
    results = attach_actuals_many(
        predictions=predictions,
        prices=prices,
        source=source,
        tickers=[ticker],
        as_of=as_of,
        now=now,
        failed=failed,
    )
    if ticker in failed:
        raise failed[ticker]
    return results[ticker]


def attach_actuals_many(
    *,
    predictions: PredictionLog,
    prices: PriceStore,
    source: PriceSource,
    tickers: Sequence[str],
    as_of: dt.date,
    now: dt.datetime,
    failed: dict[str, StockyError],
) -> dict[str, ActualsResult]:
    """Label every prediction of `tickers` whose target session is on or before `as_of`.

    Closes come from the price store; tickers lacking some are pulled from `source` first.

    Args:
        predictions: The prediction log.
        prices: The price store.
        source: Where missing closes come from.
        tickers: Tickers still in the day (normalised).
        as_of: Label every prediction whose target session is on or before this day.
        now: When the labels are written.
        failed: Tickers that failed so far; tickers whose re-pull fails are added to it.

    Returns:
        Ticker -> ActualsResult (labeled rows, rows due without a close yet, rows not due),
        for every ticker not in `failed`.

    Raises:
        StoreError: The database failed.
    """
    due = predictions.pending_many(tickers, up_to=as_of)
    waiting = predictions.pending_counts(tickers)
    if not len(due):
        return {t: ActualsResult(t, 0, 0, waiting.get(t, 0), 0) for t in tickers if t not in failed}
    due_tickers = list(dict.fromkeys(due["ticker"].astype(str)))
    closes = _closes(prices, due_tickers, start=_first_day(due), end=as_of)
    matched = _match(due, closes)
    short = list(dict.fromkeys(matched.loc[matched["close"].isna(), "ticker"].astype(str)))
    repulled: dict[str, int] = {}
    if short:
        report = pull_many(source=source, repo=prices, tickers=short, end=as_of, now=now)
        failed.update(report.failures)
        repulled = {r.ticker: r.rows_added for r in report.results}
        got = [t for t in short if t not in failed]
        if got:
            again = due[due["ticker"].isin(got)]
            fresh = _closes(prices, got, start=_first_day(again), end=as_of)
            closes = pd.concat([closes[~closes["ticker"].isin(got)], fresh], ignore_index=True)
            matched = _match(due, closes)
    matched = matched[~matched["ticker"].isin(list(failed))]
    closed = matched["close"].notna().to_numpy()
    ok = closed & scorable(matched, matched["close"].tolist())
    picked = matched[ok]
    updates = [
        ActualUpdate(int(i), float(c), now)
        for i, c in zip(picked["id"].to_numpy(), picked["close"].to_numpy(), strict=True)
    ]
    counts = (
        pd.DataFrame(
            {"ticker": matched["ticker"].astype(str), "due": 1, "closed": closed, "ok": ok}
        )
        .groupby("ticker", sort=False)[["due", "closed", "ok"]]
        .sum()
    )
    results: dict[str, ActualsResult] = {}
    for t in tickers:
        if t in failed:
            continue
        total = waiting.get(t, 0)
        n_due, n_closed, n_ok = (int(v) for v in counts.loc[t]) if t in counts.index else (0, 0, 0)
        results[t] = ActualsResult(
            t,
            n_ok,
            n_due - n_closed,
            total - n_due,
            repulled.get(t, 0),
            unscorable=n_closed - n_ok,
        )
        if n_closed > n_ok:
            log.warning(
                "%s: %d due predictions hold a number that is not finite or too far from the "
                "close to score; they stay pending and are counted as unscorable",
                t,
                n_closed - n_ok,
            )
    written = predictions.attach_actuals(updates)
    if written != len(updates):
        log.warning("%d of %d actuals were written (another writer?)", written, len(updates))
    return results


def _first_day(due: pd.DataFrame) -> dt.date:
    return pd.Timestamp(due["target_date"].min()).date()


def _closes(
    prices: PriceStore, tickers: list[str], *, start: dt.date, end: dt.date
) -> pd.DataFrame:
    """Stored closes of `tickers` from `start` to `end` as one frame: ticker, day, close."""
    if not tickers:
        return pd.DataFrame(
            {
                "ticker": pd.Series([], dtype=object),
                "day": pd.Series([], dtype="datetime64[ns]"),
                "close": pd.Series([], dtype=float),
            }
        )
    frames = prices.load_many(tickers, start=start, end=end)
    # one frame from the columns' arrays: a small DataFrame per ticker costs ~1.5 ms each
    names = list(frames)
    return pd.DataFrame(
        {
            "ticker": np.repeat(np.array(names, dtype=object), [len(frames[t]) for t in names]),
            "day": np.concatenate(
                [frames[t]["date"].to_numpy(dtype="datetime64[ns]") for t in names]
            ),
            "close": np.concatenate([frames[t]["close"].to_numpy(dtype=float) for t in names]),
        }
    ).assign(day=lambda f: f["day"].dt.normalize())


def _match(due: pd.DataFrame, closes: pd.DataFrame) -> pd.DataFrame:
    """The due rows (in their order) with the close of their target day, NaN when none."""
    keyed = due.assign(day=due["target_date"].dt.normalize())
    closes = closes.assign(day=closes["day"].astype("datetime64[ns]"))
    keyed["day"] = keyed["day"].astype("datetime64[ns]")
    return keyed.merge(closes, on=["ticker", "day"], how="left", sort=False, validate="many_to_one")


def scorable(due: pd.DataFrame, actual: list[float]) -> np.ndarray:
    """Rows whose numbers are finite and whose errors can be stored and squared."""
    numbers = due[["prediction", "lower", "upper", "naive"]].to_numpy(dtype=float)
    return scorable_numbers(numbers, np.asarray(actual, dtype=float))


def scorable_numbers(numbers: np.ndarray, close: np.ndarray) -> np.ndarray:
    """`scorable` on arrays: `numbers` holds (prediction, lower, upper, naive) per row."""
    with np.errstate(over="ignore", invalid="ignore"):
        errors = np.abs(close[:, None] - numbers[:, [0, 3]])
        ok: np.ndarray = np.isfinite(numbers).all(axis=1) & (errors <= SCORABLE_ERROR).all(axis=1)
    return ok
