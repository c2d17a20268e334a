"""normalise_frame / select_range: the one frame shape every price source returns."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stocky.adapters.prices.base import (
    PRICE_COLUMNS,
    empty_price_frame,
    normalise_frame,
    select_range,
)
from stocky.errors import BadInput, DataUnavailable


def _raw(dates: list[str], closes: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Date": dates,
            "Open": closes,
            "High": closes,
            "Low": closes,
            "Close": closes,
            "Volume": [100] * len(closes),
            "Adj Close": [1.0] * len(closes),
        }
    )


def test_normalise_sorts_lowercases_and_sets_dtypes():
    raw = _raw(["2024-01-03", "2024-01-02"], [11.0, 10.0])
    out = normalise_frame(raw, ticker="ABC", source="test")
    assert tuple(out.columns) == PRICE_COLUMNS
    assert out["date"].dtype == np.dtype("datetime64[ns]")
    assert all(out[c].dtype == np.float64 for c in PRICE_COLUMNS[1:])
    assert list(out["date"].dt.date) == [dt.date(2024, 1, 2), dt.date(2024, 1, 3)]
    assert list(out["close"]) == [10.0, 11.0]
    assert list(out.index) == [0, 1]


def test_normalise_uses_a_date_index_and_drops_time_and_zone():
    idx = pd.DatetimeIndex(
        ["2024-01-02 09:30", "2024-01-03 09:30"], tz="America/New_York", name="Date"
    )
    raw = _raw(["x", "y"], [10.0, 11.0]).drop(columns="Date").set_index(idx)
    out = normalise_frame(raw, ticker="ABC", source="test")
    assert out["date"].dt.tz is None
    assert list(out["date"]) == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")]


def test_normalise_does_not_modify_its_input():
    raw = _raw(["2024-01-03", "2024-01-02"], [11.0, 10.0])
    before = raw.copy()
    normalise_frame(raw, ticker="ABC", source="test")
    pd.testing.assert_frame_equal(raw, before)


def test_missing_column_names_it_and_the_ticker():
    raw = _raw(["2024-01-02"], [10.0]).drop(columns="Volume")
    with pytest.raises(BadInput, match=r"ABC.*missing column\(s\) volume"):
        normalise_frame(raw, ticker="ABC", source="test")


def test_no_rows_is_data_unavailable():
    with pytest.raises(DataUnavailable, match="ABC: no rows"):
        normalise_frame(_raw([], []), ticker="ABC", source="test")


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_close_names_the_date_and_the_fix(bad):
    raw = _raw(["2024-01-02", "2024-01-03"], [10.0, bad])
    with pytest.raises(BadInput, match=r"ABC.*2024-01-03.*close.*finite numbers > 0: fix it"):
        normalise_frame(raw, ticker="ABC", source="test", fix="fix it")


def test_negative_volume_is_rejected_but_missing_volume_is_kept_as_nan():
    raw = _raw(["2024-01-02", "2024-01-03"], [10.0, 11.0])
    raw["Volume"] = [np.nan, 5.0]
    out = normalise_frame(raw, ticker="ABC", source="test")
    assert np.isnan(out["volume"].iloc[0])
    raw["Volume"] = [1.0, -5.0]
    with pytest.raises(BadInput, match="volume = -5.0"):
        normalise_frame(raw, ticker="ABC", source="test")


def test_repeated_date_is_rejected():
    raw = _raw(["2024-01-02", "2024-01-03", "2024-01-02"], [10.0, 11.0, 12.0])
    with pytest.raises(BadInput, match="repeats the date 2024-01-02"):
        normalise_frame(raw, ticker="ABC", source="test")


def test_unsorted_dates_are_rejected_when_sorting_is_off():
    raw = _raw(["2024-01-03", "2024-01-02"], [11.0, 10.0])
    with pytest.raises(BadInput, match="sort the rows by date"):
        normalise_frame(raw, ticker="ABC", source="test", sort=False)


def test_unparsable_date_is_rejected():
    raw = _raw(["2024-01-02", "someday"], [10.0, 11.0])
    with pytest.raises(BadInput, match="'someday', which is not a date"):
        normalise_frame(raw, ticker="ABC", source="test")


def test_row_label_is_used_in_messages():
    raw = _raw(["2024-01-02", "2024-01-03"], [10.0, -2.0])
    with pytest.raises(BadInput, match="line #1"):
        normalise_frame(raw, ticker="ABC", source="test", row_label=lambda i: f"line #{i}")


def test_select_range_is_inclusive_at_both_ends():
    frame = normalise_frame(
        _raw(["2024-01-02", "2024-01-03", "2024-01-04"], [1.0, 2.0, 3.0]),
        ticker="ABC",
        source="test",
    )
    picked = select_range(frame, dt.date(2024, 1, 3), dt.date(2024, 1, 4))
    assert list(picked["close"]) == [2.0, 3.0]
    assert list(select_range(frame, None, dt.date(2024, 1, 2))["close"]) == [1.0]
    assert len(select_range(frame)) == 3


def test_empty_price_frame_has_the_documented_shape():
    frame = empty_price_frame()
    assert tuple(frame.columns) == PRICE_COLUMNS
    assert frame.empty
    assert frame["date"].dtype == np.dtype("datetime64[ns]")
    assert frame["close"].dtype == np.float64
