"""Client API keys (`api_keys`) and the key each prediction was asked with (`api_key_id`).

`api_keys` holds the SHA-256 of each key, never the key. `predictions.api_key_id` is a
nullable column added in place (no table rebuild on SQLite); rows logged before it, and
requests without a key, keep NULL. A database made by `metadata.create_all` may already have
either: what exists is kept.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    if "api_keys" not in inspector.get_table_names():
        op.create_table(
            "api_keys",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("name", sa.String(length=100), nullable=False),
            sa.Column("prefix", sa.String(length=32), nullable=False),
            sa.Column("hash", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
            sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
        )
    columns = {c["name"] for c in inspector.get_columns("predictions")}
    if "api_key_id" not in columns:
        op.add_column("predictions", sa.Column("api_key_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+): a batch rebuild would lose 0003's CHECKs there
    op.drop_column("predictions", "api_key_id")
    op.drop_table("api_keys")
