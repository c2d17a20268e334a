"""Reading the prediction log: pending and labeled rows, counts, lookups.

`labeled` is what monitoring scores: rows whose window does not end at the ticker's stored
close (foreign windows) and legacy rows holding numbers that are not finite are left out and
counted, never fed to a metric.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from numpy.typing import NDArray
from sqlalchemy.exc import SQLAlchemyError

from stocky.adapters.prediction_columns import LABELED_COLUMNS, SCORABLE_ERROR, WINDOW_TOLERANCE
from stocky.adapters.store.tables import predictions, prices
from stocky.errors import StoreError

__all__ = [
    "LABELED_COLUMNS",
    "SCORABLE_ERROR",
    "WINDOW_TOLERANCE",
    "PredictionReads",
    "read_frame",
]

log = logging.getLogger(__name__)

# the ticker's stored close on a prediction's `as_of`, and windows that do not end there
_AS_OF_CLOSE = sa.and_(
    prices.c.ticker == predictions.c.ticker, prices.c.date == predictions.c.as_of
)
_FOREIGN_WINDOW = (
    sa.func.abs(predictions.c.naive - prices.c.close) > WINDOW_TOLERANCE * prices.c.close
)


class PredictionReads:
    """The read side of `PredictionRepository` (it adds the writes)."""

    engine: sa.Engine

    def count(self, ticker: str | None = None) -> int:
        """Rows logged, for one ticker or all."""
        query = sa.select(sa.func.count()).select_from(predictions)
        if ticker is not None:
            query = query.where(predictions.c.ticker == ticker)
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(query).scalar_one())
        except SQLAlchemyError as exc:
            raise StoreError(f"could not count predictions: {exc}") from exc

    def get(self, prediction_id: int) -> dict[str, Any] | None:
        """One row as a dict, or None."""
        try:
            with self.engine.connect() as conn:
                row = (
                    conn.execute(sa.select(predictions).where(predictions.c.id == prediction_id))
                    .mappings()
                    .first()
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read prediction {prediction_id}: {exc}") from exc
        return dict(row) if row is not None else None

    def iter_rows(
        self, *, ticker: str | None = None, batch: int = 1000
    ) -> Iterator[dict[str, Any]]:
        """Every row, oldest first, streamed in batches."""
        query = sa.select(predictions).order_by(predictions.c.id)
        if ticker is not None:
            query = query.where(predictions.c.ticker == ticker)
        try:
            with self.engine.connect() as conn:
                result = conn.execution_options(yield_per=batch).execute(query).mappings()
                for row in result:
                    yield dict(row)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read predictions: {exc}") from exc

    def labeled(
        self,
        ticker: str,
        *,
        up_to: dt.date | None = None,
        start: dt.date | None = None,
        foreign_windows: bool = False,
    ) -> pd.DataFrame:
        """Predictions of `ticker` that have their actual, oldest target first.

        A prediction's window should end at the ticker's close on `as_of`; its `naive` is that
        last price. When the store holds that close and `naive` is off by more than
        WINDOW_TOLERANCE (say, the seed README's example window of 170s sent for ^GSPC at
        2,500, or an older window sent as today's on a day the price moved more than that),
        the row measures nothing about this ticker's model and is left out unless
        `foreign_windows` is True. Rows whose `as_of` close is not stored are kept.

        Rows logged before the CHECK constraints (revision 0003) may hold a number that is
        not finite, or an error too large to square: they are left out, counted in
        ``frame.attrs["unusable"]``, and a warning says how many.

        Returns:
            Columns id, created_at, as_of, target_date (datetime64), prediction, lower, upper,
            naive, actual, error, naive_error, model_version, source.
        """
        c = predictions.c
        query = (
            sa.select(*(c[name] for name in LABELED_COLUMNS))
            .where(c.ticker == ticker)
            .where(c.actual.is_not(None))
            .order_by(c.target_date, c.created_at, c.id)
        )
        if not foreign_windows:
            query = query.outerjoin(prices, _AS_OF_CLOSE).where(
                sa.or_(prices.c.close.is_(None), sa.not_(_FOREIGN_WINDOW))
            )
        if up_to is not None:
            query = query.where(c.target_date <= up_to)
        if start is not None:
            query = query.where(c.target_date >= start)
        return _usable(self._frame(query, f"labeled predictions of {ticker}"), ticker)

    def foreign_window_count(self, ticker: str) -> int:
        """Labeled predictions `labeled` leaves out: windows that do not end at the stored
        close of their `as_of` (see `labeled`)."""
        c = predictions.c
        query = (
            sa.select(sa.func.count())
            .select_from(predictions.join(prices, _AS_OF_CLOSE))
            .where(c.ticker == ticker)
            .where(c.actual.is_not(None))
            .where(_FOREIGN_WINDOW)
        )
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(query).scalar_one())
        except SQLAlchemyError as exc:
            raise StoreError(f"could not count foreign windows of {ticker}: {exc}") from exc

    def tickers(self) -> list[str]:
        """Tickers with at least one logged prediction."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(predictions.c.ticker).distinct().order_by(predictions.c.ticker)
                )
                return [r[0] for r in rows]
        except SQLAlchemyError as exc:
            raise StoreError(f"could not list predicted tickers: {exc}") from exc

    def _frame(self, query: sa.Select[Any], what: str) -> pd.DataFrame:
        return read_frame(self.engine, query, what)


def read_frame(engine: sa.Engine, query: sa.Select[Any], what: str) -> pd.DataFrame:
    """Run `query` into a DataFrame (dates as datetime64); StoreError names `what` on failure."""
    try:
        with engine.connect() as conn:
            result = conn.execute(query)
            frame = pd.DataFrame([tuple(r) for r in result.fetchall()], columns=list(result.keys()))
    except SQLAlchemyError as exc:
        raise StoreError(f"could not read {what}: {exc}") from exc
    for col in ("target_date", "as_of"):
        if col in frame:
            frame[col] = pd.to_datetime(frame[col])
    return frame


_LABELED_NUMBERS = ("prediction", "lower", "upper", "naive", "actual", "error", "naive_error")


def _usable_mask(frame: pd.DataFrame) -> NDArray[np.bool_]:
    """Rows whose numbers are finite and whose errors can be squared."""
    numbers = frame[list(_LABELED_NUMBERS)].to_numpy(dtype=float)
    errors = numbers[:, -2:]
    ok: NDArray[np.bool_] = np.isfinite(numbers).all(axis=1) & (
        np.abs(errors) <= SCORABLE_ERROR
    ).all(axis=1)
    return ok


def _usable(frame: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Leave out rows monitoring cannot use (legacy non-finite numbers), and count them."""
    if frame.empty:
        frame.attrs["unusable"] = 0
        return frame
    ok = _usable_mask(frame)
    skipped = int((~ok).sum())
    if skipped:
        log.warning(
            "%s: %d labeled predictions hold a number that is not finite (or an error beyond "
            "%g) and are left out of monitoring; they were logged before stocky refused them",
            ticker,
            skipped,
            SCORABLE_ERROR,
        )
        frame = frame[ok].reset_index(drop=True)
    frame.attrs["unusable"] = skipped
    return frame
