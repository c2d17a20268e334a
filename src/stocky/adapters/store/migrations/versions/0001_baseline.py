"""Baseline: prices, predictions, drift_checks, promotions.

A database made by `metadata.create_all` before migrations existed already has some or all of
these tables: they are kept as they are and only the missing ones are created, so such a
database ends up stamped at this revision with its rows intact.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)

TABLES = ("prices", "predictions", "drift_checks", "promotions")


def _id() -> sa.Column[int]:
    # BIGINT on PostgreSQL; INTEGER on SQLite, where only that type aliases the rowid.
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name in sorted(existing.intersection(TABLES)):
        log.info("table %s exists (made before migrations): kept as it is", name)

    if "prices" not in existing:
        op.create_table(
            "prices",
            sa.Column("ticker", sa.String(length=32), nullable=False),
            sa.Column("date", sa.Date(), nullable=False),
            sa.Column("open", sa.Float(), nullable=True),
            sa.Column("high", sa.Float(), nullable=True),
            sa.Column("low", sa.Float(), nullable=True),
            sa.Column("close", sa.Float(), nullable=False),
            sa.Column("volume", sa.BigInteger(), nullable=True),
            sa.Column("source", sa.String(length=16), nullable=False),
            sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("ticker", "date", name=op.f("pk_prices")),
        )

    if "predictions" not in existing:
        op.create_table(
            "predictions",
            _id(),
            sa.Column("ticker", sa.String(length=32), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("as_of", sa.Date(), nullable=False),
            sa.Column("target_date", sa.Date(), nullable=False),
            sa.Column("prediction", sa.Float(), nullable=False),
            sa.Column("lower", sa.Float(), nullable=False),
            sa.Column("upper", sa.Float(), nullable=False),
            sa.Column("naive", sa.Float(), nullable=False),
            sa.Column("model_name", sa.String(length=64), nullable=False),
            sa.Column("model_version", sa.Integer(), nullable=False),
            sa.Column("arima_order", sa.String(length=16), nullable=False),
            sa.Column("history_len", sa.Integer(), nullable=False),
            sa.Column("input_hash", sa.String(length=64), nullable=False),
            sa.Column("request_id", sa.String(length=64), nullable=False),
            sa.Column("source", sa.String(length=16), nullable=False),
            sa.Column("actual", sa.Float(), nullable=True),
            sa.Column("error", sa.Float(), nullable=True),
            sa.Column("abs_error", sa.Float(), nullable=True),
            sa.Column("sq_error", sa.Float(), nullable=True),
            sa.Column("naive_error", sa.Float(), nullable=True),
            sa.Column("actual_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_predictions")),
        )
        op.create_index("ix_predictions_ticker_target", "predictions", ["ticker", "target_date"])
        op.create_index("ix_predictions_pending", "predictions", ["ticker", "actual"])

    if "drift_checks" not in existing:
        op.create_table(
            "drift_checks",
            _id(),
            sa.Column("ticker", sa.String(length=32), nullable=False),
            sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("as_of", sa.Date(), nullable=False),
            sa.Column("metric", sa.String(length=16), nullable=False),
            sa.Column("window", sa.Integer(), nullable=False),
            sa.Column("threshold_multiplier", sa.Float(), nullable=False),
            sa.Column("consecutive_days", sa.Integer(), nullable=False),
            sa.Column("baseline", sa.Float(), nullable=True),
            sa.Column("baseline_source", sa.String(length=128), nullable=False),
            sa.Column("threshold", sa.Float(), nullable=True),
            sa.Column("latest_value", sa.Float(), nullable=True),
            sa.Column("naive_latest_value", sa.Float(), nullable=True),
            sa.Column("breach_streak", sa.Integer(), nullable=False),
            sa.Column("drifted", sa.Boolean(), nullable=False),
            sa.Column("decision", sa.String(length=32), nullable=False),
            sa.Column("model_version", sa.Integer(), nullable=True),
            sa.Column("report", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_checks")),
        )
        op.create_index("ix_drift_checks_ticker_as_of", "drift_checks", ["ticker", "as_of"])

    if "promotions" not in existing:
        op.create_table(
            "promotions",
            _id(),
            sa.Column("ticker", sa.String(length=32), nullable=False),
            sa.Column("model_name", sa.String(length=64), nullable=False),
            sa.Column("action", sa.String(length=16), nullable=False),
            sa.Column("from_version", sa.Integer(), nullable=True),
            sa.Column("to_version", sa.Integer(), nullable=True),
            sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("as_of", sa.Date(), nullable=True),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("triggered_by", sa.String(length=16), nullable=False),
            sa.Column("champion_rmse", sa.Float(), nullable=True),
            sa.Column("challenger_rmse", sa.Float(), nullable=True),
            sa.Column("naive_rmse", sa.Float(), nullable=True),
            sa.Column("dm_pvalue", sa.Float(), nullable=True),
            sa.Column("run_id", sa.String(length=64), nullable=True),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_promotions")),
        )
        op.create_index("ix_promotions_ticker_decided", "promotions", ["ticker", "decided_at"])


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)  # drops the table's indexes with it
