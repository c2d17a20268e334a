"""Which sessions a `stocky daily` run covers: one asked-for session, an explicit range, or
every session missed since the last run (as a scheduler that was down catches up).

The last run is the latest session with a drift check of any of the fleet's tickers (the
daily job records one per ticker and session). Before the first run it is the latest stored
close, which is run itself: the daily job has not checked it yet. A catch-up ends at the
last closed session, or where a static source ends (`adapters.prices.source_end`): a ticker
whose source has ended sits out the sessions after its end, and the run says so once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stocky.core.words import count
from stocky.errors import BadInput

if TYPE_CHECKING:
    from stocky.adapters.ports import AuditLog, PriceStore
    from stocky.core.sessions import TradingCalendar

__all__ = ["MAX_CATCH_UP", "Plan", "plan_sessions", "session_date"]

#: Missed sessions a catch-up runs without being asked explicitly (about a quarter); more
#: than that is a choice the user makes with --from/--to.
MAX_CATCH_UP = 63


@dataclass(frozen=True)
class Plan:
    """The sessions to run, in order, and which tickers sit each one out.

    Attributes:
        sessions: The sessions, oldest first (empty: nothing to do).
        ends: Ticker -> where its static source ends, for tickers whose source ended before
            the last closed session (they sit out the sessions after it; the run says so).
        source: The source's name, for the words.
        last_run: The session of the last run (None: never ran, or explicit dates).
        catching_up: True when the sessions are the missed ones (no date was given).
    """

    sessions: list[dt.date]
    ends: dict[str, dt.date] = field(default_factory=dict)
    source: str = ""
    last_run: dt.date | None = None
    catching_up: bool = False

    def tickers_on(self, tickers: Sequence[str], day: dt.date) -> list[str]:
        """The tickers that run on `day`: all but those whose source ended before it."""
        return [t for t in tickers if (end := self.ends.get(t)) is None or end >= day]

    def ended(self) -> str | None:
        """`bundled prices end 2018-12-31: nothing to catch up after it`, once for the run
        (None when no ticker's source has ended)."""
        if not self.ends:
            return None
        by_end: dict[dt.date, list[str]] = {}
        for ticker, end in sorted(self.ends.items()):
            by_end.setdefault(end, []).append(ticker)
        if len(by_end) == 1:
            (end, _tickers), *_ = by_end.items()
            return f"{self.source} prices end {end}: nothing to catch up after it"
        parts = [
            f"{end} for {tickers[0] if len(tickers) == 1 else count(len(tickers), 'ticker')}"
            for end, tickers in sorted(by_end.items())
        ]
        return f"{self.source} prices end {', '.join(parts)}: nothing to catch up after them"


def session_date(text: str, flag: str, calendar: TradingCalendar) -> dt.date:
    """`text` as a session, refused as the API refuses a non-session date.

    Raises:
        BadInput: Not YYYY-MM-DD, outside the calendar, or not a trading session (the message
            names the session before it).
    """
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise BadInput(f"{flag} {text!r} is not YYYY-MM-DD: write e.g. 2018-12-31") from exc
    if not calendar.is_session(day):
        before = calendar.session_on_or_before(day)
        raise BadInput(
            f"{flag} {day} is not a {calendar.exchange} trading session: give a session, "
            f"e.g. {before} (the session before it)"
        )
    return day


def plan_sessions(
    *,
    calendar: TradingCalendar,
    audit: AuditLog,
    prices: PriceStore,
    source_end: Callable[[str], dt.date | None],
    source: str,
    tickers: Sequence[str],
    now: dt.datetime,
    as_of: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Plan:
    """The sessions a daily run covers.

    Args:
        calendar: Trading sessions.
        audit: Drift checks (the last run).
        prices: Stored closes (the start before a first run).
        source_end: Where a static source ends for a ticker (None: live).
        source: The source's name.
        tickers: The fleet.
        now: The clock (aware): the last closed session is the latest a run can cover.
        as_of: One session (given with --as-of): just that one, every ticker.
        start: First session of an explicit range (--from); default: after the last run.
        end: Last session of an explicit range (--to); default: the last closed session, or
            where the fleet's static source ends.

    Returns:
        The Plan.

    Raises:
        BadInput: `as_of` with a range, `start` after `end`, or more than MAX_CATCH_UP
            missed sessions without an explicit range.
        StoreError: The database failed.
    """
    if as_of is not None:
        if start is not None or end is not None:
            raise BadInput("--as-of and --from/--to both given: use --as-of for one session")
        return Plan([as_of], source=source)
    today = calendar.last_closed_session(now)
    ends: dict[str, dt.date] = {}
    for t in tickers:
        e = source_end(t)
        if e is not None and e < today:
            ends[t] = e
    # the fleet's end: the last closed session, unless every ticker's source ended before it
    fleet_end = max(ends.values()) if ends and len(ends) == len(tickers) else today
    last = end if end is not None else fleet_end
    if start is not None:
        if start > last:
            raise BadInput(f"--from {start} is after --to {last}: give a range in order")
        return Plan(calendar.sessions_in_range(start, last), source=source)
    checked = audit.latest_checks_before(list(tickers), before=last + dt.timedelta(days=1))
    last_run = max((c.as_of for c in checked.values()), default=None)
    if last_run is not None:
        first = calendar.next_session(last_run)
    else:
        stored = prices.last_dates()
        held = [d for t in tickers if (d := stored.get(t)) is not None]
        first = min(max(held), last) if held else last
        first = calendar.session_on_or_before(first)
    sessions = calendar.sessions_in_range(first, last) if first <= last else []
    if len(sessions) > MAX_CATCH_UP and end is None:
        raise BadInput(
            f"{len(sessions)} sessions were missed since the last run ({last_run or 'none'}): "
            f"run them all with `stocky daily --from {sessions[0]} --to {sessions[-1]}`, or "
            f"only the latest with `stocky daily --as-of {sessions[-1]}`"
        )
    if end is not None:  # an explicit --to runs every ticker, as asked
        return Plan(sessions, source=source, last_run=last_run)
    return Plan(sessions, ends, source, last_run, catching_up=True)
