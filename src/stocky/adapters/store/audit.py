"""Drift checks and promotion decisions: the monitoring and retraining audit trail.

Alerts raised by a drift check or a promotion are written to the outbox in the same
transaction as their row (`AlertOutbox.add` on the same connection): both commit, or neither.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from stocky.adapters.ports import (
    RETRAIN_ACTIONS,
    DriftCheck,
    DriftCheckRow,
    Promotion,
    PromotionRow,
    QueuedAlert,
)
from stocky.adapters.store.alerts import AddOutcome, AlertOutbox
from stocky.adapters.store.prediction_bulk import chunks
from stocky.adapters.store.tables import alerts, drift_checks, promotions
from stocky.errors import StoreError

__all__ = [
    "RETRAIN_ACTIONS",
    "AuditRepository",
    "DriftCheck",
    "DriftCheckRow",
    "Promotion",
    "PromotionRow",
]

log = logging.getLogger(__name__)

_CHECK_FIELDS = frozenset(f.name for f in fields(DriftCheck))
_PROMOTION_FIELDS = frozenset(f.name for f in fields(Promotion))


def _shallow(row: DriftCheckRow) -> dict[str, Any]:
    """The row's fields (the report is dumped to JSON as is: `asdict` would deep-copy it)."""
    return {f.name: getattr(row, f.name) for f in fields(row)}


def _check(row: dict[str, Any]) -> DriftCheck:
    return DriftCheck(
        **{k: v for k, v in row.items() if k in _CHECK_FIELDS}
        | {"report": json.loads(row["report"]), "drifted": bool(row["drifted"])}
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise StoreError(f"{moment!r} has no time zone: pass an aware UTC datetime")
    return moment.astimezone(dt.UTC)


class AuditRepository:
    """Insert and read drift checks and promotions, and queue the alerts they raise."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.outbox = AlertOutbox(engine)

    def add_drift_checks(
        self, checks: Sequence[tuple[DriftCheckRow, Sequence[QueuedAlert]]]
    ) -> list[int]:
        """Store many drift checks and all their alerts in ONE transaction (all or none).

        One check per (ticker, session): a rerun of a session replaces its checks (the unique
        index `ux_drift_checks_ticker_as_of` refuses a second one). The checks go in as one
        multi-row insert; each check's alerts are then queued on the
        same connection, in the order given (the outbox deduplicates per ticker and kind, so
        the outcome is the one of storing them check by check).

        Returns:
            The checks' ids, in order.

        Raises:
            StoreError: The database refused; nothing was written.
        """
        if not checks:
            return []
        values = []
        for row, _alerts in checks:
            value = _shallow(row)
            value["checked_at"] = _utc(row.checked_at)
            value["report"] = json.dumps(row.report, default=str)
            values.append(value)
        c = drift_checks.c
        tickers = [row.ticker for row, _alerts in checks]
        # RETURNING in parameter order costs one statement per row on SQLite (SQLAlchemy
        # cannot batch it there); with one check per ticker the ticker says whose id it is.
        unique = len(set(tickers)) == len(tickers)
        stmt = drift_checks.insert()
        stmt = (
            stmt.returning(c.id, c.ticker)
            if unique
            else stmt.returning(c.id, c.ticker, sort_by_parameter_order=True)
        )
        try:
            with self.engine.begin() as conn:
                self._drop_checks_of(conn, [(row.ticker, row.as_of) for row, _a in checks])
                returned = [(int(i), str(t)) for i, t in conn.execute(stmt, values).all()]
                by_ticker = {t: i for i, t in returned}
                ids = (
                    [by_ticker[t] for t in tickers if t in by_ticker]
                    if unique
                    else [i for i, _t in returned]
                )
                for row, alerts in checks:
                    self._queue(conn, alerts, row.checked_at)  # a refused alert rolls all back
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not store {len(checks)} drift checks (nothing was written): {exc}"
            ) from exc
        if len(ids) != len(checks):
            raise StoreError(f"the database returned {len(ids)} ids for {len(checks)} drift checks")
        return ids

    @staticmethod
    def _drop_checks_of(conn: sa.Connection, keys: Sequence[tuple[str, dt.date]]) -> None:
        """Delete the stored checks of these (ticker, session) pairs (a rerun replaces them)."""
        by_session: dict[dt.date, list[str]] = {}
        for ticker, session in keys:
            by_session.setdefault(session, []).append(ticker)
        c = drift_checks.c
        for session, tickers in by_session.items():
            for part in chunks(tickers):
                conn.execute(drift_checks.delete().where(c.as_of == session, c.ticker.in_(part)))

    def decided_on(self, tickers: Sequence[str], *, as_of: dt.date) -> set[str]:
        """The tickers that already have a retrain decision (promoted, rejected or logged
        only) for session `as_of`: a rerun of the session must not retrain them again."""
        c = promotions.c
        found: set[str] = set()
        for part in chunks(tickers):
            query = sa.select(c.ticker).where(
                c.ticker.in_(part),
                c.as_of == as_of,
                c.action.in_(RETRAIN_ACTIONS),
            )
            found.update(str(r["ticker"]) for r in self._select(query, "retrain decisions"))
        return found

    def add_promotion(self, row: PromotionRow, *, alerts: Sequence[QueuedAlert] = ()) -> int:
        """Store a promotion record and its alerts in one transaction; returns the record's id."""
        values = asdict(row)
        values["decided_at"] = _utc(row.decided_at)
        what = f"promotion record of {row.ticker}"
        return self._insert(promotions, values, what, alerts=alerts, now=row.decided_at)

    def add_alerts(self, alerts: Sequence[QueuedAlert], *, now: dt.datetime) -> list[AddOutcome]:
        """Queue alerts whose cause writes no row (late labels, a failed job), in one transaction."""
        try:
            with self.engine.begin() as conn:
                return self._queue(conn, alerts, now)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not queue {len(alerts)} alert(s): {exc}") from exc

    def _queue(
        self, conn: sa.Connection, alerts: Sequence[QueuedAlert], now: dt.datetime
    ) -> list[AddOutcome]:
        outcomes = []
        for queued in alerts:
            outcome = self.outbox.add(
                conn,
                queued.alert,
                now=now,
                replay=queued.replay,
                cooldown_since=queued.cooldown_since,
            )
            a = queued.alert
            log.info("alert %s %s %s: %s", a.ticker, a.kind, a.session, outcome.value)
            outcomes.append(outcome)
        return outcomes

    def latest_drift_check(self, ticker: str) -> DriftCheck | None:
        rows = self.drift_checks(ticker, limit=1)
        return rows[0] if rows else None

    def drift_checks(self, ticker: str, *, limit: int | None = None) -> list[DriftCheck]:
        """Newest first; `report` decoded from JSON."""
        query = (
            sa.select(drift_checks)
            .where(drift_checks.c.ticker == ticker)
            .order_by(drift_checks.c.as_of.desc(), drift_checks.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        return [_check(row) for row in self._select(query, f"drift checks of {ticker}")]

    def promotions(self, ticker: str, *, limit: int | None = None) -> list[Promotion]:
        """Newest first."""
        query = (
            sa.select(promotions)
            .where(promotions.c.ticker == ticker)
            .order_by(promotions.c.decided_at.desc(), promotions.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        rows = self._select(query, f"promotions of {ticker}")
        return [Promotion(**{k: v for k, v in r.items() if k in _PROMOTION_FIELDS}) for r in rows]

    def latest_checks_before(
        self, tickers: Sequence[str], *, before: dt.date
    ) -> dict[str, DriftCheck]:
        """Each ticker's newest drift check for a session before `before` (the latest session,
        then the highest id), in one query per chunk of tickers; tickers without one are left out.
        """
        c = drift_checks.c
        found: dict[str, DriftCheck] = {}
        for part in chunks(tickers):
            latest = (
                sa.select(c.ticker, sa.func.max(c.as_of).label("as_of"))
                .where(c.ticker.in_(part), c.as_of < before)
                .group_by(c.ticker)
                .subquery()
            )
            query = (
                sa.select(drift_checks)
                .join(latest, (c.ticker == latest.c.ticker) & (c.as_of == latest.c.as_of))
                .order_by(c.ticker, c.id)
            )
            for row in self._select(query, "the latest drift checks"):
                found[row["ticker"]] = _check(row)  # the highest id of the session wins
        return found

    def promotions_many(self, tickers: Sequence[str]) -> dict[str, list[Promotion]]:
        """`promotions` of many tickers (newest first each), in one query per chunk of tickers.

        Every ticker asked gets a list, empty when it has no record.
        """
        c = promotions.c
        found: dict[str, list[Promotion]] = {t: [] for t in tickers}
        for part in chunks(tickers):
            query = (
                sa.select(promotions)
                .where(c.ticker.in_(part))
                .order_by(c.ticker, c.decided_at.desc(), c.id.desc())
            )
            for r in self._select(query, "promotions"):
                found[r["ticker"]].append(
                    Promotion(**{k: v for k, v in r.items() if k in _PROMOTION_FIELDS})
                )
        return found

    def alert_counts(self, ticker: str) -> dict[str, int]:
        """Alerts queued for `ticker`, counted by kind."""
        query = (
            sa.select(alerts.c.kind, sa.func.count().label("n"))
            .where(alerts.c.ticker == ticker)
            .group_by(alerts.c.kind)
        )
        return {r["kind"]: int(r["n"]) for r in self._select(query, f"{ticker}'s alert counts")}

    def alert_sessions(self, ticker: str) -> list[tuple[dt.date, str]]:
        """(session, kind) of the alerts queued for `ticker`, by session, then in id order."""
        query = (
            sa.select(alerts.c.session, alerts.c.kind)
            .where(alerts.c.ticker == ticker)
            .order_by(alerts.c.session, alerts.c.id)
        )
        return [(r["session"], r["kind"]) for r in self._select(query, f"{ticker}'s alerts")]

    def last_promotion_id(self) -> int:
        """The id of the newest promotion record (0 when there is none): a change-log mark."""
        query = sa.select(sa.func.coalesce(sa.func.max(promotions.c.id), 0).label("id"))
        return int(self._select(query, "the newest promotion id")[0]["id"])

    def promotions_after(self, after_id: int) -> list[Promotion]:
        """Records with an id above `after_id`, oldest first: what changed since a mark.

        Serving polls this (one indexed query) instead of asking the registry about every ticker.
        """
        query = sa.select(promotions).where(promotions.c.id > after_id).order_by(promotions.c.id)
        rows = self._select(query, "promotions since the last poll")
        return [Promotion(**{k: v for k, v in r.items() if k in _PROMOTION_FIELDS}) for r in rows]

    def _insert(
        self,
        table: sa.Table,
        values: dict[str, Any],
        what: str,
        *,
        alerts: Sequence[QueuedAlert] = (),
        now: dt.datetime,
    ) -> int:
        try:
            with self.engine.begin() as conn:
                key = conn.execute(table.insert().values(**values)).inserted_primary_key
                self._queue(conn, alerts, now)  # a refused alert rolls the row back too
        except SQLAlchemyError as exc:
            raise StoreError(f"could not store the {what}: {exc}") from exc
        if key is None:
            raise StoreError(f"the database returned no id for the {what}")
        return int(key[0])

    def _select(self, query: sa.Select[Any], what: str) -> list[dict[str, Any]]:
        try:
            with self.engine.connect() as conn:
                return [dict(r) for r in conn.execute(query).mappings()]
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read {what}: {exc}") from exc
