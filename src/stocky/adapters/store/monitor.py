"""Every ticker's monitoring state in ONE set-based query (what `/metrics` exports).

Per ticker: the latest drift check (GROUP BY ticker, max(id)), and from the recent prediction
log the newest forecast logged, the newest label attached, the oldest prediction still waiting
for its label, and the 95% interval coverage over the drift window (the last prediction per
target session, windows of other tickers left out as in `PredictionRepository.labeled`).

A ticker appears once it has a drift check (the daily job checks every ticker it runs). Only
predictions whose target session is on or after `since` are read, through the (ticker,
target_date) index, so the cost follows the number of tickers and the look-back, not the size
of the whole log.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from stocky.adapters.store.fleet import usable_conditions
from stocky.adapters.store.predictions import WINDOW_TOLERANCE
from stocky.adapters.store.tables import drift_checks, predictions, prices
from stocky.errors import StoreError

__all__ = ["TickerMonitor", "monitor_snapshot", "snapshot_query"]


@dataclass(frozen=True)
class TickerMonitor:
    """One ticker's latest drift check and label / log timings (None: nothing recorded)."""

    ticker: str
    checked_at: dt.datetime | None = None
    as_of: dt.date | None = None
    metric: str | None = None
    latest_value: float | None = None
    naive_latest_value: float | None = None
    threshold: float | None = None
    breach_streak: int | None = None
    drifted: bool = False
    decision: str | None = None
    volatility_changed: bool = False
    coverage: float | None = None
    coverage_sessions: int = 0
    last_logged_at: dt.datetime | None = None
    last_target: dt.date | None = None
    last_labeled_at: dt.datetime | None = None
    oldest_pending_target: dt.date | None = None


def snapshot_query(since: dt.date) -> sa.Select[Any]:
    """The one SELECT behind `monitor_snapshot` (exposed so tests can EXPLAIN or count it)."""
    d, p = drift_checks.c, predictions.c
    latest_id = (
        sa.select(d.ticker, sa.func.max(d.id).label("id")).group_by(d.ticker).cte("latest_id")
    )
    checks = (
        sa.select(drift_checks)
        .join(latest_id, d.id == latest_id.c.id)
        .cte("checks")  # one row per ticker: its latest check
    )
    # the tickers the daily job checks; their recent predictions are then read by
    # (ticker, target_date) index ranges instead of a scan of the whole log
    tickers = sa.select(latest_id.c.ticker).cte("tickers")
    t = tickers.c
    own = sa.or_(
        prices.c.close.is_(None),
        sa.func.abs(p.naive - prices.c.close) <= WINDOW_TOLERANCE * prices.c.close,
    )
    recent = (
        sa.select(
            p.id,
            p.ticker,
            p.target_date,
            p.created_at,
            p.actual,
            p.actual_at,
            p.lower,
            p.upper,
            sa.case((own, 1), else_=0).label("own"),
            # as `labeled` and the fleet view: legacy rows holding non-finite numbers never count
            sa.case((sa.and_(*usable_conditions(p)), 1), else_=0).label("usable"),
        )
        .select_from(
            tickers.join(
                predictions, sa.and_(p.ticker == t.ticker, p.target_date >= since)
            ).outerjoin(prices, sa.and_(prices.c.ticker == p.ticker, prices.c.date == p.as_of))
        )
        .cte("recent")
    )
    r = recent.c
    log_stats = (
        sa.select(
            r.ticker,
            sa.func.max(r.created_at).label("last_logged_at"),
            sa.func.max(r.target_date).label("last_target"),
            sa.func.max(r.actual_at).label("last_labeled_at"),
            sa.func.min(sa.case((r.actual.is_(None), r.target_date))).label(
                "oldest_pending_target"
            ),
        )
        .group_by(r.ticker)
        .cte("log_stats")
    )
    # the last labeled prediction of each target session, then sessions newest first
    last_per_session = (
        sa.select(
            r.ticker,
            r.target_date,
            sa.case((sa.and_(r.actual >= r.lower, r.actual <= r.upper), 1.0), else_=0.0).label(
                "inside"
            ),
            sa.func.row_number()
            .over(
                partition_by=(r.ticker, r.target_date),
                order_by=(r.created_at.desc(), r.id.desc()),
            )
            .label("nth"),
        )
        .where(r.actual.is_not(None), r.own == 1, r.usable == 1)
        .cte("last_per_session")
    )
    s = last_per_session.c
    ranked = (
        sa.select(
            s.ticker,
            s.inside,
            sa.func.row_number()
            .over(partition_by=s.ticker, order_by=s.target_date.desc())
            .label("age"),
        )
        .where(s.nth == 1)
        .cte("ranked")
    )
    coverage = (
        sa.select(
            ranked.c.ticker,
            sa.func.avg(ranked.c.inside).label("coverage"),
            sa.func.count().label("coverage_sessions"),
        )
        .join(checks, checks.c.ticker == ranked.c.ticker)
        .where(ranked.c.age <= checks.c.window)
        .group_by(ranked.c.ticker)
        .cte("coverage")
    )
    return (
        sa.select(
            t.ticker,
            checks.c.checked_at,
            checks.c.as_of,
            checks.c.metric,
            checks.c.latest_value,
            checks.c.naive_latest_value,
            checks.c.threshold,
            checks.c.breach_streak,
            checks.c.drifted,
            checks.c.decision,
            checks.c.report,
            coverage.c.coverage,
            coverage.c.coverage_sessions,
            log_stats.c.last_logged_at,
            log_stats.c.last_target,
            log_stats.c.last_labeled_at,
            log_stats.c.oldest_pending_target,
        )
        .select_from(
            tickers.outerjoin(checks, checks.c.ticker == t.ticker)
            .outerjoin(log_stats, log_stats.c.ticker == t.ticker)
            .outerjoin(coverage, coverage.c.ticker == t.ticker)
        )
        .order_by(t.ticker)
    )


def _volatility_changed(report_text: str | None) -> bool:
    """The volatility-regime flag of a check's report, False when the check does not record it."""
    if not report_text:
        return False
    report = json.loads(report_text)
    flag = report.get("volatility_changed")
    if flag is None:
        flag = (report.get("extra") or {}).get("volatility_changed")
    return bool(flag)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; every time stocky stores is UTC
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def _row(m: Any) -> TickerMonitor:
    return TickerMonitor(
        ticker=m["ticker"],
        checked_at=_utc(m["checked_at"]),
        as_of=m["as_of"],
        metric=m["metric"],
        latest_value=m["latest_value"],
        naive_latest_value=m["naive_latest_value"],
        threshold=m["threshold"],
        breach_streak=m["breach_streak"],
        drifted=bool(m["drifted"]),
        decision=m["decision"],
        volatility_changed=_volatility_changed(m["report"]),
        coverage=None if m["coverage"] is None else float(m["coverage"]),
        coverage_sessions=int(m["coverage_sessions"] or 0),
        last_logged_at=_utc(m["last_logged_at"]),
        last_target=m["last_target"],
        last_labeled_at=_utc(m["last_labeled_at"]),
        oldest_pending_target=m["oldest_pending_target"],
    )


def monitor_snapshot(engine: sa.Engine, *, since: dt.date) -> list[TickerMonitor]:
    """Every ticker with a drift check, by ticker, with its predictions targeting `since` or later.

    Args:
        engine: The store's engine.
        since: Oldest target session of the prediction log to read (the look-back).

    Returns:
        One TickerMonitor per ticker, from one SQL statement.

    Raises:
        StoreError: The database refused the query.
    """
    try:
        with engine.connect() as conn:
            rows = conn.execute(snapshot_query(since)).mappings().all()
    except SQLAlchemyError as exc:
        raise StoreError(
            f"could not read the monitoring snapshot: {exc}: check STOCKY_DATABASE_URL"
        ) from exc
    return [_row(m) for m in rows]
