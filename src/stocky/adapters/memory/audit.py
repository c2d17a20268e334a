"""The audit log port in lists: drift checks, promotion records and the alerts they queue.

Alerts follow the outbox's rules (`store.alerts.AlertOutbox.add`): within a cooldown the same
ticker and kind is suppressed (COOLDOWN, checked first), and a repeated (ticker, kind,
session) is a no-op (DUPLICATE). A report is kept as its JSON reads back, as the SQL store
keeps it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from stocky.adapters.ports import (
    RETRAIN_ACTIONS,
    AddOutcome,
    DriftCheck,
    DriftCheckRow,
    Promotion,
    PromotionRow,
    QueuedAlert,
)
from stocky.errors import BadInput, StoreError

__all__ = ["MemoryAuditLog"]


class MemoryAuditLog:
    """Drift checks, promotions and queued alerts of one process (see `ports.AuditLog`).

    Attributes:
        checks: Drift checks stored, oldest first.
        decisions: Promotion records stored, oldest first.
        alerts: Alerts queued (ADDED), oldest first.
        alert_outcomes: (kind, outcome) of every alert offered, in order.
    """

    def __init__(self) -> None:
        self.checks: list[DriftCheck] = []
        self._next_check_id = 0
        self.decisions: list[Promotion] = []
        self.alerts: list[QueuedAlert] = []
        self.alert_outcomes: list[tuple[str, AddOutcome]] = []

    def add_drift_checks(
        self, checks: Sequence[tuple[DriftCheckRow, Sequence[QueuedAlert]]]
    ) -> list[int]:
        stored = [  # all checked before any is written, as one transaction
            (_stored_check(row, self._next_check_id + i + 1), alerts)
            for i, (row, alerts) in enumerate(checks)
        ]
        for check, alerts in stored:
            _check_alerts(alerts, check.checked_at)
        ids = []
        for check, alerts in stored:
            # one check per (ticker, session), like the unique index: a rerun replaces it
            self.checks = [
                c for c in self.checks if (c.ticker, c.as_of) != (check.ticker, check.as_of)
            ]
            self._next_check_id = check.id
            self.checks.append(check)
            self._queue(alerts)
            ids.append(check.id)
        return ids

    def add_promotion(self, row: PromotionRow, *, alerts: Sequence[QueuedAlert] = ()) -> int:
        decided_at = _utc(row.decided_at)
        _check_alerts(alerts, decided_at)
        fields = {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
        record = Promotion(**fields | {"decided_at": decided_at}, id=len(self.decisions) + 1)
        self.decisions.append(record)
        self._queue(alerts)
        return record.id

    def add_alerts(self, alerts: Sequence[QueuedAlert], *, now: dt.datetime) -> list[AddOutcome]:
        _check_alerts(alerts, now)
        return self._queue(alerts)

    def alert_counts(self, ticker: str) -> dict[str, int]:
        return dict(Counter(self.kinds(ticker)))

    def alert_sessions(self, ticker: str) -> list[tuple[dt.date, str]]:
        queued = [(q.alert.session, q.alert.kind) for q in self.alerts if q.alert.ticker == ticker]
        return sorted(queued, key=lambda pair: pair[0])  # stable: queue order within a session

    def kinds(self, ticker: str | None = None) -> list[str]:
        """Kinds of the alerts queued, oldest first (one ticker's, or all)."""
        return [q.alert.kind for q in self.alerts if ticker is None or q.alert.ticker == ticker]

    def latest_drift_check(self, ticker: str) -> DriftCheck | None:
        found = self.drift_checks(ticker, limit=1)
        return found[0] if found else None

    def drift_checks(self, ticker: str, *, limit: int | None = None) -> list[DriftCheck]:
        rows = sorted(
            (c for c in self.checks if c.ticker == ticker),
            key=lambda c: (c.as_of, c.id),
            reverse=True,
        )
        return rows[:limit] if limit is not None else rows

    def promotions(self, ticker: str, *, limit: int | None = None) -> list[Promotion]:
        rows = sorted(
            (p for p in self.decisions if p.ticker == ticker),
            key=lambda p: (p.decided_at, p.id),
            reverse=True,
        )
        return rows[:limit] if limit is not None else rows

    def latest_checks_before(
        self, tickers: Sequence[str], *, before: dt.date
    ) -> dict[str, DriftCheck]:
        found = {}
        for t in tickers:
            older = [c for c in self.drift_checks(t) if c.as_of < before]
            if older:
                found[t] = older[0]
        return found

    def promotions_many(self, tickers: Sequence[str]) -> dict[str, list[Promotion]]:
        return {t: self.promotions(t) for t in tickers}

    def decided_on(self, tickers: Sequence[str], *, as_of: dt.date) -> set[str]:
        wanted = set(tickers)
        return {
            p.ticker
            for p in self.decisions
            if p.ticker in wanted and p.as_of == as_of and p.action in RETRAIN_ACTIONS
        }

    def last_promotion_id(self) -> int:
        return len(self.decisions)

    def promotions_after(self, after_id: int) -> list[Promotion]:
        return [p for p in self.decisions if p.id > after_id]

    def _queue(self, alerts: Sequence[QueuedAlert]) -> list[AddOutcome]:
        outcomes = [self._add(queued) for queued in alerts]
        self.alert_outcomes.extend((q.alert.kind, o) for q, o in zip(alerts, outcomes, strict=True))
        return outcomes

    def _add(self, queued: QueuedAlert) -> AddOutcome:
        new = queued.alert
        same = [
            q.alert for q in self.alerts if (q.alert.ticker, q.alert.kind) == (new.ticker, new.kind)
        ]
        since = queued.cooldown_since
        if since is not None and any(a.session >= since and a.session != new.session for a in same):
            return AddOutcome.COOLDOWN
        if any(a.session == new.session for a in same):
            return AddOutcome.DUPLICATE
        self.alerts.append(queued)
        return AddOutcome.ADDED


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise StoreError(f"{moment!r} has no time zone: pass an aware UTC datetime")
    return moment.astimezone(dt.UTC)


def _check_alerts(alerts: Sequence[QueuedAlert], now: dt.datetime) -> None:
    if alerts and now.tzinfo is None:
        raise BadInput(f"now={now!r} has no time zone: pass an aware UTC datetime")


def _stored_check(row: DriftCheckRow, check_id: int) -> DriftCheck:
    fields: dict[str, Any] = {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}
    fields["checked_at"] = _utc(row.checked_at)
    fields["report"] = json.loads(json.dumps(row.report, default=str))
    return DriftCheck(**fields, id=check_id)
