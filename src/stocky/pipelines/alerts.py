"""Raise alerts into the outbox and deliver the due ones, with retries and backoff.

Raising: `queue_alert(conn, alert, ...)` joins the caller's transaction (the alert commits or
rolls back with its cause); `raise_alert(alert, ...)` opens its own. Both deduplicate per
(ticker, kind, session) and apply the cooldown to lasting conditions.

Delivering: `deliver_due` sends each due alert to every target that does not have it yet, once
per target; a failed target is retried after an exponential backoff, and after the last
attempt the alert is marked failed. Replayed alerts are sent only when asked. A pass has a
wall-clock limit and skips a target after a run of failures; what it leaves stays queued.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from stocky.adapters.notify.base import Notifier
from stocky.core.alert_messages import late_labels_alert, probe_alert
from stocky.core.alerts import Alert, DeliveryPolicy, Envelope
from stocky.core.freshness import ticker_due
from stocky.core.sessions import TradingCalendar
from stocky.errors import BadInput, DeliveryError

if TYPE_CHECKING:
    # annotations only: raising needs the caller's SQL connection and outbox, so the
    # in-memory backend (which uses `cooldown_start` alone) imports no SQL stack
    import pandas as pd
    import sqlalchemy as sa

    from stocky.adapters.ports import AddOutcome
    from stocky.adapters.store.alerts import AlertOutbox, StoredAlert

__all__ = [
    "DeliveryReport",
    "ProbeResult",
    "check_labels_late",
    "cooldown_start",
    "deliver_due",
    "queue_alert",
    "raise_alert",
    "send_probe",
]

log = logging.getLogger(__name__)


def cooldown_start(
    calendar: TradingCalendar, session: dt.date, cooldown_sessions: int
) -> dt.date | None:
    """The first session of the cooldown window that ends at `session`.

    With a cooldown of N sessions, an alert at session s silences the same ticker and kind
    through the N-1 sessions after s. None when N is 0 (no cooldown).

    Raises:
        BadInput: A negative cooldown, or a session outside the calendar.
    """
    if cooldown_sessions < 0:
        raise BadInput(f"cooldown_sessions={cooldown_sessions}: use 0 (off) or more")
    if cooldown_sessions == 0:
        return None
    start = calendar.session_on_or_before(session)
    for _ in range(cooldown_sessions - 1):
        start = calendar.previous_session(start)
    return start


def queue_alert(
    conn: sa.Connection,
    alert: Alert,
    *,
    outbox: AlertOutbox,
    calendar: TradingCalendar,
    now: dt.datetime,
    cooldown_sessions: int,
    replay: bool = False,
) -> AddOutcome:
    """Write `alert` to the outbox inside the caller's transaction.

    Args:
        conn: The connection the cause is written on (same transaction).
        alert: The alert (see `stocky.core.alert_messages`).
        outbox: The outbox repository.
        calendar: Trading calendar, for the cooldown in sessions.
        now: When it is raised.
        cooldown_sessions: Sessions a lasting condition stays quiet after one alert; events
            (promotions, rollbacks, failures) are only deduplicated.
        replay: The alert comes from a replay of history (sent only when asked, marked).

    Returns:
        ADDED, DUPLICATE or COOLDOWN.

    Raises:
        StoreError: The database failed.
    """
    since = (
        cooldown_start(calendar, alert.session, cooldown_sessions) if alert.is_condition else None
    )
    outcome = outbox.add(conn, alert, now=now, replay=replay, cooldown_since=since)
    log.info("alert %s %s %s: %s", alert.ticker, alert.kind, alert.session, outcome.value)
    return outcome


def raise_alert(
    alert: Alert,
    *,
    outbox: AlertOutbox,
    calendar: TradingCalendar,
    now: dt.datetime,
    cooldown_sessions: int,
    replay: bool = False,
) -> AddOutcome:
    """`queue_alert` in a transaction of its own (for causes that write no row)."""
    with outbox.engine.begin() as conn:
        return queue_alert(
            conn,
            alert,
            outbox=outbox,
            calendar=calendar,
            now=now,
            cooldown_sessions=cooldown_sessions,
            replay=replay,
        )


@dataclass
class DeliveryReport:
    """What one `deliver_due` pass did.

    `deferred` alerts were not tried (or not for every target) because the pass ran out of
    time or their targets were skipped as broken: they stay queued, due at once, their
    attempts not counted. `broken_targets` names the targets skipped for the rest of the pass.
    """

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    taken_by_another: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    broken_targets: list[str] = field(default_factory=list)
    out_of_time: bool = False
    errors: list[str] = field(default_factory=list)
    no_targets: bool = False


class _Pass:
    """The pass's deadline and each target's run of consecutive failures (circuit breaker)."""

    def __init__(
        self, *, seconds: float, breaker_failures: int, clock: Callable[[], float]
    ) -> None:
        self._clock = clock
        self._end = clock() + seconds
        self._limit = breaker_failures
        self._failures: dict[str, int] = {}

    def left(self) -> float:
        return self._end - self._clock()

    def is_open(self, notifier: Notifier) -> bool:
        return self._failures.get(notifier.target_id, 0) >= self._limit

    def record(self, notifier: Notifier, *, ok: bool, report: DeliveryReport) -> None:
        count = 0 if ok else self._failures.get(notifier.target_id, 0) + 1
        self._failures[notifier.target_id] = count
        if count == self._limit:
            report.broken_targets.append(notifier.label)
            log.warning(
                "%s failed %s times in a row: skipped for the rest of this pass (its alerts "
                "stay queued)",
                notifier.label,
                count,
            )


def deliver_due(
    *,
    outbox: AlertOutbox,
    notifiers: Sequence[Notifier],
    now: dt.datetime,
    policy: DeliveryPolicy,
    include_replay: bool = False,
    limit: int = 100,
    seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> DeliveryReport:
    """Send every due alert to the targets that do not have it yet, within a time limit.

    Each call to a target gets at most the time left in the pass. A target that fails
    `policy.breaker_failures` times in a row is skipped for the rest of the pass, and when the
    pass runs out of time the alerts not yet tried stay queued (nothing is lost, no attempt is
    counted for them): the next pass picks them up.

    Args:
        outbox: The outbox repository.
        notifiers: The configured targets; with none, nothing is attempted (alerts wait).
        now: The time of this pass (due times and backoff are computed from it).
        policy: Attempts, backoff, the pass's time limit and the breaker.
        include_replay: Also send alerts raised by a replay (each marked as a replay).
        limit: Most alerts handled in one pass.
        seconds: Wall-clock limit of this pass; None for `policy.pass_seconds`.
        clock: Monotonic seconds, for the time limit.

    Returns:
        The ids delivered, retrying later, failed for good, claimed by another sender, or
        deferred to the next pass.

    Raises:
        StoreError: The database failed.
    """
    report = DeliveryReport()
    if not notifiers:
        report.no_targets = True
        return report
    budget = _Pass(
        seconds=policy.pass_seconds if seconds is None else seconds,
        breaker_failures=policy.breaker_failures,
        clock=clock,
    )
    lease = dt.timedelta(seconds=policy.lease_seconds)
    for row in outbox.due(now=now, include_replay=include_replay, limit=limit):
        missing = [n for n in notifiers if n.target_id not in set(row.targets_done)]
        if budget.left() <= 0 or (missing and all(budget.is_open(n) for n in missing)):
            report.out_of_time = report.out_of_time or budget.left() <= 0
            report.deferred.append(row.id)
            continue
        if not outbox.claim(row, now=now, lease=lease):
            report.taken_by_another.append(row.id)
            continue
        _attempt(
            row,
            outbox=outbox,
            notifiers=notifiers,
            now=now,
            policy=policy,
            budget=budget,
            report=report,
        )
    if report.deferred:
        log.warning(
            "%s alert(s) left queued for the next pass (%s)",
            len(report.deferred),
            "out of time" if report.out_of_time else "targets skipped as broken",
        )
    return report


def _attempt(
    row: StoredAlert,
    *,
    outbox: AlertOutbox,
    notifiers: Sequence[Notifier],
    now: dt.datetime,
    policy: DeliveryPolicy,
    budget: _Pass,
    report: DeliveryReport,
) -> None:
    done = set(row.targets_done)
    errors: list[str] = []
    envelope = row.envelope()
    for notifier in notifiers:
        if notifier.target_id in done or budget.is_open(notifier):
            continue
        left = budget.left()
        if left <= 0:
            report.out_of_time = True
            break
        try:
            notifier.send(envelope, now=now, timeout=left)
        except DeliveryError as exc:
            errors.append(str(exc))
            budget.record(notifier, ok=False, report=report)
            continue
        budget.record(notifier, ok=True, report=report)
        done.add(notifier.target_id)
    if all(n.target_id in done for n in notifiers):
        outbox.mark_delivered(row.id, now=now, targets_done=sorted(done))
        report.delivered.append(row.id)
        return
    if not errors:  # every target it lacks was skipped: not an attempt
        outbox.release(row, now=now, targets_done=sorted(done))
        report.deferred.append(row.id)
        return
    attempts = row.attempts + 1
    last = attempts >= policy.max_attempts
    next_at = None if last else now + policy.backoff(attempts)
    message = "; ".join(errors)
    outbox.mark_attempt_failed(
        row.id, error=message, targets_done=sorted(done), next_attempt_at=next_at
    )
    (report.failed if last else report.retrying).append(row.id)
    then = "given up" if next_at is None else f"next attempt at {next_at:%Y-%m-%d %H:%M} UTC"
    report.errors.append(f"alert {row.id} attempt {attempts} ({then}): {message}")
    log.warning("alert %s attempt %s failed: %s", row.id, attempts, message)


@dataclass(frozen=True)
class ProbeResult:
    """One target's answer to the test alert."""

    label: str
    error: str | None


def send_probe(*, notifiers: Iterable[Notifier], now: dt.datetime) -> list[ProbeResult]:
    """Send a test alert straight to every target (not through the outbox)."""
    envelope = Envelope(0, probe_alert(session=now.date()), now)
    results = []
    for notifier in notifiers:
        try:
            notifier.send(envelope, now=now)
        except DeliveryError as exc:
            results.append(ProbeResult(notifier.label, str(exc)))
            continue
        results.append(ProbeResult(notifier.label, None))
    return results


class StoredCloses(Protocol):
    def last_date(self, ticker: str) -> dt.date | None: ...


class PendingForecasts(Protocol):
    def pending_many(self, tickers: Sequence[str], *, up_to: dt.date) -> pd.DataFrame: ...


def check_labels_late(
    *,
    prices: StoredCloses,
    calendar: TradingCalendar,
    tickers: Iterable[str],
    now: dt.datetime,
    grace_hours: float,
    pending: PendingForecasts | None = None,
    source_end: Callable[[str], dt.date | None] | None = None,
) -> list[Alert]:
    """`labels_late` alerts, by the one definition the pages use (`stocky.core.freshness`).

    A ticker's due session is the latest that closed at least `grace_hours` before `now`, or
    where a static source's prices for it end, when earlier (a source that has ended raises
    no alert after its end). Its labels are late when a forecast for a session on or before
    it has no actual.

    Args:
        prices: The price store (its `last_date`, named in the message).
        calendar: Trading calendar (early closes included).
        tickers: Tickers to look at.
        now: The time of the check (aware).
        grace_hours: Hours after a close before its absence alerts.
        pending: The prediction log (its `pending_many`). Without it (a caller that has
            none), a missing close of the due session stands in for an unlabeled forecast.
        source_end: Where a static source ends for a ticker (None: live); default: live.

    Returns:
        One alert per late ticker, for its due session.
    """
    due = calendar.last_closed_session(now - dt.timedelta(hours=grace_hours))
    symbols = list(dict.fromkeys(tickers))
    waiting: dict[str, tuple[int, dt.date]] = {}
    if pending is not None and symbols:
        frame = pending.pending_many(symbols, up_to=due)
        for ticker, group in frame.groupby("ticker", sort=False):
            waiting[str(ticker)] = (len(group), group["target_date"].min().date())
    closes: dict[dt.date, dt.datetime] = {}
    alerts = []
    for ticker in symbols:
        mine = ticker_due(due, source_end(ticker) if source_end is not None else None)
        if mine is None:
            continue
        if mine not in closes:
            closes[mine] = calendar.session_close(mine)
        count, oldest = waiting.get(ticker, (0, None))
        if pending is not None and oldest is not None and oldest > mine:
            count, oldest = 0, None  # waits for a close after the source's end: never late
        alert = late_labels_alert(
            ticker=ticker,
            expected=mine,
            close_at=closes[mine],
            last_stored=prices.last_date(ticker),
            now=now,
            grace_hours=grace_hours,
            oldest_pending=oldest,
            waiting=None if pending is None else count,
        )
        if alert is not None:
            alerts.append(alert)
    return alerts
