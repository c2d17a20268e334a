"""check_prices: too few rows blocks training; gaps and split-like jumps are named warnings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stocky.core.quality import QualityReport, check_prices, drop_non_sessions
from stocky.core.sessions import TradingCalendar
from stocky.errors import BadInput, DataQualityError


def _frame(dates: list[str], closes: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime(dates), "close": closes})


def _daily(n: int, start: str = "2024-01-01") -> pd.DataFrame:
    dates = pd.date_range(start, periods=n, freq="D")
    return pd.DataFrame({"date": dates, "close": 100.0 + np.arange(n)})


def test_clean_prices_give_a_report_without_warnings():
    report = check_prices(_daily(30), min_rows=30)
    assert report == QualityReport(
        rows=30, first=dt.date(2024, 1, 1), last=dt.date(2024, 1, 30), warnings=()
    )


def test_too_few_rows_says_how_many_and_what_to_do():
    with pytest.raises(DataQualityError) as info:
        check_prices(_daily(5), min_rows=10)
    message = str(info.value)
    assert "only 5 price rows, at least 10 are needed" in message
    assert "stocky data pull" in message
    assert "STOCKY_MIN_TRAIN_SIZE" in message
    assert isinstance(info.value, BadInput)


def test_an_empty_frame_is_refused_even_with_min_rows_zero():
    with pytest.raises(DataQualityError, match="only 0 price rows"):
        check_prices(_daily(0), min_rows=0)


def test_a_gap_longer_than_seven_days_is_named():
    frame = _frame(["2024-01-02", "2024-01-09", "2024-01-17", "2024-01-18"], [1.0, 1.0, 1.0, 1.0])
    report = check_prices(frame, min_rows=2)
    assert len(report.warnings) == 1  # 7 days (02 -> 09) is not a gap, 8 days (09 -> 17) is
    assert "gap of 8 calendar days between 2024-01-09 and 2024-01-17" in report.warnings[0]


def test_gap_threshold_is_configurable():
    frame = _frame(["2024-01-02", "2024-01-05"], [1.0, 1.0])
    assert check_prices(frame, min_rows=2).warnings == ()
    assert len(check_prices(frame, min_rows=2, max_gap_days=2).warnings) == 1


def test_a_split_like_jump_is_named_with_its_dates():
    frame = _frame(["2024-01-02", "2024-01-03", "2024-01-04"], [100.0, 50.0, 51.0])
    (warning,) = check_prices(frame, min_rows=2).warnings
    assert "close moved -50.0% from 2024-01-02 to 2024-01-03" in warning
    assert "split" in warning


def test_moves_up_to_forty_percent_are_not_flagged_and_the_threshold_is_configurable():
    frame = _frame(["2024-01-02", "2024-01-03"], [100.0, 139.0])
    assert check_prices(frame, min_rows=2).warnings == ()
    (warning,) = check_prices(frame, min_rows=2, max_jump=0.3).warnings
    assert "+39.0%" in warning


@pytest.mark.parametrize("bad", [float("nan"), 0.0, -1.0, float("inf")])
def test_unusable_close_is_an_error_naming_the_date(bad):
    frame = _frame(["2024-01-02", "2024-01-03"], [100.0, bad])
    with pytest.raises(DataQualityError, match=r"close\[1\] \(date 2024-01-03\)"):
        check_prices(frame, min_rows=2)


def test_missing_close_column():
    with pytest.raises(DataQualityError, match="lacks column"):
        check_prices(pd.DataFrame({"date": pd.to_datetime(["2024-01-02"])}), min_rows=1)


def test_real_sp500_has_no_warnings_but_the_september_2001_closure_shows_at_six_days(
    sp500_frame,
):
    frame = pd.DataFrame({"date": sp500_frame.index, "close": sp500_frame["Close"].to_numpy()})
    report = check_prices(frame, min_rows=250)
    assert report.rows == 5031
    assert report.warnings == ()
    strict = check_prices(frame, min_rows=250, max_gap_days=6)
    assert any("2001-09-10 and 2001-09-17" in w for w in strict.warnings)


XNYS = TradingCalendar("XNYS", start="1990-01-01")


def test_rows_off_session_are_dropped_with_a_warning_naming_count_and_first():
    # Wed 2024-07-03, Thu 07-04 (Independence Day), Fri 07-05, Sat 07-06, Mon 07-08, Sat 07-13
    frame = _frame(
        ["2024-07-03", "2024-07-04", "2024-07-05", "2024-07-06", "2024-07-08", "2024-07-13"],
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
    )
    kept, warning = drop_non_sessions(frame, calendar=XNYS)
    assert kept["close"].tolist() == [1.0, 3.0, 5.0]
    assert warning is not None
    assert warning.startswith("3 of 6 rows are dated on days XNYS does not trade")
    assert "(the first 2024-07-04, a Thursday)" in warning and "dropped, not trained on" in warning


def test_sessions_only_and_dates_before_the_calendar_pass_untouched():
    sessions = XNYS.sessions_in_range("2024-01-02", "2024-03-28")
    frame = _frame([f"{d}" for d in sessions], list(np.arange(len(sessions)) + 1.0))
    kept, warning = drop_non_sessions(frame, calendar=XNYS)
    assert warning is None and kept is frame
    early = _frame(["1980-01-05", "1980-01-06"], [1.0, 2.0])  # before the calendar: not judged
    kept, warning = drop_non_sessions(early, calendar=XNYS)
    assert warning is None and kept is early


def test_training_drops_saturday_rows_and_says_so(sp500_close):
    from fakes import FakeRegistry, price_frame
    from stocky.pipelines.train import TrainConfig, train_ticker

    config = TrainConfig(
        order="0,1,1", test_size=40, validation_size=20, train_window=300, min_train_size=100
    )
    clean = price_frame(sp500_close[-400:], end=dt.date(2018, 12, 31))
    fridays = clean[clean["date"].dt.day_of_week == 4]
    saturdays = fridays.assign(date=fridays["date"] + pd.Timedelta(days=1))
    dirty = pd.concat([clean, saturdays]).sort_values("date").reset_index(drop=True)
    now = dt.datetime(2019, 1, 2, 22, tzinfo=dt.UTC)

    def train(frame: pd.DataFrame, **kw: object):  # type: ignore[no-untyped-def]
        return train_ticker(
            ticker="X",
            prices=frame,
            source="csv",
            registry=FakeRegistry(),
            config=config,
            now=now,
            **kw,  # type: ignore[arg-type]
        )

    reference = train(clean)
    result = train(dirty, calendar=XNYS)
    first = saturdays["date"].iloc[0]
    assert result.warnings[0].startswith(
        f"{len(saturdays)} of {len(dirty)} rows are dated on days XNYS does not trade "
        f"(the first {first:%Y-%m-%d}, a Saturday)"
    )
    assert len(saturdays) > 70
    # what is trained on is exactly the sessions
    assert result.spec.params == reference.spec.params
    assert result.scores == reference.scores
