"""Bring a database to the newest schema with Alembic, from code (no alembic.ini).

`upgrade_to_head(engine)` runs on every CLI command and app start, so the common case, a
database already at `HEAD_REVISION`, costs one look at `alembic_version` on the first call in
a process (about 1 ms on SQLite) and nothing after that. Alembic, a few tenths of a second to
import, is loaded only when there is work to do.

Several processes may start at once (API workers, a cron job): the upgrade runs under a lock,
`pg_advisory_xact_lock` on PostgreSQL and `BEGIN IMMEDIATE` on SQLite, and each process looks
at the revision again once it holds the lock, so exactly one of them migrates.

To add a migration, change `tables.py`, then generate the revision against a database at head
and bump `HEAD_REVISION` (a test checks it against the scripts):

    from alembic import command
    from stocky.adapters.store.schema import alembic_config
    command.revision(alembic_config("sqlite:///var/stocky.db"), message="add x",
                     autogenerate=True, rev_id="0002")
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from stocky.adapters.store.engine import SQLITE_BUSY_TIMEOUT_MS
from stocky.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = [
    "HEAD_REVISION",
    "MIGRATIONS_DIR",
    "alembic_config",
    "current_revision",
    "upgrade_to_head",
]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

HEAD_REVISION = "0007"
"""The newest revision in `migrations/versions`: bump it with every new migration."""

# Any fixed 64-bit key works; this one spells "stocky" in ASCII.
_PG_LOCK_KEY = 0x73746F636B79

#: How long a process waits for another's migration of a SQLite database (ms).
_MIGRATION_WAIT_MS = 120_000

_at_head: set[sa.URL] = set()
"""URLs of databases this process has seen at HEAD_REVISION (schemas never move backwards)."""


def alembic_config(url: str | None = None, *, connection: sa.Connection | None = None) -> Config:
    """An Alembic Config for stocky's migrations, bound to a URL or an open connection.

    Args:
        url: SQLAlchemy URL, for Alembic commands run by hand (`command.revision`, `downgrade`).
        connection: A connection for env.py to run on (it neither commits nor closes it).
    """
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(engine: sa.Engine) -> str | None:
    """The revision stamped in the database, or None when it has no `alembic_version` table.

    Raises:
        StoreError: The database does not answer.
    """
    try:
        with engine.connect() as conn:
            return _read_revision(conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"could not read the schema revision: {exc}") from exc


def upgrade_to_head(engine: sa.Engine) -> None:
    """Run `alembic upgrade head` on the engine's database unless it is there already.

    A database whose tables were made by `metadata.create_all` before migrations existed is
    adopted: the baseline revision keeps the tables it finds, creates the missing ones, and
    stamps the database.

    Raises:
        StoreError: The database refused, or it was migrated by a newer stocky.
    """
    if engine.url in _at_head:
        return
    try:
        try:
            current = current_revision(engine)
        except StoreError as exc:
            if not _sqlite_locked(exc):
                raise
            current = None  # another process is migrating SQLite: wait for its lock below
        if current != HEAD_REVISION:
            _upgrade_locked(engine)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"could not migrate the stocky tables at "
            f"{engine.url.render_as_string(hide_password=True)}: {exc}: check the database is "
            "reachable and the user may create tables"
        ) from exc
    if not _in_memory(engine.url):
        _at_head.add(engine.url)


def _read_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    revisions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(revisions) > 1:
        raise StoreError(
            f"the database is stamped with several revisions {sorted(revisions)}: "
            "stocky's migrations have a single head; repair the alembic_version table"
        )
    return revisions[0] if revisions else None


def _upgrade_locked(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # migrations that rebuild a table hold the write lock for seconds on a busy
            # machine: processes starting together wait for it longer than usual
            conn.exec_driver_sql(f"PRAGMA busy_timeout={_MIGRATION_WAIT_MS}")
        try:
            _migrate(conn)
        except BaseException:
            if sqlite:
                conn.invalidate()  # never pooled again with the long wait
            raise
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def _sqlite_locked(exc: StoreError) -> bool:
    cause = exc.__cause__
    return isinstance(cause, sa.exc.OperationalError) and "database is locked" in str(cause)


def _migrate(conn: sa.Connection) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    _lock(conn)
    current = _read_revision(conn)  # again: another process may have migrated meanwhile
    if current == HEAD_REVISION:
        return
    config = alembic_config(connection=conn)
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    if current is not None and current not in known:
        raise StoreError(
            f"the database schema is at revision {current!r}, which this stocky does not "
            f"know (its newest is {HEAD_REVISION!r}): a newer stocky migrated it; upgrade "
            "stocky, or point STOCKY_DATABASE_URL at another database"
        )
    log.info("migrating the database from revision %s to %s", current, HEAD_REVISION)
    try:
        command.upgrade(config, "head")
    except CommandError as exc:
        raise StoreError(f"the migration to revision {HEAD_REVISION} failed: {exc}") from exc
    conn.commit()


def _lock(conn: sa.Connection) -> None:
    """Hold the migration lock until the connection's transaction ends."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif dialect == "sqlite":
        # The write lock, taken now rather than at the first write; waits out busy_timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _in_memory(url: sa.URL) -> bool:
    """Each engine on an in-memory SQLite URL is a database of its own: never cache those."""
    return url.get_backend_name() == "sqlite" and (
        url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    )
