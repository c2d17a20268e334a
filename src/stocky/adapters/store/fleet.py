"""What the fleet overview needs about every ticker, in five set-based statements.

One statement each, whatever the number of tickers:

1. the prediction log per ticker: pending labels, the oldest pending target, the newest
   labeled target (GROUP BY ticker);
2. the latest drift check per ticker (max id per ticker) with the report's `volatility_changed`
   and `model_degraded` flags read by the database's JSON functions, not by parsing every
   report (a report holds the whole rolling series);
3. the latest retrain decision and the latest promotion or rollback per ticker;
4. the latest stored close per ticker (one index look-up per ticker);
5. the rows behind realized accuracy (scored in Python by `window_accuracy`) over each
   ticker's last `window` labeled target sessions, counted like
   `PredictionRepository.labeled` (the last prediction per session, windows of another
   ticker and legacy rows holding non-finite numbers left out), read only from predictions targeting the recent `lookback_days` before
   the newest labeled session of the fleet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy import RowMapping
from sqlalchemy.exc import SQLAlchemyError

from stocky.adapters.store.predictions import SCORABLE_ERROR, WINDOW_TOLERANCE
from stocky.adapters.store.tables import drift_checks, predictions, prices, promotions
from stocky.core.fleet import TickerFacts
from stocky.core.fleet_summary import CheckOutcome
from stocky.core.scores import distribution_scores
from stocky.errors import StoreError

__all__ = ["RETRAIN_ACTIONS", "FleetRepository", "usable_conditions", "window_accuracy"]

#: Promotion rows that record a retrain (a rollback moves the alias without one).
RETRAIN_ACTIONS = ("promote", "reject", "failed")
#: Rows that change the champion.
CHAMPION_MOVES = ("promote", "rollback")


def _day(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _report_flag(key: str, dialect: str) -> sa.ColumnElement[Any]:
    """The report's top-level `key` (or `extra.key`) as a boolean; NULL when absent.

    The report is a TEXT column: PostgreSQL's JSON operators need it cast to json, while
    SQLite's json_extract reads the text as it is (a CAST to JSON there means NUMERIC).
    """
    column = drift_checks.c.report
    doc = sa.cast(column, sa.JSON) if dialect == "postgresql" else sa.type_coerce(column, sa.JSON)
    return sa.func.coalesce(doc[key].as_boolean(), doc[("extra", key)].as_boolean())


def usable_conditions(p: Any) -> list[sa.ColumnElement[bool]]:
    """Rows `PredictionRepository.labeled` can use: finite numbers, errors it can square.

    BETWEEN the largest floats is false for NULL (SQLite's NaN), NaN (PostgreSQL sorts it
    above every number) and both infinities.
    """
    top = 1.7976931348623157e308
    finite = [p[c].between(-top, top) for c in ("prediction", "lower", "upper", "naive", "actual")]
    return [
        *finite,
        sa.func.abs(p.error) <= SCORABLE_ERROR,
        sa.func.abs(p.naive_error) <= SCORABLE_ERROR,
    ]


def window_accuracy(rows: Sequence[RowMapping]) -> dict[str, dict[str, Any]]:
    """Each ticker's accuracy over its window's rows: mean squared errors, coverage and the
    distribution scores (`stocky.core.scores`), as TickerFacts fields."""
    by_ticker: dict[str, list[tuple[float, ...]]] = {}
    for m in rows:
        by_ticker.setdefault(m["ticker"], []).append(
            (m["actual"], m["prediction"], m["naive"], m["lower"], m["upper"])
        )
    out: dict[str, dict[str, Any]] = {}
    for ticker, values in by_ticker.items():
        a, p, nv, lo, hi = np.asarray(values, dtype=np.float64).T
        d = distribution_scores(a, p, nv, lo, hi)
        out[ticker] = {
            "sessions": len(values),
            "mse": float(np.mean((a - p) ** 2)),
            "naive_mse": float(np.mean((a - nv) ** 2)),
            "coverage": d.coverage,
            "interval_score": d.interval_score,
            "naive_interval_score": d.naive_interval_score,
            "crps": d.crps,
            "naive_crps": d.naive_crps,
            "direction_accuracy": d.direction_accuracy,
            "direction_sessions": d.direction_sessions,
            "direction_pvalue": d.direction_pvalue,
        }
    return out


class FleetRepository:
    """Read every ticker's monitoring facts for the overview."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # --- the statements (exposed so tests can count or EXPLAIN them) ----------------------

    @staticmethod
    def labels_query() -> sa.Select[Any]:
        p = predictions.c
        return sa.select(
            p.ticker,
            sa.func.sum(sa.case((p.actual.is_(None), 1), else_=0)).label("pending"),
            sa.func.min(sa.case((p.actual.is_(None), p.target_date))).label("oldest_pending"),
            sa.func.max(sa.case((p.actual.is_not(None), p.target_date))).label("last_labeled"),
        ).group_by(p.ticker)

    @staticmethod
    def drift_query(dialect: str = "sqlite") -> sa.Select[Any]:
        d = drift_checks.c
        latest = sa.select(sa.func.max(d.id).label("id")).group_by(d.ticker).subquery("latest")
        return sa.select(
            d.ticker,
            d.as_of,
            d.decision,
            d.drifted,
            d.breach_streak,
            _report_flag("volatility_changed", dialect).label("volatility_changed"),
            _report_flag("model_degraded", dialect).label("model_degraded"),
        ).join(latest, latest.c.id == d.id)

    @staticmethod
    def promotions_query() -> sa.Select[Any]:
        r = promotions.c

        def latest(actions: tuple[str, ...], name: str) -> sa.Subquery:
            return (
                sa.select(r.ticker, sa.func.max(r.id).label("id"))
                .where(r.action.in_(actions))
                .group_by(r.ticker)
                .subquery(name)
            )

        retrain, moved = latest(RETRAIN_ACTIONS, "retrain"), latest(CHAMPION_MOVES, "moved")
        a, b = promotions.alias("a"), promotions.alias("b")
        tickers = sa.union(sa.select(retrain.c.ticker), sa.select(moved.c.ticker)).subquery(
            "tickers"
        )
        return (
            sa.select(
                tickers.c.ticker,
                sa.func.coalesce(a.c.as_of, a.c.decided_at).label("last_retrain"),
                a.c.action.label("last_retrain_action"),
                sa.func.coalesce(b.c.as_of, b.c.decided_at).label("last_promotion"),
            )
            .select_from(tickers)
            .outerjoin(retrain, retrain.c.ticker == tickers.c.ticker)
            .outerjoin(a, a.c.id == retrain.c.id)
            .outerjoin(moved, moved.c.ticker == tickers.c.ticker)
            .outerjoin(b, b.c.id == moved.c.id)
        )

    @staticmethod
    def prices_query(extra: Iterable[str] = ()) -> sa.Select[Any]:
        # the fleet's tickers, then one index look-up per ticker for its newest close (a
        # GROUP BY over the price table reads every stored session of every ticker)
        parts = [
            sa.select(predictions.c.ticker).distinct(),
            sa.select(drift_checks.c.ticker).distinct(),
        ]
        names = sorted(set(extra))
        if names:
            parts.append(sa.select(prices.c.ticker).where(prices.c.ticker.in_(names)).distinct())
        tickers = sa.union(*parts).subquery("fleet")
        newest = (
            sa.select(sa.func.max(prices.c.date))
            .where(prices.c.ticker == tickers.c.ticker)
            .scalar_subquery()
        )
        return sa.select(tickers.c.ticker, newest.label("last_price"))

    @staticmethod
    def realized_query(since: dt.date, window: int) -> sa.Select[Any]:
        p = predictions.c
        tickers = sa.select(p.ticker).distinct().subquery("tickers")
        own = sa.or_(
            prices.c.close.is_(None),
            sa.func.abs(p.naive - prices.c.close) <= WINDOW_TOLERANCE * prices.c.close,
        )
        labeled = (
            sa.select(
                p.ticker,
                p.target_date,
                p.actual,
                p.prediction,
                p.naive,
                p.lower,
                p.upper,
                sa.func.row_number()
                .over(
                    partition_by=(p.ticker, p.target_date),
                    order_by=(p.created_at.desc(), p.id.desc()),
                )
                .label("nth"),
            )
            # from each ticker's (ticker, target_date) index range, not a scan of the log
            .select_from(
                tickers.join(
                    predictions, sa.and_(p.ticker == tickers.c.ticker, p.target_date >= since)
                ).outerjoin(prices, sa.and_(prices.c.ticker == p.ticker, prices.c.date == p.as_of))
            )
            .where(p.actual.is_not(None), own, *usable_conditions(p))
            .subquery("labeled")
        )
        s = labeled.c
        ranked = (
            sa.select(
                s.ticker,
                s.actual,
                s.prediction,
                s.naive,
                s.lower,
                s.upper,
                sa.func.row_number()
                .over(partition_by=s.ticker, order_by=s.target_date.desc())
                .label("age"),
            )
            .where(s.nth == 1)
            .subquery("ranked")
        )
        k = ranked.c
        # the window's rows, not their averages: the CRPS needs the normal CDF, which neither
        # SQLite nor PostgreSQL offers, and every score is then computed by one function
        return sa.select(k.ticker, k.actual, k.prediction, k.naive, k.lower, k.upper).where(
            k.age <= window
        )

    @staticmethod
    def history_query(sessions: int, dialect: str = "sqlite") -> sa.Select[Any]:
        d = drift_checks.c
        recent = (
            sa.select(d.as_of)
            .distinct()
            .order_by(d.as_of.desc())
            .limit(sessions)
            .subquery("recent")
        )
        return (
            sa.select(
                d.ticker,
                d.as_of,
                d.decision,
                d.drifted,
                _report_flag("volatility_changed", dialect).label("volatility_changed"),
                _report_flag("model_degraded", dialect).label("model_degraded"),
            )
            .where(d.as_of >= sa.select(sa.func.min(recent.c.as_of)).scalar_subquery())
            .order_by(d.id)
        )

    # --- reading -------------------------------------------------------------------------

    def check_history(self, *, sessions: int) -> list[CheckOutcome]:
        """Every drift check of the latest `sessions` checked sessions, oldest first.

        Raises:
            StoreError: The database refused the query.
        """
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(self.history_query(sessions, conn.dialect.name)).mappings()
                return [
                    CheckOutcome(
                        ticker=m["ticker"],
                        as_of=_day(m["as_of"]) or dt.date.min,
                        decision=m["decision"],
                        drifted=bool(m["drifted"]),
                        volatility_changed=_flag(m["volatility_changed"]),
                        model_degraded=_flag(m["model_degraded"]),
                    )
                    for m in rows
                ]
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not read the drift-check history: {exc}: check STOCKY_DATABASE_URL"
            ) from exc

    def facts(
        self, *, window: int, lookback_days: int, extra: Iterable[str] = ()
    ) -> list[TickerFacts]:
        """Every ticker with a prediction or a drift check (and those in `extra`), by ticker.

        Args:
            window: Labeled target sessions behind each ticker's accuracy (the newest ones).
            lookback_days: Calendar days before the fleet's newest labeled session that
                bound the predictions read for accuracy.
            extra: Tickers to include even without predictions or checks (e.g. champions).

        Returns:
            One TickerFacts per ticker, sorted by ticker.

        Raises:
            StoreError: The database refused a query.
        """
        extra = list(extra)
        try:
            with self.engine.connect() as conn:
                labels = conn.execute(self.labels_query()).mappings().all()
                checks = conn.execute(self.drift_query(conn.dialect.name)).mappings().all()
                moves = conn.execute(self.promotions_query()).mappings().all()
                closes = conn.execute(self.prices_query(extra)).mappings().all()
                labeled = [d for m in labels if (d := _day(m["last_labeled"])) is not None]
                newest = max(labeled, default=None)
                realized: Sequence[RowMapping] = ()
                if newest is not None:
                    since = newest - dt.timedelta(days=lookback_days)
                    realized = conn.execute(self.realized_query(since, window)).mappings().all()
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not read the fleet overview: {exc}: check STOCKY_DATABASE_URL"
            ) from exc
        values: dict[str, dict[str, Any]] = {t: {} for t in extra}
        for m in labels:
            values.setdefault(m["ticker"], {}).update(
                pending=int(m["pending"] or 0), oldest_pending=_day(m["oldest_pending"])
            )
        for m in checks:
            values.setdefault(m["ticker"], {}).update(
                checked_as_of=_day(m["as_of"]),
                decision=m["decision"],
                drifted=bool(m["drifted"]),
                breach_streak=m["breach_streak"],
                volatility_changed=_flag(m["volatility_changed"]),
                model_degraded=_flag(m["model_degraded"]),
            )
        for m in moves:
            if m["ticker"] in values:
                values[m["ticker"]].update(
                    last_retrain=_day(m["last_retrain"]),
                    last_retrain_action=m["last_retrain_action"],
                    last_promotion=_day(m["last_promotion"]),
                )
        for m in closes:
            if m["ticker"] in values:
                values[m["ticker"]]["last_price"] = _day(m["last_price"])
        for ticker, accuracy in window_accuracy(realized).items():
            if ticker in values:
                values[ticker].update(accuracy)
        return [TickerFacts(ticker=t, **values[t]) for t in sorted(values)]
