"""Logged predictions: written before the API answers; actuals attached later (delayed labels)."""

from __future__ import annotations

import datetime as dt
import logging
import math
import sqlite3
import threading
from dataclasses import fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from stocky.adapters.ports import ActualUpdate, PredictionRecord
from stocky.adapters.store.engine import SQLITE_BUSY_TIMEOUT_MS
from stocky.adapters.store.prediction_bulk import PredictionBulkReads
from stocky.adapters.store.prediction_reads import SCORABLE_ERROR, WINDOW_TOLERANCE, PredictionReads
from stocky.adapters.store.tables import predictions
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

_INSERT = predictions.insert()
_NO_ROW_UPDATE = predictions.update().where(sa.false()).values(id=predictions.c.id)


class PredictionRepository(PredictionReads, PredictionBulkReads):
    """Insert and read rows of the `predictions` table (reads in `prediction_reads`, many
    tickers' reads at once in `prediction_bulk`)."""

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

    def attach_actuals(self, updates: list[ActualUpdate]) -> int:
        """Write actuals and errors in ONE transaction; rows that already have an actual are left alone.

        Returns:
            Rows updated (unknown ids are skipped).

        Raises:
            BadInput: An actual is not finite (SQLite would store NaN as NULL and leave the row
                pending while labeling the others); nothing was written.
            StoreError: An `actual_at` has no time zone, or the database refused; nothing was
                written.
        """
        if not updates:
            return 0
        _validate_updates(updates)
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


def _validate_updates(updates: list[ActualUpdate]) -> None:
    """Refuse what every database must refuse alike, before anything is written."""
    for u in updates:
        if not math.isfinite(u.actual):
            raise BadInput(
                f"actual of prediction {u.id} is {u.actual!r}: attach finite closes only"
            )
        if u.actual_at.tzinfo is None:
            raise StoreError(
                f"actual_at {u.actual_at!r} has no time zone: pass an aware UTC datetime"
            )
