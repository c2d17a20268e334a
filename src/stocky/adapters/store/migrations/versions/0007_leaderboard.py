"""The leaderboard: every candidate of each training with its validation and test metrics.

One new table (`leaderboard`); a database made by `metadata.create_all` may already have it:
what exists is kept. The unique constraint (ticker, version, model_type, interval, stage) is
what makes a rerun of a training replace its rows, and it leads with (ticker, version), the
look-up of a ticker's newest rows.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if "leaderboard" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "leaderboard",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("ticker", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("model_type", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("interval", sa.String(length=16), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("rmse", sa.Float(), nullable=True),
        sa.Column("naive_rmse", sa.Float(), nullable=True),
        sa.Column("skill", sa.Float(), nullable=True),
        sa.Column("dm_pvalue", sa.Float(), nullable=True),
        sa.Column("interval_score", sa.Float(), nullable=True),
        sa.Column("naive_interval_score", sa.Float(), nullable=True),
        sa.Column("crps", sa.Float(), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("direction_accuracy", sa.Float(), nullable=True),
        sa.Column("chosen", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaderboard")),
        sa.UniqueConstraint(
            "ticker", "version", "model_type", "interval", "stage", name="uq_leaderboard_candidate"
        ),
    )


def downgrade() -> None:
    op.drop_table("leaderboard")
