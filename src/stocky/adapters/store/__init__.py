"""The database: engine set-up, table definitions and repositories."""

from __future__ import annotations

from stocky.adapters.store.engine import make_engine
from stocky.adapters.store.prices import PriceRepository, PriceSummary
from stocky.adapters.store.tables import create_schema, metadata, prices

__all__ = [
    "PriceRepository",
    "PriceSummary",
    "create_schema",
    "make_engine",
    "metadata",
    "prices",
]
