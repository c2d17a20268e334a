"""Every table stocky stores, on one MetaData (later migrations are generated from it)."""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "FINITE_COLUMNS",
    "alerts",
    "api_keys",
    "create_schema",
    "drift_checks",
    "finite_check",
    "leaderboard",
    "metadata",
    "predictions",
    "prices",
    "promotions",
]

# Stable constraint names, so migrations can refer to them on every database.
metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)

#: The float columns of `predictions` that must hold finite numbers (or NULL).
FINITE_COLUMNS = (
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


def finite_check(column: str) -> str:
    """SQL true for a finite number (and NULL), false for NaN and +-Infinity.

    One expression for both databases: PostgreSQL sorts NaN above every number, so NaN fails
    the upper bound as Infinity does; SQLite stores NaN as NULL (refused by NOT NULL columns).
    """
    return f'"{column}" BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308'


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

predictions = sa.Table(
    "predictions",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("ticker", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("target_date", sa.Date, nullable=False),
    sa.Column("prediction", sa.Float, nullable=False),
    sa.Column("lower", sa.Float, nullable=False),
    sa.Column("upper", sa.Float, nullable=False),
    sa.Column("naive", sa.Float, nullable=False),
    sa.Column("model_name", sa.String(64), nullable=False),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("arima_order", sa.String(16), nullable=False),
    sa.Column("history_len", sa.Integer, nullable=False),
    sa.Column("input_hash", sa.String(64), nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    # delayed labels, filled by the actuals ETL once the target session has closed
    sa.Column("actual", sa.Float),
    sa.Column("error", sa.Float),
    sa.Column("abs_error", sa.Float),
    sa.Column("sq_error", sa.Float),
    sa.Column("naive_error", sa.Float),
    sa.Column("actual_at", sa.DateTime(timezone=True)),
    # the client key that asked for it (api_keys.id), never the key; NULL without one
    sa.Column("api_key_id", sa.Integer),
    # the model's family and label (NULL on rows from before families: ARIMA)
    sa.Column("model_type", sa.String(32)),
    sa.Column("model_label", sa.String(64)),
    sa.Index("ix_predictions_ticker_target", "ticker", "target_date"),
    sa.Index("ix_predictions_pending", "ticker", "actual"),
    # the last line of defence: the writers refuse non-finite numbers before they get here
    *(sa.CheckConstraint(finite_check(c), name=f"{c}_finite") for c in FINITE_COLUMNS),
)
"""One row per served forecast, written before the response; actuals attached later."""

drift_checks = sa.Table(
    "drift_checks",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("ticker", sa.String(32), nullable=False),
    sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("metric", sa.String(16), nullable=False),
    sa.Column("window", sa.Integer, nullable=False),
    sa.Column("threshold_multiplier", sa.Float, nullable=False),
    sa.Column("consecutive_days", sa.Integer, nullable=False),
    sa.Column("baseline", sa.Float),
    sa.Column("baseline_source", sa.String(128), nullable=False),
    sa.Column("threshold", sa.Float),
    sa.Column("latest_value", sa.Float),
    sa.Column("naive_latest_value", sa.Float),
    sa.Column("breach_streak", sa.Integer, nullable=False),
    sa.Column("drifted", sa.Boolean, nullable=False),
    sa.Column("decision", sa.String(32), nullable=False),
    sa.Column("model_version", sa.Integer),
    sa.Column("report", sa.Text, nullable=False),
    # one check per (ticker, session): a rerun of the session replaces it (migration 0005)
    sa.Index("ux_drift_checks_ticker_as_of", "ticker", "as_of", unique=True),
)
"""One row per drift check and session: the rule, the baseline and where it came from, and
the decision."""

promotions = sa.Table(
    "promotions",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("ticker", sa.String(32), nullable=False),
    sa.Column("model_name", sa.String(64), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("from_version", sa.Integer),
    sa.Column("to_version", sa.Integer),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("as_of", sa.Date),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("triggered_by", sa.String(16), nullable=False),
    sa.Column("champion_rmse", sa.Float),
    sa.Column("challenger_rmse", sa.Float),
    sa.Column("naive_rmse", sa.Float),
    sa.Column("dm_pvalue", sa.Float),
    sa.Column("run_id", sa.String(64)),
    sa.Index("ix_promotions_ticker_decided", "ticker", "decided_at"),
)
"""Every retrain decision (promote / reject), rollback and its reason: the audit trail."""

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("ticker", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("session", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("replay", sa.Boolean, nullable=False),
    # delivery: pending -> delivered | failed (after the last attempt)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.Column("last_error", sa.Text),
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("targets_done", sa.Text, nullable=False),
    sa.UniqueConstraint("ticker", "kind", "session", name="uq_alerts_ticker_kind_session"),
    sa.Index("ix_alerts_due", "status", "next_attempt_at"),
)
"""The alert outbox: one row per (ticker, kind, session), written with its cause, then sent."""


api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False),
    # the key's public part, shown in listings and used to find the row; the secret part is
    # stored only as the SHA-256 of the whole key
    sa.Column("prefix", sa.String(32), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
)
"""Client keys of the forecast routes: hashes only; rows are revoked, never deleted."""


leaderboard = sa.Table(
    "leaderboard",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("ticker", sa.String(32), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("model_type", sa.String(32), nullable=False),
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("interval", sa.String(16), nullable=False),
    # "validation" (the window the choice was made on) or "test" (the period after it)
    sa.Column("stage", sa.String(16), nullable=False),
    sa.Column("rmse", sa.Float),
    sa.Column("naive_rmse", sa.Float),
    sa.Column("skill", sa.Float),
    sa.Column("dm_pvalue", sa.Float),
    sa.Column("interval_score", sa.Float),
    sa.Column("naive_interval_score", sa.Float),
    sa.Column("crps", sa.Float),
    sa.Column("coverage", sa.Float),
    sa.Column("direction_accuracy", sa.Float),
    sa.Column("chosen", sa.Boolean, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint(
        "ticker", "version", "model_type", "interval", "stage", name="uq_leaderboard_candidate"
    ),
)
"""Every candidate (family x interval method) of each training, on its validation window and
test period next to naive: written by `stocky train`, replaced when a version is retrained."""


def create_schema(engine: sa.Engine) -> None:
    """Bring the database to the newest schema: `alembic upgrade head` under a lock.

    Cheap when the database is already there (one query on the first call in a process, none
    after); see `stocky.adapters.store.schema.upgrade_to_head`.

    Raises:
        StoreError: The database refused, or a newer stocky migrated it.
    """
    from stocky.adapters.store.schema import upgrade_to_head

    upgrade_to_head(engine)
