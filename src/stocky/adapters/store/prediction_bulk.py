"""Set-based reads of the prediction log for the daily job over a fleet: one query (per chunk
of `CHUNK_TICKERS` tickers) for every ticker's pending rows, counts, labeled rows or forecasts,
instead of several queries per ticker. Same rows, same filtering as the per-ticker reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from stocky.adapters.prediction_columns import DRIFT_COLUMNS
from stocky.adapters.store.prediction_reads import (
    _AS_OF_CLOSE,
    _FOREIGN_WINDOW,
    _LABELED_NUMBERS,
    _usable,
    _usable_mask,
    read_frame,
)
from stocky.adapters.store.tables import predictions, prices
from stocky.errors import StoreError

__all__ = ["CHUNK_TICKERS", "DRIFT_COLUMNS", "PredictionBulkReads", "chunks"]

#: Tickers per IN list: well under every SQLite build's bound-parameter limit.
CHUNK_TICKERS = 500


def chunks(tickers: Sequence[str], size: int = CHUNK_TICKERS) -> Iterator[list[str]]:
    """`tickers` (deduplicated, in order) in lists of at most `size`."""
    unique = list(dict.fromkeys(tickers))
    for i in range(0, len(unique), size):
        yield unique[i : i + size]


class PredictionBulkReads:
    """Many tickers' reads at once (mixed into `PredictionRepository`)."""

    engine: sa.Engine

    def pending_many(self, tickers: Sequence[str], *, up_to: dt.date) -> pd.DataFrame:
        """Rows of `tickers` without an actual whose target is on or before `up_to`.

        Returns:
            Columns ticker, id, target_date (datetime64), prediction, lower, upper, naive,
            ordered by id.
        """
        c = predictions.c
        cols = (c.ticker, c.id, c.target_date, c.prediction, c.lower, c.upper, c.naive)
        parts = [
            read_frame(
                self.engine,
                sa.select(*cols)
                .where(c.ticker.in_(part), c.actual.is_(None), c.target_date <= up_to)
                .order_by(c.id),
                "pending predictions",
            )
            for part in chunks(tickers)
        ]
        frame = _concat(parts, [col.name for col in cols])
        return frame.sort_values("id", kind="stable").reset_index(drop=True)

    def pending_counts(self, tickers: Sequence[str]) -> dict[str, int]:
        """Rows of each ticker without an actual, due or not (tickers with none are left out)."""
        c = predictions.c
        found: dict[str, int] = {}
        for part in chunks(tickers):
            query = (
                sa.select(c.ticker, sa.func.count())
                .where(c.ticker.in_(part), c.actual.is_(None))
                .group_by(c.ticker)
            )
            found.update({t: int(n) for t, n in self._rows(query, "pending predictions")})
        return found

    def labeled_table(
        self,
        tickers: Sequence[str],
        *,
        up_to: dt.date | None = None,
        columns: Sequence[str] = DRIFT_COLUMNS,
    ) -> pd.DataFrame:
        """Many tickers' labeled rows in ONE frame (column ``ticker`` first, then `columns`),
        ordered by ticker then as `labeled` orders each ticker's rows.

        The rows `labeled` returns: foreign windows and unusable legacy rows are left out, and
        ``attrs["unusable"]`` maps each ticker with unusable rows to their count. One frame,
        not one per ticker: a drift check over a fleet cuts it into arrays
        (`stocky.core.drift_rows.split_labeled`) instead of slicing a DataFrame per ticker.
        """
        c = predictions.c
        wanted = list(dict.fromkeys([*columns, *_LABELED_NUMBERS]))
        parts: list[pd.DataFrame] = []
        for part in chunks(tickers):
            query = (
                sa.select(c.ticker, *(c[name] for name in wanted))
                .where(c.ticker.in_(part), c.actual.is_not(None))
                .outerjoin(prices, _AS_OF_CLOSE)
                .where(sa.or_(prices.c.close.is_(None), sa.not_(_FOREIGN_WINDOW)))
                .order_by(c.ticker, c.target_date, c.created_at, c.id)
            )
            if up_to is not None:
                query = query.where(c.target_date <= up_to)
            parts.append(read_frame(self.engine, query, "labeled predictions"))
        if not parts:
            empty = pd.DataFrame(columns=["ticker", *columns])
            empty.attrs["unusable"] = {}
            return empty
        frame = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        frame, unusable = _usable_many(frame)
        frame = frame[["ticker", *columns]]
        frame.attrs["unusable"] = unusable
        return frame

    def find_many(self, tickers: Sequence[str], *, as_of: dt.date, source: str) -> dict[str, int]:
        """The first logged `source` forecast of each ticker as of `as_of` (its id), by ticker."""
        c = predictions.c
        found: dict[str, int] = {}
        for part in chunks(tickers):
            query = (
                sa.select(c.ticker, sa.func.min(c.id))
                .where(c.ticker.in_(part), c.as_of == as_of, c.source == source)
                .group_by(c.ticker)
            )
            found.update({t: int(i) for t, i in self._rows(query, f"{source} forecasts")})
        return found

    def _rows(self, query: sa.Select[Any], what: str) -> list[tuple[Any, ...]]:
        try:
            with self.engine.connect() as conn:
                return [tuple(r) for r in conn.execute(query).all()]
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read {what}: {exc}") from exc


def _usable_many(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """`_usable` over many tickers at once: the usable rows, and the count left out per ticker
    (each such ticker warned about as `_usable` warns)."""
    if frame.empty:
        return frame, {}
    ok = _usable_mask(frame)
    if ok.all():
        return frame, {}
    bad = frame.loc[~ok, "ticker"].value_counts(sort=False)
    unusable = {str(t): int(n) for t, n in bad.items()}
    for ticker in unusable:  # the warning `_usable` logs, ticker by ticker
        _usable(frame[frame["ticker"] == ticker].drop(columns="ticker"), ticker)
    return frame[ok].reset_index(drop=True), unusable


def _concat(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        frame = pd.DataFrame(columns=columns)
        frame["target_date"] = pd.to_datetime(frame["target_date"])
        return frame
    return parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
