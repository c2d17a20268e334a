"""Logged predictions: written before the API answers; actuals attached later (delayed labels)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from stocky.adapters.store.tables import predictions
from stocky.errors import StoreError

__all__ = ["PredictionRecord", "PredictionRepository"]


@dataclass(frozen=True)
class PredictionRecord:
    """One forecast as logged: what was predicted, by which model, from which input."""

    ticker: str
    created_at: dt.datetime
    as_of: dt.date
    target_date: dt.date
    prediction: float
    lower: float
    upper: float
    naive: float
    model_name: str
    model_version: int
    arima_order: str
    history_len: int
    input_hash: str
    request_id: str
    source: str = "api"


class PredictionRepository:
    """Insert and read rows of the `predictions` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def insert(self, record: PredictionRecord) -> int:
        """Write one prediction durably (committed) and return its id.

        Raises:
            StoreError: The database refused; nothing was written.
        """
        values = asdict(record)
        if record.created_at.tzinfo is None:
            raise StoreError(
                f"created_at {record.created_at!r} has no time zone: pass an aware UTC datetime"
            )
        values["created_at"] = record.created_at.astimezone(dt.UTC)
        try:
            with self.engine.begin() as conn:
                result = conn.execute(predictions.insert().values(**values))
                key = result.inserted_primary_key
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not log the prediction for {record.ticker}: {exc.__class__.__name__}: {exc}"
            ) from exc
        if key is None:
            raise StoreError(f"the database returned no id for the prediction of {record.ticker}")
        return int(key[0])

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

    def ping(self) -> None:
        """Raise StoreError unless the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise StoreError(f"the database does not answer: {exc}") from exc
