"""Read and write daily prices in the `prices` table.

Writes are set-based: the rows of a frame are built column-wise and sent as one executemany of
`INSERT ... ON CONFLICT (ticker, date) DO UPDATE` per chunk of `CHUNK_ROWS`, all chunks of one
call in one transaction, so a failed write leaves none of its rows behind. `store_many` writes
many tickers in that one transaction (1,000 tickers x 1,000 sessions into SQLite in a few
seconds; see bench/bench_prices.py), and `replace=True` first deletes what each ticker had.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from stocky.adapters.ports import PriceSummary
from stocky.adapters.prices.base import PRICE_COLUMNS, empty_price_frame
from stocky.adapters.store.prediction_bulk import chunks
from stocky.adapters.store.tables import prices
from stocky.errors import StoreError

__all__ = ["CHUNK_ROWS", "PriceRepository", "PriceSummary"]

CHUNK_ROWS = 50_000
"""Rows per executemany: bounds the parameter lists held in memory at once."""

_STORE_HINT = "check the database is reachable and `stocky data pull` created its tables"


class PriceRepository:
    """Prices stored per (ticker, date); frames in and out have the price-frame shape.

    Args:
        engine: A SQLite or PostgreSQL engine whose schema exists (`create_schema`).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def upsert(
        self, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: dt.datetime
    ) -> int:
        """Insert the frame's rows for `ticker`, replacing rows with the same date.

        Args:
            ticker: Ticker the rows belong to.
            frame: A normalised price frame (see `adapters.prices.base`).
            source: Name of the source that served the rows.
            fetched_at: When the rows were fetched (time is an argument, not read here).

        Returns:
            How many rows were written (inserted or replaced).

        Raises:
            StoreError: The database failed, or its dialect has no upsert here; nothing of
                this call is stored then.
        """
        return self.store_many({ticker: frame}, source=source, fetched_at=fetched_at)

    def replace(
        self, ticker: str, frame: pd.DataFrame, *, source: str, fetched_at: dt.datetime
    ) -> int:
        """Delete every stored row of `ticker` and store the frame instead, in one transaction.

        Returns:
            How many rows were written.

        Raises:
            StoreError: The database failed; the old rows are kept then.
        """
        return self.store_many({ticker: frame}, source=source, fetched_at=fetched_at, replace=True)

    def store_many(
        self,
        frames: Mapping[str, pd.DataFrame],
        *,
        source: str,
        fetched_at: dt.datetime,
        replace: bool = False,
    ) -> int:
        """Upsert the frames of many tickers in one transaction (all or nothing).

        Args:
            frames: Normalised price frames by ticker.
            source: Name of the source that served the rows.
            fetched_at: When the rows were fetched.
            replace: Delete every stored row of each of these tickers first.

        Returns:
            How many rows were written in all.

        Raises:
            StoreError: The database failed; nothing of this call is stored then.
        """
        total = sum(len(f) for f in frames.values())
        if total == 0 and not replace:
            return 0
        writer = _BulkWriter(self.engine.dialect, self._upsert_statement())
        names = ", ".join(list(frames)[:3]) + (" ..." if len(frames) > 3 else "")
        try:
            with self.engine.begin() as conn:
                if replace:
                    tickers = list(frames)
                    for i in range(0, len(tickers), 500):
                        conn.execute(
                            sa.delete(prices).where(prices.c.ticker.in_(tickers[i : i + 500]))
                        )
                writer.write(conn, frames, source, fetched_at)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not store {total} price rows for {names}: {exc}: {_STORE_HINT}"
            ) from exc
        return total

    def load(
        self,
        ticker: str,
        start: dt.date | None = None,
        end: dt.date | None = None,
        *,
        last: int | None = None,
    ) -> pd.DataFrame:
        """Stored prices for `ticker` with `start <= date <= end`, oldest first.

        With `last`, only the latest `last` of those sessions are read (a forecast window).

        Returns:
            A price frame (`PRICE_COLUMNS`, date as datetime64[ns]); empty when none stored.

        Raises:
            StoreError: The database failed.
        """
        cols = [prices.c[name] for name in PRICE_COLUMNS]
        query = sa.select(*cols).where(prices.c.ticker == ticker)
        if start is not None:
            query = query.where(prices.c.date >= start)
        if end is not None:
            query = query.where(prices.c.date <= end)
        if last is not None:
            query = query.order_by(prices.c.date.desc()).limit(last)
        else:
            query = query.order_by(prices.c.date)
        try:
            with self.engine.connect() as conn:
                records = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read prices for {ticker}: {exc}: {_STORE_HINT}") from exc
        if not records:
            return empty_price_frame()
        # plain tuples: building from Row objects is ~10x slower (pandas probes each row)
        rows = [tuple(r) for r in records]
        if last is not None:
            rows.reverse()
        frame = pd.DataFrame(rows, columns=list(PRICE_COLUMNS))
        frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
        for col in PRICE_COLUMNS[1:]:
            frame[col] = pd.to_numeric(frame[col]).astype("float64")
        return frame

    def load_many(
        self,
        tickers: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> dict[str, pd.DataFrame]:
        """`load` for many tickers in one query per chunk of tickers.

        Returns:
            Ticker -> price frame (oldest first); every ticker asked gets one, empty when
            nothing is stored in range.

        Raises:
            StoreError: The database failed.
        """
        cols = [prices.c[name] for name in PRICE_COLUMNS]
        out: dict[str, pd.DataFrame] = {}
        for part in chunks(tickers):
            query = sa.select(prices.c.ticker, *cols).where(prices.c.ticker.in_(part))
            if start is not None:
                query = query.where(prices.c.date >= start)
            if end is not None:
                query = query.where(prices.c.date <= end)
            query = query.order_by(prices.c.ticker, prices.c.date)
            try:
                with self.engine.connect() as conn:
                    records = [tuple(r) for r in conn.execute(query).all()]
            except SQLAlchemyError as exc:
                raise StoreError(
                    f"could not read prices for {len(part)} tickers: {exc}: {_STORE_HINT}"
                ) from exc
            frame = pd.DataFrame(records, columns=["ticker", *PRICE_COLUMNS])
            frame["date"] = pd.to_datetime(frame["date"]).astype("datetime64[ns]")
            for col in PRICE_COLUMNS[1:]:
                frame[col] = pd.to_numeric(frame[col]).astype("float64")
            # rows come ordered by ticker: each ticker's are one slice (a groupby and a column
            # selection per ticker cost ~1 ms each, most of this read for a fleet)
            names = frame["ticker"].to_numpy(dtype=object)
            starts = np.flatnonzero(np.concatenate(([True], names[1:] != names[:-1])))
            if not len(names):
                starts = starts[:0]
            body = frame[list(PRICE_COLUMNS)]
            blocks = {
                names[a]: body.iloc[a:b].reset_index(drop=True)
                for a, b in zip(starts.tolist(), [*starts[1:].tolist(), len(names)], strict=False)
            }
            for ticker in part:
                rows = blocks.get(ticker)
                out[ticker] = empty_price_frame() if rows is None else rows
        return out

    def last_date(self, ticker: str) -> dt.date | None:
        """The latest stored session for `ticker`, or None when nothing is stored.

        Raises:
            StoreError: The database failed.
        """
        query = sa.select(sa.func.max(prices.c.date)).where(prices.c.ticker == ticker)
        try:
            with self.engine.connect() as conn:
                value = conn.execute(query).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not read the last stored date for {ticker}: {exc}: {_STORE_HINT}"
            ) from exc
        return value if isinstance(value, dt.date) or value is None else _as_date(value)

    def last_dates(self) -> dict[str, dt.date]:
        """The latest stored session of every stored ticker, in one query.

        Raises:
            StoreError: The database failed.
        """
        query = sa.select(prices.c.ticker, sa.func.max(prices.c.date)).group_by(prices.c.ticker)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read the last stored dates: {exc}: {_STORE_HINT}") from exc
        return {ticker: _as_date(last) for ticker, last in rows}

    def summary(self) -> list[PriceSummary]:
        """One PriceSummary per stored ticker, sorted by ticker.

        Raises:
            StoreError: The database failed.
        """
        c = prices.c
        spans = sa.select(
            c.ticker, sa.func.min(c.date), sa.func.max(c.date), sa.func.count()
        ).group_by(c.ticker)
        sources = sa.select(c.ticker, c.source).distinct()
        try:
            with self.engine.connect() as conn:
                span_rows = conn.execute(spans).all()
                source_rows = conn.execute(sources).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"could not summarise stored prices: {exc}: {_STORE_HINT}") from exc
        by_ticker: dict[str, set[str]] = {}
        for ticker, source in source_rows:
            by_ticker.setdefault(ticker, set()).add(source)
        return [
            PriceSummary(
                ticker, _as_date(first), _as_date(last), int(n), ",".join(sorted(by_ticker[ticker]))
            )
            for ticker, first, last, n in sorted(span_rows)
        ]

    def _upsert_statement(self) -> Any:
        dialect = self.engine.dialect.name
        if dialect == "sqlite":
            stmt: Any = sqlite.insert(prices)
        elif dialect == "postgresql":
            stmt = postgresql.insert(prices)
        else:
            raise StoreError(
                f"price upsert supports SQLite and PostgreSQL, not {dialect}: point "
                "STOCKY_DATABASE_URL at one of those"
            )
        keys = {prices.c.ticker.name, prices.c.date.name}
        updates = {col.name: stmt.excluded[col.name] for col in prices.c if col.name not in keys}
        return stmt.on_conflict_do_update(index_elements=sorted(keys), set_=updates)


_COLUMNS = ("ticker", "date", "open", "high", "low", "close", "volume", "source", "fetched_at")


class _BulkWriter:
    """Rows straight to the driver's executemany, with the upsert compiled once.

    SQLAlchemy's Core executemany binds every row as a dict of parameters (~15k rows/s for
    this table on a busy 2-core machine). Here the statement is compiled once for the dialect
    and the dialect's bind processors are applied column-wise: once for the constant columns,
    once per distinct date (a universe shares its sessions), so the SQL and the stored formats
    are exactly SQLAlchemy's.
    """

    def __init__(self, dialect: sa.Dialect, stmt: Any) -> None:
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self.positional = compiled.positiontup is not None
        self.names = list(compiled.positiontup) if self.positional else list(_COLUMNS)
        if sorted(self.names) != sorted(_COLUMNS):
            raise StoreError(f"unexpected price upsert parameters {self.names}: update _COLUMNS")
        self.processors = {
            name: prices.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in _COLUMNS
        }
        self._dates: dict[dt.date, Any] = {}

    def _one(self, name: str, value: Any) -> Any:
        process = self.processors[name]
        return value if process is None else process(value)

    def rows(
        self, ticker: str, frame: pd.DataFrame, source: str, fetched_at: dt.datetime
    ) -> list[Any]:
        """The frame's rows as driver parameters (tuples, or dicts for named paramstyles)."""
        n = len(frame)
        process_date = self.processors["date"]
        dates = pd.to_datetime(frame["date"]).dt.date.tolist()
        if process_date is not None:
            memo = self._dates
            dates = [memo[d] if d in memo else memo.setdefault(d, process_date(d)) for d in dates]
        volume = [
            round(v) if math.isfinite(v) else None  # unknown volume -> NULL
            for v in frame["volume"].to_numpy(dtype="float64").tolist()
        ]
        columns: dict[str, list[Any]] = {
            "ticker": [self._one("ticker", ticker)] * n,
            "date": dates,
            "volume": [self._one("volume", v) for v in volume]
            if self.processors["volume"]
            else volume,
            "source": [self._one("source", source)] * n,
            "fetched_at": [self._one("fetched_at", fetched_at)] * n,
        }
        for name in ("open", "high", "low", "close"):
            values = frame[name].to_numpy(dtype="float64").tolist()
            process = self.processors[name]
            columns[name] = values if process is None else [process(v) for v in values]
        ordered = [columns[name] for name in self.names]
        if self.positional:
            return list(zip(*ordered, strict=True))
        return [dict(zip(self.names, row, strict=True)) for row in zip(*ordered, strict=True)]

    def write(
        self,
        conn: sa.Connection,
        frames: Mapping[str, pd.DataFrame],
        source: str,
        fetched_at: dt.datetime,
    ) -> None:
        """executemany in chunks of about CHUNK_ROWS rows (a ticker is never split)."""
        chunk: list[Any] = []
        for ticker, frame in frames.items():
            if frame.empty:
                continue
            chunk.extend(self.rows(ticker, frame, source, fetched_at))
            if len(chunk) >= CHUNK_ROWS:
                conn.exec_driver_sql(self.sql, chunk)
                chunk = []
        if chunk:
            conn.exec_driver_sql(self.sql, chunk)


def _as_date(value: Any) -> dt.date:
    """A DB date value as `datetime.date` (aggregates may come back as strings on SQLite)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])
