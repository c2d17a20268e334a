"""The prediction log port in a list of rows (a row's id is its position + 1).

Rows hold every column of the SQL `predictions` table. Given the price store of the same
backend, `labeled` leaves out foreign windows exactly as the SQL store does (a window whose
last price is off the stored close of its `as_of` by more than WINDOW_TOLERANCE).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pandas as pd

from stocky.adapters.memory.prices import MemoryPriceStore
from stocky.adapters.ports import ActualUpdate, PredictionRecord
from stocky.adapters.prediction_columns import DRIFT_COLUMNS, LABELED_COLUMNS, WINDOW_TOLERANCE
from stocky.errors import BadInput, StoreError

__all__ = ["MemoryPredictionLog"]

_RECORD_FIELDS = dataclasses.fields(PredictionRecord)
_PENDING = ["id", "target_date", "prediction", "lower", "upper", "naive"]


class MemoryPredictionLog:
    """Forecasts and their delayed labels in one process (see `ports.PredictionLog`).

    Args:
        prices: The price store of the same backend: `labeled` checks each window against
            its stored closes. None: no window is foreign.
    """

    def __init__(self, *, prices: MemoryPriceStore | None = None) -> None:
        self.rows: list[dict[str, Any]] = []
        self._prices = prices

    def insert(self, record: PredictionRecord) -> int:
        return self.insert_many([record])[0]

    def insert_many(self, records: list[PredictionRecord], *, wait: bool = True) -> list[int]:
        for record in records:  # all checked before any is written, as one transaction
            record.validate()
            if record.created_at.tzinfo is None:
                raise StoreError(
                    f"created_at {record.created_at!r} has no time zone: pass an aware UTC datetime"
                )
        ids = []
        for record in records:
            # every field is a scalar: a shallow copy (asdict's deep recursion cost ~0.1 ms a row)
            row = {f.name: getattr(record, f.name) for f in _RECORD_FIELDS}
            row["created_at"] = record.created_at.astimezone(dt.UTC)
            row |= dict.fromkeys(
                ("actual", "error", "abs_error", "sq_error", "naive_error", "actual_at")
            )
            row["id"] = len(self.rows) + 1
            self.rows.append(row)
            ids.append(row["id"])
        return ids

    def count(self, ticker: str | None = None) -> int:
        return sum(1 for r in self.rows if ticker is None or r["ticker"] == ticker)

    def get(self, prediction_id: int) -> dict[str, Any] | None:
        return dict(self.rows[prediction_id - 1]) if 0 < prediction_id <= len(self.rows) else None

    def iter_rows(
        self, *, ticker: str | None = None, batch: int = 1000
    ) -> Iterator[dict[str, Any]]:
        return (dict(r) for r in self.rows if ticker is None or r["ticker"] == ticker)

    def attach_actuals(self, updates: list[ActualUpdate]) -> int:
        for u in updates:  # all checked before any is written, as one transaction
            if not math.isfinite(u.actual):
                raise BadInput(
                    f"actual of prediction {u.id} is {u.actual!r}: attach finite closes only"
                )
            if u.actual_at.tzinfo is None:
                raise StoreError(
                    f"actual_at {u.actual_at!r} has no time zone: pass an aware UTC datetime"
                )
        done = 0
        for u in updates:
            row = self.get_row(u.id)
            if row is not None and row["actual"] is None:
                error = u.actual - row["prediction"]
                row |= {
                    "actual": u.actual,
                    "error": error,
                    "abs_error": abs(error),
                    "sq_error": error * error,
                    "naive_error": u.actual - row["naive"],
                    "actual_at": u.actual_at.astimezone(dt.UTC),
                }
                done += 1
        return done

    def get_row(self, prediction_id: int) -> dict[str, Any] | None:
        """The stored row itself (not a copy), or None."""
        return self.rows[prediction_id - 1] if 0 < prediction_id <= len(self.rows) else None

    def labeled(
        self,
        ticker: str,
        *,
        up_to: dt.date | None = None,
        start: dt.date | None = None,
        foreign_windows: bool = False,
    ) -> pd.DataFrame:
        rows = [
            r
            for r in self._labeled_rows(ticker, foreign_windows=foreign_windows)
            if (up_to is None or r["target_date"] <= up_to)
            and (start is None or r["target_date"] >= start)
        ]
        frame = _frame(rows, LABELED_COLUMNS)
        frame.attrs["unusable"] = 0
        return frame

    def foreign_window_count(self, ticker: str) -> int:
        closes = self._closes(ticker)
        return sum(
            1
            for r in self.rows
            if r["ticker"] == ticker and r["actual"] is not None and _foreign(r, closes)
        )

    def tickers(self) -> list[str]:
        return sorted({r["ticker"] for r in self.rows})

    def pending_many(self, tickers: Sequence[str], *, up_to: dt.date) -> pd.DataFrame:
        wanted = set(tickers)
        rows = [
            r
            for r in self.rows
            if r["ticker"] in wanted and r["actual"] is None and r["target_date"] <= up_to
        ]
        return _frame(rows, ["ticker", *_PENDING])

    def pending_counts(self, tickers: Sequence[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        wanted = set(tickers)
        for r in self.rows:
            if r["actual"] is None and r["ticker"] in wanted:
                counts[r["ticker"]] = counts.get(r["ticker"], 0) + 1
        return {t: counts[t] for t in dict.fromkeys(tickers) if t in counts}

    def labeled_table(
        self,
        tickers: Sequence[str],
        *,
        up_to: dt.date | None = None,
        columns: Sequence[str] = DRIFT_COLUMNS,
    ) -> pd.DataFrame:
        rows = [
            r
            for t in sorted(set(tickers))
            for r in self._labeled_rows(t)
            if up_to is None or r["target_date"] <= up_to
        ]
        frame = _frame(rows, ["ticker", *columns])
        frame.attrs["unusable"] = {}
        return frame

    def find_many(self, tickers: Sequence[str], *, as_of: dt.date, source: str) -> dict[str, int]:
        wanted = set(tickers)
        found: dict[str, int] = {}
        for row in self.rows:
            t = row["ticker"]
            if t in wanted and t not in found and (row["as_of"], row["source"]) == (as_of, source):
                found[t] = int(row["id"])
        return {t: found[t] for t in tickers if t in found}

    def _closes(self, ticker: str) -> Mapping[dt.date, float]:
        return {} if self._prices is None else self._prices.closes(ticker)

    def _labeled_rows(self, ticker: str, *, foreign_windows: bool = False) -> list[dict[str, Any]]:
        """A ticker's labeled rows (foreign windows left out unless asked), oldest target first."""
        closes: Mapping[dt.date, float] = {} if foreign_windows else self._closes(ticker)
        rows = [
            r
            for r in self.rows
            if r["ticker"] == ticker and r["actual"] is not None and not _foreign(r, closes)
        ]
        rows.sort(key=lambda r: (r["target_date"], r["created_at"], r["id"]))
        return rows


def _foreign(row: dict[str, Any], closes: Mapping[dt.date, float]) -> bool:
    close = closes.get(row["as_of"])
    return close is not None and abs(row["naive"] - close) > WINDOW_TOLERANCE * close


def _frame(rows: list[dict[str, Any]], columns: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame([[r[c] for c in columns] for r in rows], columns=list(columns))
    for col in ("target_date", "as_of"):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col])
    return frame
