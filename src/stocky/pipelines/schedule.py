"""When the scheduler runs next: a fixed delay after each session's close (early closes included)."""

from __future__ import annotations

import datetime as dt

from stocky.core.sessions import TradingCalendar

__all__ = ["next_run"]


def next_run(
    calendar: TradingCalendar, now: dt.datetime, *, delay: dt.timedelta
) -> tuple[dt.date, dt.datetime]:
    """The first (session, run time) with run time = session close + delay, strictly after `now`.

    Args:
        calendar: Exchange sessions and close times.
        now: An aware datetime.
        delay: Wait after the close (prices settle, vendors publish).

    Returns:
        (session, run time in UTC).
    """
    day = calendar.local_date(now)
    session = day if calendar.is_session(day) else calendar.next_session(day)
    while True:
        close = calendar.session_close(session)
        at = close + delay
        if at > now:
            return session, at
        session = calendar.next_session(session)
