"""CHECK constraints: the numbers of a logged prediction are finite.

A row holding Infinity (or NaN, on PostgreSQL) is refused by the database from now on. Rows
written before this revision are kept as they are (PostgreSQL: the constraints are then NOT VALID;
SQLite: CHECKs are not enforced while the table is rebuilt) and counted in the log; the readers
(monitoring, drift, the report, actuals) skip and count them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)

COLUMNS = (
    "prediction",
    "lower",
    "upper",
    "naive",
    "actual",
    "error",
    "abs_error",
    "sq_error",
    "naive_error",
)


def _name(column: str) -> str:
    return f"ck_predictions_{column}_finite"


def _finite(column: str) -> str:
    # NaN sorts above every number on PostgreSQL; SQLite stores NaN as NULL
    return f'"{column}" BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308'


def upgrade() -> None:
    bind = op.get_bind()
    existing = {c["name"] for c in sa.inspect(bind).get_check_constraints("predictions")}
    missing = [c for c in COLUMNS if _name(c) not in existing]
    if not missing:
        return
    not_finite = " OR ".join(f"NOT ({_finite(c)})" for c in COLUMNS)
    legacy = bind.execute(sa.text(f"SELECT count(*) FROM predictions WHERE {not_finite}"))
    count = int(legacy.scalar_one())
    if count:
        log.warning(
            "%d logged predictions hold a number that is not finite: kept, and skipped by "
            "monitoring, drift, the report and actuals",
            count,
        )
    if bind.dialect.name == "sqlite":
        # SQLite adds a CHECK by rebuilding the table; the copy must keep the legacy rows
        bind.exec_driver_sql("PRAGMA ignore_check_constraints=ON")
        try:
            with op.batch_alter_table("predictions", recreate="always") as batch:
                for column in missing:
                    batch.create_check_constraint(op.f(_name(column)), _finite(column))
        finally:
            bind.exec_driver_sql("PRAGMA ignore_check_constraints=OFF")
        return
    for column in missing:
        # NOT VALID only when it must keep legacy rows: PostgreSQL then skips checking them
        op.create_check_constraint(
            op.f(_name(column)), "predictions", _finite(column), postgresql_not_valid=count > 0
        )


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        for column in COLUMNS:
            batch.drop_constraint(op.f(_name(column)), type_="check")
