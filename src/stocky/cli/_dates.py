"""Parse --as-of and pick the default: the latest session that has closed."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from stocky.errors import BadInput

if TYPE_CHECKING:
    from stocky.core.sessions import TradingCalendar

__all__ = ["resolve_as_of"]


def resolve_as_of(text: str | None, calendar: TradingCalendar, now: dt.datetime) -> dt.date:
    """`--as-of` as a date, or the last closed session at `now`."""
    if text is None:
        return calendar.last_closed_session(now)
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError as exc:
        raise BadInput(f"--as-of {text!r} is not YYYY-MM-DD: write e.g. 2018-12-31") from exc
