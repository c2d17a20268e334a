"""One daily run at a time: a PostgreSQL advisory lock across hosts, a file lock on SQLite.

Two hosts that share a PostgreSQL database (the compose scheduler and a cron job or the GitHub
workflow) each have their own state folder, so a file lock cannot see the other run. There the
lock is `pg_try_advisory_lock`, held by a dedicated connection for the whole job: the server
releases it when the job ends, or when its connection dies with the process. A SQLite database
lives on one host, beside the state folder, so the file lock there is enough.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from stocky.errors import StockyError, StoreError

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = ["DAILY_LOCK_KEY", "AlreadyRunning", "advisory_lock", "daily_lock", "exclusive_lock"]

log = logging.getLogger(__name__)

#: The advisory lock key of the daily job (b"stockydl"; the migrations use another one).
DAILY_LOCK_KEY = int.from_bytes(b"stockydl", "big")


class AlreadyRunning(StockyError):
    """Another process holds the lock."""

    exit_code = 11


@contextmanager
def exclusive_lock(path: Path, *, what: str) -> Iterator[None]:
    """Hold an exclusive lock on `path` for the block, or raise AlreadyRunning at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            holder = Path(path).read_text().strip() or "another process"
            raise AlreadyRunning(
                f"{what} is already running (lock {path} held by pid {holder}): wait for it to finish"
            ) from exc
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def advisory_lock(engine: sa.Engine, key: int, *, what: str) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock `key` for the block, or raise AlreadyRunning at once.

    Raises:
        AlreadyRunning: Another session holds the lock (the message names its process id).
        StoreError: The database could not be reached.
    """
    import sqlalchemy as sa
    from sqlalchemy.exc import SQLAlchemyError

    where = engine.url.render_as_string(hide_password=True)
    try:
        # autocommit: the lock belongs to the session, so no transaction stays open for hours
        conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except SQLAlchemyError as exc:
        raise StoreError(
            f"could not connect to {where} to take the lock of {what}: {exc}: check STOCKY_DATABASE_URL"
        ) from exc
    try:
        try:
            taken = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            holder = (
                None
                if taken
                else conn.execute(
                    sa.text(
                        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                        "AND classid = :hi AND objid = :lo AND objsubid = 1"
                    ),
                    {"hi": key >> 32, "lo": key & 0xFFFFFFFF},
                ).scalar()
            )
        except SQLAlchemyError as exc:
            raise StoreError(f"could not take the lock of {what} on {where}: {exc}") from exc
        if not taken:
            raise AlreadyRunning(
                f"{what} is already running (PostgreSQL advisory lock {key} on {where} held by "
                f"server process {holder or 'unknown'}): wait for it to finish"
            )
        try:
            yield
        finally:
            try:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            except SQLAlchemyError as exc:  # closing the session below releases it anyway
                log.warning(
                    "could not unlock %s on %s (closing the connection): %s", what, where, exc
                )
    finally:
        conn.close()


@contextmanager
def daily_lock(db: sa.Engine | str, home: Path, *, what: str = "the daily job") -> Iterator[None]:
    """Hold the daily job's lock for the block, or raise AlreadyRunning (exit code 11) at once.

    Args:
        db: The store's engine or its URL (an engine made from a URL is disposed afterwards).
        home: The state folder; on SQLite (and any database but PostgreSQL) the lock is the
            file `home / "daily.lock"`.
        what: Named in the "already running" message.

    Raises:
        AlreadyRunning: Another run holds the lock, on any host sharing the PostgreSQL database.
        StoreError: PostgreSQL could not be reached.
    """
    from stocky.adapters.store.engine import make_engine

    engine = make_engine(db) if isinstance(db, str) else db
    try:
        if engine.dialect.name == "postgresql":
            with advisory_lock(engine, DAILY_LOCK_KEY, what=what):
                yield
        else:
            with exclusive_lock(home / "daily.lock", what=what):
                yield
    finally:
        if isinstance(db, str):
            engine.dispose()
