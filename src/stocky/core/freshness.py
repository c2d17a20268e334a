"""When a ticker's close and labels are due: one definition for the pages and the alerts.

- A ticker's **due session** is the latest session whose close was at least the grace before
  now (`fleet_view.due_session`), or, for a static source (bundled, CSV, synthetic), the last
  session that source holds for the ticker when that is earlier. A source that has ended is
  never "behind" the calendar: after `make run` on the bundled S&P 500 (ending 2018-12-31),
  ^GSPC is due 2018-12-31, not today.
- **Stale prices**: the latest stored close is before the ticker's due session (or none is
  stored).
- **Labels late**: a logged forecast still waits for its actual close although its target
  session is on or before the ticker's due session. A forecast for the session after a static
  source's end is never late: that close will not come.

Pure: the due session, the source's end, the stored close and the oldest pending target are
arguments.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["labels_late", "prices_stale", "ticker_due"]


def ticker_due(due: dt.date | None, source_end: dt.date | None) -> dt.date | None:
    """The session whose close should be stored for a ticker by now.

    Args:
        due: The calendar's due session (None: unknown).
        source_end: The last session a static source holds for the ticker; None for a live
            source (measured against the calendar only).

    Returns:
        The earlier of the two; `due` for a live source; None when `due` is unknown.
    """
    if due is None or source_end is None:
        return due
    return min(due, source_end)


def prices_stale(last_price: dt.date | None, due: dt.date | None) -> bool:
    """True when the ticker's due close is not stored (`due` from `ticker_due`; None: unknown,
    never stale)."""
    return due is not None and (last_price is None or last_price < due)


def labels_late(oldest_pending: dt.date | None, due: dt.date | None) -> bool:
    """True when a forecast waits for the close of a session on or before the ticker's due
    session (`oldest_pending`: the target of the oldest unlabeled forecast, None if none)."""
    return due is not None and oldest_pending is not None and oldest_pending <= due
