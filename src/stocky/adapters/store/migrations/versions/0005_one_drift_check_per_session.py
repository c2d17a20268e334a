"""One drift check per (ticker, session): `ux_drift_checks_ticker_as_of` replaces the plain index.

A rerun of a session (after a kill, or by hand) used to add a second check of every ticker.
Duplicates already stored are removed first, keeping the newest (highest id) of each pair,
which is the one the readers already used.

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-15
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    names = {index["name"] for index in inspector.get_indexes("drift_checks")}
    if "ux_drift_checks_ticker_as_of" in names:  # made by metadata.create_all
        return
    op.execute(
        "DELETE FROM drift_checks WHERE id NOT IN "
        "(SELECT keep FROM (SELECT MAX(id) AS keep FROM drift_checks "
        "GROUP BY ticker, as_of) AS newest)"
    )
    if "ix_drift_checks_ticker_as_of" in names:
        op.drop_index("ix_drift_checks_ticker_as_of", table_name="drift_checks")
    op.create_index(
        "ux_drift_checks_ticker_as_of", "drift_checks", ["ticker", "as_of"], unique=True
    )


def downgrade() -> None:
    op.drop_index("ux_drift_checks_ticker_as_of", table_name="drift_checks")
    op.create_index("ix_drift_checks_ticker_as_of", "drift_checks", ["ticker", "as_of"])
