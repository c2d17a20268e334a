"""Trading sessions of an exchange: is a date a session, and which session comes next.

A thin wrapper over `exchange_calendars` that speaks `datetime.date` and raises
`stocky.errors.BadInput` with the calendar's bounds instead of the library's own errors.

exchange_calendars starts a calendar only about 20 years back by default, so the wrapper
passes an explicit `start` (1985 by default) to cover the bundled price history. Building a
calendar takes a while, so calendars are built on first use and cached per
(exchange, start, end); nothing is built at import.
"""

from __future__ import annotations

import datetime as dt
import warnings
from functools import lru_cache
from typing import TypeAlias

import exchange_calendars as xcals
import pandas as pd

from stocky.errors import BadInput

__all__ = ["DEFAULT_EXCHANGE", "DEFAULT_START", "DateLike", "TradingCalendar"]

DEFAULT_EXCHANGE = "XNYS"
#: Early enough for the bundled history (MSFT closes from 1986).
DEFAULT_START = "1985-01-01"

#: Anything the calendar accepts as a date; a time of day is ignored.
DateLike: TypeAlias = dt.date | dt.datetime | pd.Timestamp | str


@lru_cache(maxsize=8)
def _calendar(exchange: str, start: str, end: str | None) -> xcals.ExchangeCalendar:
    """Build (once per key) the exchange_calendars calendar."""
    try:
        with warnings.catch_warnings():
            # exchange_calendars 4.x reads tz-aware Series.values while building; pandas 3.1
            # deprecates that. The values it wants (UTC nanoseconds) are unaffected.
            warnings.filterwarnings(
                "ignore", message="Series.values returning an ndarray that drops timezone"
            )
            return xcals.get_calendar(exchange, start=start, end=end)
    except xcals.errors.InvalidCalendarName as exc:
        names = sorted(xcals.get_calendar_names(include_aliases=False))
        examples = ", ".join(n for n in ("XNYS", "XNAS", "XLON", "XTKS", "XHKG") if n in names)
        raise BadInput(
            f"unknown exchange {exchange!r}: pass an exchange_calendars name such as "
            f"{examples} ({len(names)} available)"
        ) from exc
    except ValueError as exc:
        raise BadInput(
            f"cannot build the {exchange} calendar from start={start!r} to end={end!r} ({exc}): "
            "pass start/end within the range exchange_calendars supports for this exchange"
        ) from exc


def _to_date(value: DateLike, name: str) -> dt.date:
    """Coerce a date, datetime, Timestamp or ISO string to a `datetime.date`."""
    if isinstance(value, pd.Timestamp | dt.datetime):
        if pd.isna(value):
            raise BadInput(f"{name} is NaT: pass a real date")
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            parsed = pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise BadInput(
                f"{name}={value!r} is not a date: pass an ISO date like '2024-07-03'"
            ) from exc
        if pd.isna(parsed):
            raise BadInput(f"{name}={value!r} is not a date: pass an ISO date like '2024-07-03'")
        return _session_date(parsed)
    raise BadInput(
        f"{name}={value!r} has type {type(value).__name__}: pass a datetime.date, "
        "datetime.datetime, pandas.Timestamp or ISO date string"
    )


def _to_start(value: DateLike) -> str:
    """Normalise the calendar start to an ISO string (the cache key)."""
    return _to_date(value, "start").isoformat()


class TradingCalendar:
    """Sessions of one exchange between fixed bounds, as `datetime.date` values.

    Args:
        exchange: An exchange_calendars name, e.g. "XNYS" (New York Stock Exchange).
        start: First date the calendar covers. The default reaches the bundled history;
            exchange_calendars' own default is only about 20 years back.
        end: Last date the calendar covers; None keeps exchange_calendars' default (about
            a year after the date the calendar is built).

    Raises:
        BadInput: On an unknown exchange or unusable bounds (when the calendar is built,
            which is on first use).
    """

    def __init__(
        self,
        exchange: str = DEFAULT_EXCHANGE,
        start: DateLike = DEFAULT_START,
        *,
        end: DateLike | None = None,
    ) -> None:
        self.exchange = exchange
        self.start = _to_start(start)
        self.end = None if end is None else _to_date(end, "end").isoformat()

    def __repr__(self) -> str:
        return f"TradingCalendar(exchange={self.exchange!r}, start={self.start!r})"

    @property
    def _cal(self) -> xcals.ExchangeCalendar:
        return _calendar(self.exchange, self.start, self.end)

    @property
    def timezone(self) -> str:
        """The exchange's IANA time zone, e.g. America/New_York."""
        return str(self._cal.tz)

    def local_date(self, moment: dt.datetime) -> dt.date:
        """The exchange's calendar date at `moment` (an aware datetime)."""
        from zoneinfo import ZoneInfo

        if moment.tzinfo is None:
            raise BadInput(f"moment {moment!r} has no time zone: pass an aware datetime (UTC)")
        return moment.astimezone(ZoneInfo(self.timezone)).date()

    def session_close(self, session: DateLike) -> dt.datetime:
        """The close of `session` as an aware UTC datetime (early closes included)."""
        day = self._checked(session, "session")
        close = self._cal.session_close(pd.Timestamp(day))
        return close.tz_convert("UTC").to_pydatetime()

    def last_closed_session(self, moment: dt.datetime) -> dt.date:
        """The latest session whose close is at or before `moment` (an aware datetime)."""
        local = self.local_date(moment)
        day = self.session_on_or_before(local)
        close = self._cal.session_close(pd.Timestamp(day))
        if pd.Timestamp(moment).tz_convert("UTC") < close.tz_convert("UTC"):
            return self.previous_session(day)
        return day

    @property
    def first_session(self) -> dt.date:
        """The earliest session the calendar knows."""
        return _session_date(self._cal.first_session)

    @property
    def last_session(self) -> dt.date:
        """The latest session the calendar knows."""
        return _session_date(self._cal.last_session)

    def _checked(self, value: DateLike, name: str = "date") -> dt.date:
        """Coerce to a date and require it within [first_session, last_session]."""
        day = _to_date(value, name)
        first, last = self.first_session, self.last_session
        if not first <= day <= last:
            raise BadInput(
                f"{name} {day.isoformat()} is outside the {self.exchange} calendar "
                f"({first.isoformat()} to {last.isoformat()}): pass a date in that range "
                "(the calendar reaches about a year past today)"
            )
        return day

    def is_session(self, d: DateLike) -> bool:
        """Whether `d` is a trading session.

        Args:
            d: The date (a datetime's time of day is ignored).

        Returns:
            True if the exchange trades on that date.

        Raises:
            BadInput: If `d` is not a date or lies outside the calendar's bounds.
        """
        day = self._checked(d)
        return bool(self._cal.is_session(pd.Timestamp(day)))

    def next_session(self, d: DateLike) -> dt.date:
        """The first session strictly after `d`, whether or not `d` is a session.

        Args:
            d: The date (a datetime's time of day is ignored).

        Returns:
            The next trading date, e.g. Friday 2024-07-05 for Wednesday 2024-07-03.

        Raises:
            BadInput: If `d` is not a date, is outside the bounds, or is on/after the last
                session (there is no known next session).
        """
        day = self._checked(d)
        last = self.last_session
        if day >= last:
            raise BadInput(
                f"no {self.exchange} session after {day.isoformat()}: the calendar ends at "
                f"{last.isoformat()}; build TradingCalendar with a later end"
            )
        following = pd.Timestamp(day + dt.timedelta(days=1))
        return _session_date(self._cal.date_to_session(following, direction="next"))

    def previous_session(self, d: DateLike) -> dt.date:
        """The last session strictly before `d`, whether or not `d` is a session.

        Args:
            d: The date (a datetime's time of day is ignored).

        Returns:
            The previous trading date.

        Raises:
            BadInput: If `d` is not a date, is outside the bounds, or is on/before the
                first session (there is no known previous session).
        """
        day = self._checked(d)
        first = self.first_session
        if day <= first:
            raise BadInput(
                f"no {self.exchange} session before {day.isoformat()}: the calendar starts at "
                f"{first.isoformat()}; build TradingCalendar with an earlier start"
            )
        preceding = pd.Timestamp(day - dt.timedelta(days=1))
        return _session_date(self._cal.date_to_session(preceding, direction="previous"))

    def session_on_or_before(self, d: DateLike) -> dt.date:
        """`d` itself if it is a session, otherwise the last session before it.

        Args:
            d: The date (a datetime's time of day is ignored).

        Returns:
            The latest trading date not after `d`.

        Raises:
            BadInput: If `d` is not a date or lies outside the calendar's bounds.
        """
        day = self._checked(d)
        return _session_date(self._cal.date_to_session(pd.Timestamp(day), direction="previous"))

    def sessions_in_range(self, start: DateLike, end: DateLike) -> list[dt.date]:
        """All sessions from `start` to `end`, both inclusive, in order.

        Args:
            start: First date of the range.
            end: Last date of the range, not before `start`.

        Returns:
            The trading dates in the range (empty if it holds none, e.g. a weekend).

        Raises:
            BadInput: If a bound is not a date, is outside the calendar, or start > end.
        """
        first = self._checked(start, "start")
        last = self._checked(end, "end")
        if first > last:
            raise BadInput(
                f"start {first.isoformat()} is after end {last.isoformat()}: pass start <= end"
            )
        sessions = self._cal.sessions_in_range(pd.Timestamp(first), pd.Timestamp(last))
        return [_session_date(s) for s in sessions]


def _session_date(session: dt.datetime) -> dt.date:
    """Keep only the date (exchange_calendars labels sessions with midnight Timestamps)."""
    return session.date()
