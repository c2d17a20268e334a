"""Logged predictions: written before the API answers; actuals attached later (delayed labels)."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from stocky.adapters.ports import ActualUpdate, PredictionRecord
from stocky.adapters.store.engine import SQLITE_BUSY_TIMEOUT_MS
from stocky.adapters.store.tables import predictions, prices
from stocky.errors import BadInput, StoreError

__all__ = [
    "NO_WAIT_MS",
    "SCORABLE_ERROR",
    "WINDOW_TOLERANCE",
    "ActualUpdate",
    "PredictionRecord",
    "PredictionRepository",
    "StoreBusy",
]

log = logging.getLogger(__name__)

#: How long a write that must not wait (the API's, on its event loop) waits for SQLite's write
#: lock before giving up with StoreBusy. Other writes wait the engine's busy timeout (5 s).
NO_WAIT_MS = 5
_WAIT_MS = SQLITE_BUSY_TIMEOUT_MS
_SQLITE_BUSY = 5  # SQLITE_BUSY, the primary result code of "database is locked"


class StoreBusy(StoreError):
    """Another connection holds SQLite's write lock and the write was not allowed to wait."""


_FIELDS = tuple(f.name for f in fields(PredictionRecord))

#: How far (as a share of the close) a window's last price may be from the ticker's stored
#: close on its `as_of` before monitoring leaves the prediction out: wider than rounding and
#: adjusted-vs-raw differences, narrower than a window of another ticker.
WINDOW_TOLERANCE = 0.02

# the ticker's stored close on a prediction's `as_of`, and windows that do not end there
_AS_OF_CLOSE = sa.and_(
    prices.c.ticker == predictions.c.ticker, prices.c.date == predictions.c.as_of
)
_FOREIGN_WINDOW = (
    sa.func.abs(predictions.c.naive - prices.c.close) > WINDOW_TOLERANCE * prices.c.close
)
_INSERT = predictions.insert()
_NO_ROW_UPDATE = predictions.update().where(sa.false()).values(id=predictions.c.id)


class PredictionRepository:
    """Insert and read rows of the `predictions` table."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._sqlite_plan: tuple[str, tuple[str, ...], dict[str, Any]] | None = None
        self._sqlite_conn: Any = None
        self._sqlite_busy_ms = _WAIT_MS  # the busy timeout the kept connection has now
        self._sqlite_lock = threading.Lock()

    def insert(self, record: PredictionRecord) -> int:
        """Write one prediction durably (committed) and return its id.

        Raises:
            StoreError: The database refused; nothing was written.
        """
        return self.insert_many([record])[0]

    def insert_many(self, records: list[PredictionRecord], *, wait: bool = True) -> list[int]:
        """Write predictions in ONE transaction (all or none) and return their ids in order.

        The API's log writer uses this for group commit: requests that arrive while a commit
        is in flight are written together, each still before its response is sent.

        Args:
            records: The rows.
            wait: On SQLite, False waits at most NO_WAIT_MS for another connection's write
                lock instead of the busy timeout, then raises StoreBusy (for writes on an
                event loop). Other databases ignore it.

        Raises:
            StoreBusy: `wait` was False and another connection holds SQLite's write lock.
            BadInput: A row holds a number that is not finite, or the database refused one of
                the rows for its values (a constraint); nothing was written.
            StoreError: The database refused; nothing was written.
        """
        rows = []
        for record in records:
            record.validate()
            if record.created_at.tzinfo is None:
                raise StoreError(
                    f"created_at {record.created_at!r} has no time zone: pass an aware UTC datetime"
                )
            # a plain dict against one prebuilt statement: SQLAlchemy reuses the compiled SQL
            values = {name: getattr(record, name) for name in _FIELDS}
            values["created_at"] = record.created_at.astimezone(dt.UTC)
            rows.append(values)
        tickers = ", ".join(sorted({r.ticker for r in records}))
        try:
            if self.engine.dialect.name == "sqlite":
                return self._insert_sqlite(rows, busy_ms=_WAIT_MS if wait else NO_WAIT_MS)
            ids = []
            with self.engine.begin() as conn:
                for values in rows:
                    key = conn.execute(_INSERT, values).inserted_primary_key
                    if key is None:
                        raise StoreError(
                            f"the database returned no id for a prediction of {tickers}"
                        )
                    ids.append(int(key[0]))
            return ids
        except (IntegrityError, DataError, sqlite3.IntegrityError, sqlite3.DataError) as exc:
            # the values of some row, not the database: the log writer retries rows one by one
            raise BadInput(
                f"the database refused a prediction of {tickers} for its values: "
                f"{exc.__class__.__name__}: {exc}: send finite prices of one instrument"
            ) from exc
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", None) == _SQLITE_BUSY:
                raise StoreBusy(
                    f"could not log the prediction for {tickers}: another process holds the "
                    f"database's write lock ({exc}); retry shortly"
                ) from exc
            raise StoreError(
                f"could not log the prediction for {tickers}: {exc.__class__.__name__}: {exc}"
            ) from exc
        except (SQLAlchemyError, sqlite3.Error) as exc:
            raise StoreError(
                f"could not log the prediction for {tickers}: {exc.__class__.__name__}: {exc}"
            ) from exc

    def _insert_sqlite(self, rows: list[dict[str, Any]], *, busy_ms: int) -> list[int]:
        """The hot path of /predict on SQLite: the statement SQLAlchemy compiled, run on one
        kept DBAPI connection with SQLAlchemy's own bind processors (so rows read back the
        same), without the per-call Core machinery (~3x faster)."""
        if self._sqlite_plan is None:
            dialect = self.engine.dialect
            compiled = _INSERT.compile(dialect=dialect, column_keys=list(_FIELDS))
            order = tuple(compiled.positiontup or ())
            processors = {
                key: predictions.c[key].type.dialect_impl(dialect).bind_processor(dialect)
                for key in order
            }
            self._sqlite_plan = (compiled.string, order, processors)
        sql, order, processors = self._sqlite_plan
        params = [
            tuple(
                proc(values[key]) if (proc := processors[key]) is not None else values[key]
                for key in order
            )
            for values in rows
        ]
        ids: list[int] = []
        with self._sqlite_lock:
            if self._sqlite_conn is None:
                self._sqlite_conn = self.engine.raw_connection()
                self._sqlite_busy_ms = _WAIT_MS  # the engine's pragma
            raw = self._sqlite_conn
            try:
                cursor = raw.cursor()
                try:
                    if busy_ms != self._sqlite_busy_ms:  # ~1 us, and only when it changes
                        cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
                        self._sqlite_busy_ms = busy_ms
                    for row in params:
                        cursor.execute(sql, row)
                        if cursor.lastrowid is None:
                            raise StoreError("the database returned no id for a prediction")
                        ids.append(int(cursor.lastrowid))
                finally:
                    cursor.close()
                raw.commit()
            except BaseException:
                self._sqlite_conn = None
                raw.invalidate()  # rolls back; a fresh connection serves the next write
                raise
        return ids

    def find(self, *, ticker: str, as_of: dt.date, source: str) -> int | None:
        """The id of a logged prediction of `ticker` as of `as_of` from `source`, or None."""
        c = predictions.c
        query = (
            sa.select(c.id)
            .where(c.ticker == ticker, c.as_of == as_of, c.source == source)
            .order_by(c.id)
            .limit(1)
        )
        try:
            with self.engine.connect() as conn:
                found = conn.execute(query).scalar_one_or_none()
        except SQLAlchemyError as exc:
            raise StoreError(f"could not look up the {source} forecast of {ticker}: {exc}") from exc
        return None if found is None else int(found)

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

    def pending(self, ticker: str, *, up_to: dt.date) -> pd.DataFrame:
        """Predictions of `ticker` without an actual whose target session is on or before `up_to`.

        Returns:
            Columns id, target_date (datetime64), prediction, lower, upper, naive.
        """
        query = (
            sa.select(
                predictions.c.id,
                predictions.c.target_date,
                predictions.c.prediction,
                predictions.c.lower,
                predictions.c.upper,
                predictions.c.naive,
            )
            .where(predictions.c.ticker == ticker)
            .where(predictions.c.actual.is_(None))
            .where(predictions.c.target_date <= up_to)
            .order_by(predictions.c.id)
        )
        return self._frame(query, f"pending predictions of {ticker}")

    def pending_count(self, ticker: str) -> int:
        """All predictions of `ticker` still waiting for their actual."""
        query = (
            sa.select(sa.func.count())
            .select_from(predictions)
            .where(predictions.c.ticker == ticker)
            .where(predictions.c.actual.is_(None))
        )
        try:
            with self.engine.connect() as conn:
                return int(conn.execute(query).scalar_one())
        except SQLAlchemyError as exc:
            raise StoreError(f"could not count pending predictions of {ticker}: {exc}") from exc

    def attach_actuals(self, updates: list[ActualUpdate]) -> int:
        """Write actuals and errors in ONE transaction; rows that already have an actual are left alone.

        Returns:
            Rows updated.

        Raises:
            StoreError: The database refused; nothing was written.
        """
        if not updates:
            return 0
        c = predictions.c
        stmt = (
            predictions.update()
            .where(c.id == sa.bindparam("pid"))
            .where(c.actual.is_(None))
            .values(
                actual=sa.bindparam("actual"),
                error=sa.bindparam("actual") - c.prediction,
                abs_error=sa.func.abs(sa.bindparam("actual") - c.prediction),
                sq_error=(sa.bindparam("actual") - c.prediction)
                * (sa.bindparam("actual") - c.prediction),
                naive_error=sa.bindparam("actual") - c.naive,
                actual_at=sa.bindparam("actual_at"),
            )
        )
        params = [
            {"pid": u.id, "actual": u.actual, "actual_at": u.actual_at.astimezone(dt.UTC)}
            for u in updates
        ]
        try:
            with self.engine.begin() as conn:
                result = conn.execute(stmt, params)
                return int(result.rowcount or 0)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not store {len(updates)} actuals (nothing was written): {exc}"
            ) from exc

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

        Rows logged before the CHECK constraints (revision 0002) may hold a number that is
        not finite, or an error too large to square: they are left out, counted in
        ``frame.attrs["unusable"]``, and a warning says how many.

        Returns:
            Columns id, created_at, as_of, target_date (datetime64), prediction, lower, upper,
            naive, actual, error, naive_error, model_version, source.
        """
        c = predictions.c
        query = (
            sa.select(
                c.id,
                c.created_at,
                c.as_of,
                c.target_date,
                c.prediction,
                c.lower,
                c.upper,
                c.naive,
                c.actual,
                c.error,
                c.naive_error,
                c.model_version,
                c.source,
            )
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
        try:
            with self.engine.connect() as conn:
                result = conn.execute(query)
                frame = pd.DataFrame(
                    [tuple(r) for r in result.fetchall()], columns=list(result.keys())
                )
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read {what}: {exc}") from exc
        for col in ("target_date", "as_of"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col])
        return frame

    def close(self) -> None:
        """Close the kept SQLite write connection (the engine's pool is disposed elsewhere)."""
        with self._sqlite_lock:
            conn, self._sqlite_conn = self._sqlite_conn, None
        if conn is not None:
            conn.close()

    def check_writable(self) -> None:
        """Raise StoreError unless a prediction could be written now (for /ready).

        An UPDATE of no row, rolled back: it needs the table and a database that takes writes
        (a read-only SQLite file or PostgreSQL replica fails it), and writes nothing. On SQLite
        it does not wait for another connection's write lock: a lock held elsewhere only
        delays writes, so it counts as writable.
        """
        sqlite = self.engine.dialect.name == "sqlite"
        try:
            with self.engine.connect() as conn:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA busy_timeout=0")
                try:
                    conn.execute(_NO_ROW_UPDATE)
                finally:
                    conn.rollback()
                    if sqlite:
                        conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        except SQLAlchemyError as exc:
            orig = getattr(exc, "orig", None)
            if sqlite and getattr(orig, "sqlite_errorcode", None) == _SQLITE_BUSY:
                return  # another process is writing: ours wait for it (off the event loop)
            raise StoreError(
                f"predictions cannot be logged: {exc.__class__.__name__}: {orig or exc}"
            ) from exc

    def ping(self) -> None:
        """Raise StoreError unless the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise StoreError(f"the database does not answer: {exc}") from exc


#: Errors beyond this cannot be squared and averaged in doubles (1e150 squared is 1e300).
SCORABLE_ERROR = 1e150
_LABELED_NUMBERS = ("prediction", "lower", "upper", "naive", "actual", "error", "naive_error")


def _usable(frame: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Leave out rows monitoring cannot use (legacy non-finite numbers), and count them."""
    if frame.empty:
        frame.attrs["unusable"] = 0
        return frame
    numbers = frame[list(_LABELED_NUMBERS)].to_numpy(dtype=float)
    errors = numbers[:, -2:]
    ok = np.isfinite(numbers).all(axis=1) & (np.abs(errors) <= SCORABLE_ERROR).all(axis=1)
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
