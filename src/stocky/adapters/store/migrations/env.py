"""Alembic environment for stocky's tables, run by `stocky.adapters.store.schema`.

Online only. `upgrade_to_head` hands over a connection that already holds the migration lock
and commits it afterwards; commands run by hand (`alembic_config(url)`) get an engine here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from alembic.util import CommandError

from stocky.adapters.store.engine import make_engine
from stocky.adapters.store.tables import metadata


def _run(connection: sa.Connection) -> None:
    # Batch operations, so every ALTER a later migration renders also works on SQLite.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    if context.is_offline_mode():
        raise CommandError("stocky's migrations run online only: give alembic_config a URL")
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise CommandError("no database to migrate: build the config with alembic_config(url)")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


main()
