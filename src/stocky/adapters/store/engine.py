"""Build the SQLAlchemy engine: SQLite tuned for one writer and many readers, others pinged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from stocky.errors import BadInput, StoreError

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "make_engine"]

#: How long a SQLite write waits for another connection's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000

# The busy timeout makes a second writer wait instead of failing with "database is locked"; it
# comes first because switching a new file to WAL takes a lock too (processes starting together
# failed there while the timeout was still 0). WAL lets the API read while a pipeline writes;
# NORMAL is durable enough in WAL mode.
_SQLITE_PRAGMAS = (
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


def make_engine(url: str) -> sa.Engine:
    """Create an engine for `url`.

    For a SQLite file the parent folder is created and every connection gets WAL journaling,
    synchronous=NORMAL, foreign keys and a 5 s busy timeout. Other databases get
    `pool_pre_ping` so connections dropped by the server are replaced.

    Args:
        url: SQLAlchemy URL, e.g. `sqlite:///var/stocky.db` or `postgresql+psycopg://...`.

    Returns:
        A new engine (no connection is opened yet).

    Raises:
        BadInput: The URL cannot be parsed.
        StoreError: The engine cannot be created (e.g. the folder cannot be made).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise BadInput(
            f"database URL {url!r} is not a SQLAlchemy URL ({exc}): set STOCKY_DATABASE_URL "
            "to e.g. sqlite:///var/stocky.db or postgresql+psycopg://user@host/db"
        ) from exc
    try:
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(parsed)
            sa.event.listen(engine, "connect", _set_sqlite_pragmas)
            return engine
        return sa.create_engine(parsed, pool_pre_ping=True)
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(
            f"could not set up the database at {parsed.render_as_string(hide_password=True)}: "
            f"{exc}: check STOCKY_DATABASE_URL and that its folder is writable"
        ) from exc
