"""The alert outbox: alerts written in the same transaction as their cause, then delivered.

`AlertOutbox.add(conn, alert, ...)` takes the caller's open connection, so an alert and the
row that caused it (a drift check, a promotion) commit or roll back together; `raise_alert`
opens a transaction of its own. An insert that repeats a (ticker, kind, session) is a no-op
(`ON CONFLICT DO NOTHING`, which keeps the caller's PostgreSQL transaction usable).

Senders claim an alert before sending it (a compare-and-set on `attempts`), so two
`stocky alerts deliver` running at once never send the same alert twice; a sender that dies
mid-send leaves a lease that expires, and the alert is due again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from stocky.adapters.ports import AddOutcome
from stocky.adapters.store.tables import alerts
from stocky.core.alerts import Alert, Envelope
from stocky.errors import BadInput, StoreError

__all__ = ["AddOutcome", "AlertOutbox", "StoredAlert"]

STATUSES = ("pending", "delivered", "failed")


@dataclass(frozen=True)
class StoredAlert:
    """One outbox row."""

    id: int
    alert: Alert
    created_at: dt.datetime
    replay: bool
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_error: str | None
    delivered_at: dt.datetime | None
    targets_done: tuple[str, ...]

    def envelope(self) -> Envelope:
        return Envelope(self.id, self.alert, self.created_at, self.replay)


def _utc(moment: dt.datetime, name: str = "now") -> dt.datetime:
    if moment.tzinfo is None:
        raise BadInput(f"{name}={moment!r} has no time zone: pass an aware UTC datetime")
    return moment.astimezone(dt.UTC)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


class AlertOutbox:
    """Write, list and track delivery of alerts in the `alerts` table.

    Args:
        engine: A SQLite or PostgreSQL engine whose schema exists (`create_schema`).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # --- raising -------------------------------------------------------------------------
    def add(
        self,
        conn: sa.Connection,
        alert: Alert,
        *,
        now: dt.datetime,
        replay: bool = False,
        cooldown_since: dt.date | None = None,
    ) -> AddOutcome:
        """Queue `alert` on the caller's connection (it commits or rolls back with the caller).

        Args:
            conn: An open connection inside the caller's transaction.
            alert: The alert.
            now: When it is raised (stored as created_at; it is due at once).
            replay: It comes from a replay of history: stored, marked, and only sent on request.
            cooldown_since: Suppress the alert when the same ticker and kind already alerted
                for a session on or after this date (None: no cooldown).

        Returns:
            ADDED, DUPLICATE (same ticker, kind and session queued before) or COOLDOWN.

        Raises:
            StoreError: The database failed (the caller's transaction should roll back).
        """
        created = _utc(now)
        same = (alerts.c.ticker == alert.ticker) & (alerts.c.kind == alert.kind)
        try:
            if cooldown_since is not None:
                recent = sa.select(alerts.c.id).where(
                    same,
                    alerts.c.session >= cooldown_since,
                    alerts.c.session != alert.session,
                )
                if conn.execute(recent.limit(1)).first() is not None:
                    return AddOutcome.COOLDOWN
            values = {
                "ticker": alert.ticker,
                "kind": alert.kind,
                "session": alert.session,
                "created_at": created,
                "title": alert.title,
                "message": alert.message,
                "payload": json.dumps(dict(alert.data), allow_nan=False, sort_keys=True),
                "replay": replay,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": created,
                "targets_done": "[]",
            }
            inserted = conn.execute(self._insert_ignoring_duplicates(conn, values)).first()
        except SQLAlchemyError as exc:
            raise StoreError(
                f"could not queue the {alert.kind} alert of {alert.ticker}: {exc}"
            ) from exc
        return AddOutcome.ADDED if inserted is not None else AddOutcome.DUPLICATE

    def raise_alert(
        self,
        alert: Alert,
        *,
        now: dt.datetime,
        replay: bool = False,
        cooldown_since: dt.date | None = None,
    ) -> AddOutcome:
        """`add` in a transaction of its own, for alerts with no row of their own to join."""
        try:
            with self.engine.begin() as conn:
                return self.add(conn, alert, now=now, replay=replay, cooldown_since=cooldown_since)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not queue the {alert.kind} alert: {exc}") from exc

    @staticmethod
    def _insert_ignoring_duplicates(conn: sa.Connection, values: dict[str, Any]) -> Any:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            stmt: Any = postgresql.insert(alerts)
        elif dialect == "sqlite":
            stmt = sqlite.insert(alerts)
        else:
            raise StoreError(
                f"the alert outbox supports SQLite and PostgreSQL, not {dialect}: "
                "set STOCKY_DATABASE_URL to one of them"
            )
        key = ["ticker", "kind", "session"]
        return (
            stmt.values(**values).on_conflict_do_nothing(index_elements=key).returning(alerts.c.id)
        )

    # --- reading -------------------------------------------------------------------------
    def recent(
        self,
        *,
        status: str | None = None,
        ticker: str | None = None,
        limit: int = 50,
    ) -> list[StoredAlert]:
        """Alerts newest first, optionally of one status and ticker.

        Raises:
            BadInput: An unknown status or a limit below 1.
            StoreError: The database failed.
        """
        if status is not None and status not in STATUSES:
            raise BadInput(f"alert status {status!r} is unknown: use one of {list(STATUSES)}")
        if limit < 1:
            raise BadInput(f"limit={limit}: use 1 or more")
        query = sa.select(alerts).order_by(alerts.c.created_at.desc(), alerts.c.id.desc())
        if status is not None:
            query = query.where(alerts.c.status == status)
        if ticker is not None:
            query = query.where(alerts.c.ticker == ticker)
        return self._select(query.limit(limit))

    def get(self, alert_id: int) -> StoredAlert | None:
        """One alert by id, or None."""
        rows = self._select(sa.select(alerts).where(alerts.c.id == alert_id))
        return rows[0] if rows else None

    def due(
        self, *, now: dt.datetime, include_replay: bool = False, limit: int = 100
    ) -> list[StoredAlert]:
        """Pending alerts whose next attempt is at or before `now`, oldest first.

        Replayed alerts are left out unless `include_replay`.
        """
        query = (
            sa.select(alerts)
            .where(alerts.c.status == "pending", alerts.c.next_attempt_at <= _utc(now))
            .order_by(alerts.c.next_attempt_at, alerts.c.id)
            .limit(limit)
        )
        if not include_replay:
            query = query.where(alerts.c.replay.is_(False))
        return self._select(query)

    # --- delivery bookkeeping ------------------------------------------------------------
    def claim(self, row: StoredAlert, *, now: dt.datetime, lease: dt.timedelta) -> bool:
        """Take `row` for one attempt: count it and push its due time past the lease.

        Returns:
            True when this caller owns the attempt; False when another sender took it first.
        """
        stmt = (
            alerts.update()
            .where(
                alerts.c.id == row.id,
                alerts.c.status == "pending",
                alerts.c.attempts == row.attempts,
            )
            .values(attempts=row.attempts + 1, next_attempt_at=_utc(now) + lease)
        )
        return self._update(stmt, f"claim alert {row.id}") == 1

    def mark_delivered(
        self, alert_id: int, *, now: dt.datetime, targets_done: Sequence[str]
    ) -> None:
        """Every target has the alert: it is never sent again."""
        stmt = (
            alerts.update()
            .where(alerts.c.id == alert_id)
            .values(
                status="delivered",
                delivered_at=_utc(now),
                next_attempt_at=None,
                last_error=None,
                targets_done=json.dumps(sorted(targets_done)),
            )
        )
        self._update(stmt, f"mark alert {alert_id} delivered")

    def mark_attempt_failed(
        self,
        alert_id: int,
        *,
        error: str,
        targets_done: Sequence[str],
        next_attempt_at: dt.datetime | None,
    ) -> None:
        """Record a failed attempt: retry at `next_attempt_at`, or give up when it is None."""
        stmt = (
            alerts.update()
            .where(alerts.c.id == alert_id)
            .values(
                status="pending" if next_attempt_at is not None else "failed",
                next_attempt_at=None if next_attempt_at is None else _utc(next_attempt_at),
                last_error=error[:2000],
                targets_done=json.dumps(sorted(targets_done)),
            )
        )
        self._update(stmt, f"record the failed attempt of alert {alert_id}")

    def release(self, row: StoredAlert, *, now: dt.datetime, targets_done: Sequence[str]) -> None:
        """Give back a claimed alert that some targets were not tried for (a pass ran out of
        time, or a target was skipped as broken): the claim's attempt is not counted, and the
        alert is due again at `now` with the targets that have it recorded."""
        stmt = (
            alerts.update()
            .where(alerts.c.id == row.id, alerts.c.status == "pending")
            .values(
                attempts=row.attempts,
                next_attempt_at=_utc(now),
                targets_done=json.dumps(sorted(targets_done)),
            )
        )
        self._update(stmt, f"release alert {row.id}")

    # --- plumbing ------------------------------------------------------------------------
    def _select(self, query: sa.Select[Any]) -> list[StoredAlert]:
        try:
            with self.engine.connect() as conn:
                records = conn.execute(query).mappings().all()
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read alerts: {exc}") from exc
        return [_stored(r) for r in records]

    def _update(self, stmt: sa.Update, what: str) -> int:
        try:
            with self.engine.begin() as conn:
                return int(conn.execute(stmt).rowcount)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not {what}: {exc}") from exc


def _stored(record: Any) -> StoredAlert:
    created = _aware(record["created_at"])
    if created is None:
        raise StoreError(f"alert {record['id']} has no created_at: the column is NOT NULL")
    alert = Alert(
        record["ticker"],
        record["kind"],
        record["session"],
        record["title"],
        record["message"],
        json.loads(record["payload"]),
    )
    return StoredAlert(
        id=int(record["id"]),
        alert=alert,
        created_at=created,
        replay=bool(record["replay"]),
        status=record["status"],
        attempts=int(record["attempts"]),
        next_attempt_at=_aware(record["next_attempt_at"]),
        last_error=record["last_error"],
        delivered_at=_aware(record["delivered_at"]),
        targets_done=tuple(json.loads(record["targets_done"])),
    )
