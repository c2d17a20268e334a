"""Alembic migrations of stocky's tables (run by `stocky.adapters.store.schema`)."""
