"""BundledSource: the real offline datasets, their exact ranges, and clear errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stocky.adapters.prices import bundled
from stocky.adapters.prices.bundled import BUNDLED_TICKERS, BundledSource
from stocky.errors import DataUnavailable


@pytest.fixture(scope="module")
def source() -> BundledSource:
    return BundledSource()


@pytest.mark.parametrize(
    ("ticker", "first", "last", "rows"),
    [
        ("^GSPC", dt.date(1999, 1, 4), dt.date(2018, 12, 31), 5031),
        ("^IXIC", dt.date(1999, 1, 4), dt.date(2018, 12, 31), 5031),
        ("MSFT", dt.date(1986, 3, 13), dt.date(2017, 11, 10), 7983),
    ],
)
def test_ranges_and_row_counts(source, ticker, first, last, rows):
    frame = source.fetch(ticker)
    assert len(frame) == rows
    assert frame["date"].iloc[0].date() == first
    assert frame["date"].iloc[-1].date() == last
    assert frame["date"].is_monotonic_increasing
    assert frame["date"].is_unique
    assert frame["date"].dtype == np.dtype("datetime64[ns]")


def test_describe_lists_every_bundled_ticker(source):
    described = source.describe()
    assert [row[0] for row in described] == list(BUNDLED_TICKERS)
    assert described[0] == ("^GSPC", dt.date(1999, 1, 4), dt.date(2018, 12, 31), 5031)
    assert source.tickers() == ["^GSPC", "^IXIC", "MSFT"]


def test_close_is_the_raw_close_not_adj_close(source, sp500_frame):
    frame = source.fetch("^GSPC")
    np.testing.assert_array_equal(frame["close"].to_numpy(), sp500_frame["Close"].to_numpy())
    np.testing.assert_array_equal(frame["open"].to_numpy(), sp500_frame["Open"].to_numpy())


def test_adj_close_is_ignored(monkeypatch):
    def loader() -> pd.DataFrame:
        index = pd.DatetimeIndex(["2020-01-02"], name="Date")
        return pd.DataFrame(
            {
                "Open": [9.0],
                "High": [11.0],
                "Low": [8.0],
                "Close": [10.0],
                "Adj Close": [5.0],
                "Volume": [3],
            },
            index=index,
        )

    monkeypatch.setitem(bundled._LOADERS, "^GSPC", loader)
    frame = BundledSource().fetch("^GSPC")
    assert frame["close"].tolist() == [10.0]
    assert frame[["open", "high", "low", "volume"]].iloc[0].tolist() == [9.0, 11.0, 8.0, 3.0]


def test_msft_matches_pmdarima(source):
    from pmdarima.datasets import load_msft

    raw = load_msft()
    frame = source.fetch("msft")  # case-insensitive
    assert frame["close"].iloc[-1] == raw["Close"].iloc[-1] == 83.87
    assert frame["volume"].iloc[-1] == raw["Volume"].iloc[-1]


def test_range_is_inclusive(source):
    frame = source.fetch("^GSPC", dt.date(2018, 12, 24), dt.date(2018, 12, 31))
    # 25 Dec is a holiday: 24, 26, 27, 28, 31
    assert [d.day for d in frame["date"].dt.date] == [24, 26, 27, 28, 31]
    assert frame.index.tolist() == [0, 1, 2, 3, 4]


def test_unknown_ticker_lists_the_known_ones(source):
    with pytest.raises(DataUnavailable, match=r"'AAPL' is not bundled.*\^GSPC, \^IXIC, MSFT"):
        source.fetch("AAPL")


def test_range_outside_the_data(source):
    with pytest.raises(DataUnavailable, match=r"cover 1999-01-04 \.\. 2018-12-31"):
        source.fetch("^GSPC", dt.date(2020, 1, 1))


def test_each_dataset_is_loaded_once_per_instance(monkeypatch):
    calls: list[str] = []

    def fake_loader() -> pd.DataFrame:
        calls.append("load")
        index = pd.DatetimeIndex(["2020-01-02", "2020-01-03"], name="Date")
        values = [1.0, 2.0]
        return pd.DataFrame(
            {"Open": values, "High": values, "Low": values, "Close": values, "Volume": [1, 2]},
            index=index,
        )

    monkeypatch.setitem(bundled._LOADERS, "^GSPC", fake_loader)
    first = BundledSource()
    first.fetch("^GSPC")
    first.fetch("^GSPC", dt.date(2020, 1, 3))
    assert calls == ["load"]
    BundledSource().fetch("^GSPC")
    assert calls == ["load", "load"]
