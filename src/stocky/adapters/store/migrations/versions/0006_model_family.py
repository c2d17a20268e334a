"""The family and label of the model behind each prediction (`model_type`, `model_label`).

Two nullable columns added in place (no table rebuild on SQLite, so 0003's CHECKs stay). Rows
logged before model families were all ARIMA: they keep NULL, which readers show as the ARIMA
family (`LEGACY_MODEL_TYPE`) with the row's `arima_order`. `arima_order` stays NOT NULL: rows
of other families hold "-" there (the API answers null).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("predictions")}
    if "model_type" not in columns:
        op.add_column("predictions", sa.Column("model_type", sa.String(length=32), nullable=True))
    if "model_label" not in columns:
        op.add_column("predictions", sa.Column("model_label", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("predictions", "model_label")
    op.drop_column("predictions", "model_type")
