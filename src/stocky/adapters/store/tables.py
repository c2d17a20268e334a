"""Every table stocky stores, on one MetaData (later migrations are generated from it)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from stocky.errors import StoreError

__all__ = ["create_schema", "metadata", "prices"]

# Stable constraint names, so migrations can refer to them on every database.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

prices = sa.Table(
    "prices",
    metadata,
    sa.Column("ticker", sa.String(32), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("open", sa.Float),
    sa.Column("high", sa.Float),
    sa.Column("low", sa.Float),
    sa.Column("close", sa.Float, nullable=False),
    sa.Column("volume", sa.BigInteger, nullable=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
)
"""One row per (ticker, session): raw daily prices and where/when they came from."""


def create_schema(engine: sa.Engine) -> None:
    """Create every missing table (Alembic migrations will take over later).

    Raises:
        StoreError: The database refused.
    """
    try:
        metadata.create_all(engine)
    except SQLAlchemyError as exc:
        raise StoreError(
            f"could not create the stocky tables: {exc}: check the database is reachable "
            "and the user may create tables"
        ) from exc
