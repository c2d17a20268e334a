"""The scheduler's next run: after each session's close, weekends, holidays and early closes included."""

from __future__ import annotations

import datetime as dt

import pytest

from stocky.core.sessions import TradingCalendar
from stocky.pipelines.schedule import next_run

CAL = TradingCalendar()
DELAY = dt.timedelta(minutes=30)


@pytest.mark.parametrize(
    "now,session,at",
    [
        # Tuesday morning New York -> that day, 16:00 ET close (EDT, UTC-4) + 30 min
        (
            dt.datetime(2024, 7, 2, 13, 0, tzinfo=dt.UTC),
            dt.date(2024, 7, 2),
            dt.datetime(2024, 7, 2, 20, 30, tzinfo=dt.UTC),
        ),
        # after Tuesday's run -> Wednesday July 3rd, an early close at 13:00 ET
        (
            dt.datetime(2024, 7, 2, 21, 0, tzinfo=dt.UTC),
            dt.date(2024, 7, 3),
            dt.datetime(2024, 7, 3, 17, 30, tzinfo=dt.UTC),
        ),
        # after the early close -> Friday the 5th (the 4th is a holiday)
        (
            dt.datetime(2024, 7, 3, 18, 0, tzinfo=dt.UTC),
            dt.date(2024, 7, 5),
            dt.datetime(2024, 7, 5, 20, 30, tzinfo=dt.UTC),
        ),
        # Saturday -> Monday, winter time (EST, UTC-5)
        (
            dt.datetime(2024, 1, 6, 12, 0, tzinfo=dt.UTC),
            dt.date(2024, 1, 8),
            dt.datetime(2024, 1, 8, 21, 30, tzinfo=dt.UTC),
        ),
    ],
)
def test_next_run(now, session, at):
    assert next_run(CAL, now, delay=DELAY) == (session, at)
