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
        ("AAPL", dt.date(2000, 3, 1), dt.date(2013, 3, 1), 3270),
        ("IBM", dt.date(2000, 3, 1), dt.date(2013, 3, 1), 3270),
        ("GOOG", dt.date(2004, 8, 19), dt.date(2013, 3, 1), 2148),
        ("FB", dt.date(2012, 5, 18), dt.date(2013, 3, 1), 196),
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
    assert source.tickers() == ["^GSPC", "^IXIC", "MSFT", "AAPL", "GOOG", "IBM", "FB"]


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
    with pytest.raises(DataUnavailable, match=r"'TSLA' is not bundled.*\^GSPC, \^IXIC, MSFT, AAPL"):
        source.fetch("TSLA")


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


def test_the_msft_name_is_pmdarimas_longer_series_not_bokehs(source):
    frame = source.fetch("MSFT")
    assert frame["date"].iloc[0].date() == dt.date(1986, 3, 13)  # bokeh's starts in 2000


def test_bokeh_stocks_serve_adjusted_closes_with_open_high_low_scaled_alike(source):
    from bokeh_sampledata import stocks

    raw = pd.DataFrame(stocks.IBM)
    frame = source.fetch("IBM")
    np.testing.assert_allclose(frame["close"].to_numpy(), raw["adj_close"].to_numpy())
    factor = (raw["adj_close"] / raw["close"]).to_numpy()
    np.testing.assert_allclose(frame["high"].to_numpy(), raw["high"].to_numpy() * factor)
    assert frame["volume"].tolist() == raw["volume"].astype(float).tolist()
    assert source.name == "bundled"


def test_raw_closes_are_reachable_under_their_own_source_name():
    from bokeh_sampledata import stocks

    raw_source = BundledSource(closes="raw")
    frame = raw_source.fetch("AAPL")
    assert frame["close"].tolist() == pd.DataFrame(stocks.AAPL)["close"].tolist()
    assert raw_source.name == "bundled-raw"
    # the indices have nothing to adjust: the same either way
    assert raw_source.fetch("^GSPC")["close"].equals(BundledSource().fetch("^GSPC")["close"])


def test_quality_gate_flags_the_2005_aapl_split_in_raw_closes_only():
    from stocky.core.quality import check_prices

    day = "from 2005-02-25 to 2005-02-28"
    raw = check_prices(BundledSource(closes="raw").fetch("AAPL"), min_rows=250).warnings
    (split,) = [w for w in raw if day in w]
    assert "-49.6%" in split
    assert "matches a 2:1 split" in split
    adjusted = check_prices(BundledSource().fetch("AAPL"), min_rows=250).warnings
    assert not [w for w in adjusted if day in w or "2000-06-21" in w]


def test_unknown_close_kind_is_refused():
    from stocky.errors import BadInput

    with pytest.raises(BadInput, match="pass 'adjusted' or 'raw'"):
        BundledSource(closes="split")  # type: ignore[arg-type]
