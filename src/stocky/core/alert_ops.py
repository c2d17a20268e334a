"""Message builders of the operational alerts: the daily job failed, labels late, broken
intervals, and the test alert. Same contract as `alert_messages`."""

from __future__ import annotations

import datetime as dt
import math

from stocky.core.alert_format import pct as _pct
from stocky.core.alert_format import symbol as _symbol
from stocky.core.alert_format import who as _who
from stocky.core.alerts import FLEET, Alert
from stocky.core.freshness import labels_late as labels_late_test
from stocky.core.freshness import prices_stale
from stocky.errors import BadInput

__all__ = ["coverage_broken", "daily_failed", "labels_late", "late_labels_alert", "probe_alert"]


def daily_failed(*, ticker: str, session: dt.date, step: str, error: str) -> Alert:
    """A step of the daily job failed (`ticker` is `FLEET` when the whole job did)."""
    ticker = _symbol(ticker)
    where = "" if ticker == FLEET else f" --ticker {ticker}"
    message = (
        f"{_who(ticker)}: daily job failed at step '{step}' for session {session}.\n"
        f"Error: {error}\n"
        f"What to do: fix the cause named above, then run `stocky daily --as-of {session}{where}`."
    )
    return Alert(
        ticker,
        "daily_failed",
        session,
        f"{_who(ticker)}: daily job failed at {step} ({session})",
        message,
        {"step": step, "error": error[:500]},
    )


def labels_late(
    *,
    ticker: str,
    session: dt.date,
    close_at: dt.datetime,
    now: dt.datetime,
    grace_hours: float,
    last_stored: dt.date | None,
    oldest_pending: dt.date | None = None,
    waiting: int = 0,
) -> Alert:
    """Labels are late (`stocky.core.freshness.labels_late`): forecasts for sessions up to
    `session`, the ticker's due session, still lack their actual close `grace_hours` after it
    closed (`waiting` of them, the oldest for `oldest_pending`, when the caller counted)."""
    ticker = _symbol(ticker)
    hours = (now - close_at).total_seconds() / 3600.0
    forecasts = f"{waiting} forecast{'' if waiting == 1 else 's'}"
    message = (
        f"{ticker}: forecasts for sessions up to {session} still lack their actual close "
        f"{hours:.1f} h after the {session} close (limit {grace_hours:g} h); the latest stored "
        f"close is {last_stored or 'none'}.\n"
        "They cannot be scored and drift checks stall.\n"
        f"What to do: run `stocky data pull --ticker {ticker}` then `stocky actuals --ticker "
        f"{ticker}`; if the pull fails, check the price source (STOCKY_PRICE_SOURCE)."
    )
    title = (
        f"{ticker}: {forecasts} unlabeled {hours:.0f} h after the {session} close"
        if waiting
        else f"{ticker}: close of {session} missing after {hours:.0f} h"
    )
    return Alert(
        ticker,
        "labels_late",
        session,
        title,
        message,
        {
            "hours_late": hours,
            "grace_hours": grace_hours,
            "last_stored": last_stored.isoformat() if last_stored else None,
            "oldest_pending": oldest_pending.isoformat() if oldest_pending else None,
            "waiting": waiting,
        },
    )


def late_labels_alert(
    *,
    ticker: str,
    expected: dt.date,
    close_at: dt.datetime,
    last_stored: dt.date | None,
    now: dt.datetime,
    grace_hours: float,
    oldest_pending: dt.date | None = None,
    waiting: int | None = None,
) -> Alert | None:
    """A `labels_late` alert when labels for sessions up to `expected` are late.

    Args:
        ticker: The symbol.
        expected: The ticker's due session (`stocky.core.freshness.ticker_due`): the latest
            that closed at least `grace_hours` before `now`, or where a static source ends.
        close_at: Its close (aware).
        last_stored: The latest stored session for the ticker, None when nothing is stored.
        now: The time of the check (aware).
        grace_hours: How long after the close a missing close is not yet late.
        oldest_pending: Target of the ticker's oldest unlabeled forecast up to `expected`.
        waiting: How many unlabeled forecasts target sessions up to `expected`. None when the
            caller has no prediction log: then the missing close of `expected` stands in.

    Returns:
        The alert, or None when nothing is late (yet).

    Raises:
        BadInput: A naive datetime or a negative grace.
    """
    if close_at.tzinfo is None or now.tzinfo is None:
        raise BadInput("close_at and now must be aware datetimes: pass UTC times")
    if not (math.isfinite(grace_hours) and grace_hours >= 0):
        raise BadInput(f"grace_hours={grace_hours}: use a number of hours >= 0, e.g. 6")
    if now - close_at < dt.timedelta(hours=grace_hours):
        return None
    if waiting is None:
        if not prices_stale(last_stored, expected):
            return None
    elif not (waiting and labels_late_test(oldest_pending, expected)):
        return None
    return labels_late(
        ticker=ticker,
        session=expected,
        close_at=close_at,
        now=now,
        grace_hours=grace_hours,
        last_stored=last_stored,
        oldest_pending=oldest_pending,
        waiting=waiting or 0,
    )


def coverage_broken(
    *,
    ticker: str,
    session: dt.date,
    coverage: float,
    nominal: float,
    window: int,
    lower_limit: float,
) -> Alert:
    """The share of actual closes inside the interval fell below `lower_limit`."""
    ticker = _symbol(ticker)
    message = (
        f"{ticker}: interval coverage broken as of {session}.\n"
        f"{_pct(coverage)} of the last {window} closes fell inside the {_pct(nominal)} interval "
        f"(alert below {_pct(lower_limit)}).\n"
        "What to do: the intervals are too narrow for the market now; check STOCKY_INTERVAL is "
        f"'ewma' for this model, and retrain (`stocky retrain --ticker {ticker} --force`) so "
        "the interval scale is recalibrated."
    )
    return Alert(
        ticker,
        "coverage_broken",
        session,
        f"{ticker}: {_pct(coverage)} inside the {_pct(nominal)} interval",
        message,
        {"coverage": coverage, "nominal": nominal, "window": window, "lower_limit": lower_limit},
    )


def probe_alert(*, session: dt.date) -> Alert:
    """A harmless alert that checks the delivery targets (`stocky alerts test`)."""
    return Alert(
        FLEET,
        "test",
        session,
        "test alert",
        "stocky: this is a test alert, sent by `stocky alerts test`.\n"
        "What to do: nothing; if you read this, alerts reach you.",
        {},
    )
