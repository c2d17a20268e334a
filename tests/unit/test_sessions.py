"""NYSE sessions: weekends, holidays, closures, bounds, and the bundled S&P 500 dates."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from typing import Any

import pandas as pd
import pytest

from stocky.core.sessions import DateLike, TradingCalendar
from stocky.errors import BadInput


@pytest.fixture(scope="module")
def nyse() -> TradingCalendar:
    return TradingCalendar()


def test_friday_to_monday(nyse: TradingCalendar) -> None:
    assert nyse.next_session("2024-06-07") == dt.date(2024, 6, 10)


def test_independence_day_is_skipped(nyse: TradingCalendar) -> None:
    assert not nyse.is_session("2024-07-04")
    assert nyse.next_session("2024-07-03") == dt.date(2024, 7, 5)
    assert nyse.next_session("2024-07-04") == dt.date(2024, 7, 5)
    assert nyse.previous_session("2024-07-05") == dt.date(2024, 7, 3)


def test_christmas_eve_to_boxing_day(nyse: TradingCalendar) -> None:
    # 24 Dec 2024 is a (half-day) session; 25 Dec is closed.
    assert nyse.is_session("2024-12-24")
    assert nyse.next_session("2024-12-24") == dt.date(2024, 12, 26)


def test_good_friday_is_not_a_session(nyse: TradingCalendar) -> None:
    assert not nyse.is_session("2024-03-29")
    assert nyse.next_session("2024-03-28") == dt.date(2024, 4, 1)
    assert nyse.session_on_or_before("2024-03-31") == dt.date(2024, 3, 28)


def test_lehman_weekend(nyse: TradingCalendar) -> None:
    assert nyse.next_session("2008-09-12") == dt.date(2008, 9, 15)


def test_unscheduled_closures_are_known(nyse: TradingCalendar) -> None:
    # Hurricane Sandy and the 9/11 closure
    assert not nyse.is_session("2012-10-29")
    assert not nyse.is_session("2012-10-30")
    assert nyse.next_session("2012-10-26") == dt.date(2012, 10, 31)
    assert nyse.next_session("2001-09-10") == dt.date(2001, 9, 17)


def test_weekend_and_session_inputs_to_next_and_previous(nyse: TradingCalendar) -> None:
    saturday = dt.date(2024, 6, 8)
    assert nyse.next_session(saturday) == dt.date(2024, 6, 10)
    assert nyse.previous_session(saturday) == dt.date(2024, 6, 7)
    # strictly before a session: Monday -> the Friday before, not Monday itself
    assert nyse.previous_session("2024-06-10") == dt.date(2024, 6, 7)


def test_session_on_or_before(nyse: TradingCalendar) -> None:
    assert nyse.session_on_or_before("2024-06-10") == dt.date(2024, 6, 10)
    assert nyse.session_on_or_before("2024-06-09") == dt.date(2024, 6, 7)
    assert nyse.session_on_or_before("2024-01-01") == dt.date(2023, 12, 29)


def test_a_date_in_1990_works(nyse: TradingCalendar) -> None:
    assert nyse.is_session("1990-03-15")
    assert nyse.next_session("1990-03-16") == dt.date(1990, 3, 19)
    assert nyse.first_session <= dt.date(1986, 3, 13)  # MSFT's first close


def test_sessions_in_range_is_inclusive(nyse: TradingCalendar) -> None:
    assert nyse.sessions_in_range("2024-07-01", "2024-07-08") == [
        dt.date(2024, 7, 1),
        dt.date(2024, 7, 2),
        dt.date(2024, 7, 3),
        dt.date(2024, 7, 5),
        dt.date(2024, 7, 8),
    ]
    assert nyse.sessions_in_range("2024-06-08", "2024-06-09") == []


def test_sessions_in_range_rejects_reversed_bounds(nyse: TradingCalendar) -> None:
    with pytest.raises(BadInput, match="start 2024-07-08 is after end 2024-07-01"):
        nyse.sessions_in_range("2024-07-08", "2024-07-01")


@pytest.mark.parametrize(
    "value",
    [
        dt.date(2024, 7, 3),
        dt.datetime(2024, 7, 3, 15, 30),
        pd.Timestamp("2024-07-03 09:30"),
        pd.Timestamp("2024-07-03 09:30", tz="America/New_York"),
        "2024-07-03",
    ],
)
def test_accepts_date_like_inputs_and_returns_dates(nyse: TradingCalendar, value: DateLike) -> None:
    result = nyse.next_session(value)
    assert result == dt.date(2024, 7, 5)
    assert type(result) is dt.date


@pytest.mark.parametrize("value", ["not a date", 20240703, None])
def test_rejects_non_dates(nyse: TradingCalendar, value: Any) -> None:
    with pytest.raises(BadInput, match="date"):
        nyse.is_session(value)


def test_after_calendar_end_is_bad_input(nyse: TradingCalendar) -> None:
    last = nyse.last_session.isoformat()
    with pytest.raises(
        BadInput, match=rf"2100-01-01 is outside .*{last}\): pass a date in that range"
    ):
        nyse.next_session("2100-01-01")


def test_before_calendar_start_is_bad_input() -> None:
    cal = TradingCalendar(start="2000-01-01")
    assert cal.first_session == dt.date(2000, 1, 3)
    with pytest.raises(
        BadInput, match=r"1990-03-15 is outside .*2000-01-03 to .*pass a date in that range"
    ):
        cal.is_session("1990-03-15")
    with pytest.raises(BadInput, match="no XNYS session before 2000-01-03"):
        cal.previous_session("2000-01-03")


def test_explicit_end_bounds_the_calendar() -> None:
    cal = TradingCalendar(start="2024-01-01", end="2024-12-31")
    assert cal.last_session == dt.date(2024, 12, 31)
    with pytest.raises(BadInput, match="no XNYS session after 2024-12-31"):
        cal.next_session("2024-12-31")


def test_unknown_exchange_lists_valid_names() -> None:
    with pytest.raises(BadInput, match=r"unknown exchange 'NOPE'.*XNYS"):
        TradingCalendar("NOPE").is_session("2024-07-03")


def test_other_exchange_has_its_own_holidays() -> None:
    london = TradingCalendar("XLON", start="2020-01-01")
    assert not london.is_session("2024-08-26")  # UK summer bank holiday
    assert TradingCalendar(start="2020-01-01").is_session("2024-08-26")


def test_calendar_is_built_lazily() -> None:
    code = (
        "import stocky.core.sessions as s\n"
        "s.TradingCalendar()\n"
        "assert s._calendar.cache_info().currsize == 0, s._calendar.cache_info()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_bundled_sp500_dates_are_all_nyse_sessions(nyse: TradingCalendar) -> None:
    sp500 = pytest.importorskip("arch.data.sp500")
    dates = [ts.date() for ts in sp500.load().index]
    assert len(dates) == 5031
    sessions = nyse.sessions_in_range(dates[0], dates[-1])
    session_set = set(sessions)
    assert sum(d in session_set for d in dates) == 5031
    # and no session in the span is missing from the data
    assert sessions == dates
    assert all(nyse.is_session(d) for d in dates[::250])
