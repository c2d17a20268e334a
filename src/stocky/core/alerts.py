"""Alerts as values: what happened to which ticker on which session, and how to retry sending.

An `Alert` is built by one of the message builders in `stocky.core.alert_messages`; it carries
the words a person reads (title, message with the numbers and what to do) and the same numbers
as data for machines. Storing and sending are elsewhere (`adapters.store.alerts`,
`adapters.notify`); this module touches no file, database, network or clock.

Kinds come in two families. *Conditions* (model degraded, volatility changed, labels late,
coverage broken) persist over several sessions: after one alert, the same ticker and kind stay
quiet for a cooldown. *Events* (retrain promoted or rejected, rollback, daily job failed) are
each worth telling: they are only deduplicated per (ticker, kind, session).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from stocky.core.tickers import normalize_ticker
from stocky.errors import BadInput

__all__ = [
    "ALERT_KINDS",
    "CONDITION_KINDS",
    "FLEET",
    "SEVERITY",
    "Alert",
    "AlertKind",
    "DeliveryPolicy",
    "Envelope",
    "clean_data",
]

AlertKind = Literal[
    "model_degraded",
    "volatility_changed",
    "retrain_promoted",
    "retrain_rejected",
    "rollback",
    "daily_failed",
    "labels_late",
    "coverage_broken",
    "test",
]
ALERT_KINDS: tuple[str, ...] = (
    "model_degraded",
    "volatility_changed",
    "retrain_promoted",
    "retrain_rejected",
    "rollback",
    "daily_failed",
    "labels_late",
    "coverage_broken",
    "test",
)
CONDITION_KINDS = frozenset(
    {"model_degraded", "volatility_changed", "labels_late", "coverage_broken"}
)
"""Kinds that describe a lasting state: a cooldown keeps them from repeating every session."""

SEVERITY: Mapping[str, str] = {
    "model_degraded": "warning",
    "volatility_changed": "info",
    "retrain_promoted": "success",
    "retrain_rejected": "info",
    "rollback": "warning",
    "daily_failed": "failure",
    "labels_late": "warning",
    "coverage_broken": "warning",
    "test": "info",
}
"""Apprise's notify types (info, success, warning, failure), per kind."""

FLEET = "*"
"""The ticker of an alert about the whole job rather than one symbol (never a real symbol)."""

Scalar = float | int | str | bool | None


def clean_data(data: Mapping[str, Any]) -> dict[str, Scalar]:
    """The numbers of an alert, JSON-safe: NaN and infinities become None (JSON has neither).

    Raises:
        BadInput: A value is not a number, text, bool or None.
    """
    cleaned: dict[str, Scalar] = {}
    for key, value in data.items():
        if value is None or isinstance(value, bool | str):
            cleaned[key] = value
        elif isinstance(value, int | float):
            number = float(value) if isinstance(value, float) else int(value)
            cleaned[key] = number if math.isfinite(number) else None
        elif isinstance(value, dt.date):
            cleaned[key] = value.isoformat()
        else:
            raise BadInput(
                f"alert data {key!r} is {type(value).__name__}: send a number, text or None"
            )
    return cleaned


@dataclass(frozen=True)
class Alert:
    """One thing that happened, ready to store and send.

    Attributes:
        ticker: Normalised symbol, or `FLEET` for the whole job.
        kind: One of `ALERT_KINDS`.
        session: The trading session it is about (the deduplication key with ticker, kind).
        title: One line.
        message: What happened, the numbers, and what to do.
        data: The same numbers for machines (finite or None).
    """

    ticker: str
    kind: AlertKind
    session: dt.date
    title: str
    message: str
    data: Mapping[str, Scalar] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ticker != FLEET:
            object.__setattr__(self, "ticker", normalize_ticker(self.ticker))
        if self.kind not in ALERT_KINDS:
            raise BadInput(f"alert kind {self.kind!r} is unknown: use one of {list(ALERT_KINDS)}")
        if not isinstance(self.session, dt.date) or isinstance(self.session, dt.datetime):
            raise BadInput(f"alert session {self.session!r} is not a date: pass a datetime.date")
        if not self.title.strip() or not self.message.strip():
            raise BadInput(f"{self.kind} alert for {self.ticker} has no title or message")
        object.__setattr__(self, "data", clean_data(self.data))

    @property
    def is_condition(self) -> bool:
        """True for kinds a cooldown applies to (see `CONDITION_KINDS`)."""
        return self.kind in CONDITION_KINDS


@dataclass(frozen=True)
class Envelope:
    """A stored alert as it goes out: its outbox id and whether it comes from a replay."""

    alert_id: int
    alert: Alert
    created_at: dt.datetime
    replay: bool = False

    @property
    def severity(self) -> str:
        return SEVERITY[self.alert.kind]

    @property
    def title(self) -> str:
        prefix = "[stocky replay]" if self.replay else "[stocky]"
        return f"{prefix} {self.alert.title}"

    @property
    def body(self) -> str:
        """The human message; a replay says so first, so nobody acts on history."""
        if self.replay:
            return (
                "REPLAY: this alert comes from replaying history, not from live data.\n\n"
                + self.alert.message
            )
        return self.alert.message

    def to_json(self) -> bytes:
        """The webhook body: compact UTF-8 JSON, keys sorted (NaN refused, never sent)."""
        document = {
            "id": self.alert_id,
            "ticker": self.alert.ticker,
            "kind": self.alert.kind,
            "session": self.alert.session.isoformat(),
            "created_at": self.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "severity": self.severity,
            "title": self.title,
            "message": self.body,
            "data": dict(self.alert.data),
            "replay": self.replay,
        }
        return json.dumps(
            document, allow_nan=False, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode("utf-8")


@dataclass(frozen=True)
class DeliveryPolicy:
    """How often and how long an undelivered alert is retried.

    Attributes:
        max_attempts: Attempts before an alert is marked failed (it stays listed).
        backoff_seconds: Wait after the first failed attempt; doubled after each further one.
        max_backoff_seconds: Longest wait between two attempts.
        lease_seconds: How long a sender owns an alert it is sending (a crashed sender's alert
            becomes due again after it).
        pass_seconds: Wall-clock limit of one delivery pass; what is left when it runs out
            stays queued for the next pass.
        breaker_failures: Consecutive failures (refusals or timeouts) after which a target is
            skipped for the rest of the pass; its alerts stay queued.
    """

    max_attempts: int = 8
    backoff_seconds: float = 60.0
    max_backoff_seconds: float = 6 * 3600.0
    lease_seconds: float = 300.0
    pass_seconds: float = 30.0
    breaker_failures: int = 3

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise BadInput(f"max_attempts={self.max_attempts}: use 1 or more, e.g. 8")
        if self.breaker_failures < 1:
            raise BadInput(f"breaker_failures={self.breaker_failures}: use 1 or more, e.g. 3")
        for name in ("backoff_seconds", "max_backoff_seconds", "lease_seconds", "pass_seconds"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise BadInput(f"{name}={value}: use a number of seconds > 0")

    def backoff(self, attempts: int) -> dt.timedelta:
        """The wait after `attempts` failed attempts: base x 2^(attempts-1), capped.

        Raises:
            BadInput: attempts < 1.
        """
        if attempts < 1:
            raise BadInput(f"attempts={attempts}: the backoff follows a failed attempt (>= 1)")
        exponent = min(attempts - 1, 60)  # 2**60 s is past any cap; avoids float overflow
        seconds = min(self.backoff_seconds * 2.0**exponent, self.max_backoff_seconds)
        return dt.timedelta(seconds=seconds)
