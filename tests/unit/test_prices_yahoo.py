"""YahooSource against a fake `download` shaped like yfinance 1.x output (never the network)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from stocky.adapters.prices.yahoo import YahooSource
from stocky.errors import DataUnavailable

SESSIONS = pd.bdate_range("2024-03-01", "2024-03-28")


def yf_frame(
    ticker: str, dates: pd.DatetimeIndex = SESSIONS, *, multi_level_index: bool = True
) -> pd.DataFrame:
    """What `yfinance.download(ticker, auto_adjust=False, ...)` returns for one ticker."""
    close = 5000.0 + np.arange(len(dates), dtype=float)
    frame = pd.DataFrame(
        {
            "Adj Close": close - 100.0,
            "Close": close,
            "High": close + 10.0,
            "Low": close - 10.0,
            "Open": close - 1.0,
            "Volume": np.full(len(dates), 4_000_000_000, dtype="int64"),
        },
        index=pd.DatetimeIndex(dates, name="Date"),
    )
    if multi_level_index:
        frame.columns = pd.MultiIndex.from_product(
            [frame.columns, [ticker]], names=["Price", "Ticker"]
        )
    return frame


class FakeDownload:
    """Replays scripted answers (frames or exceptions) and records every call."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, ticker: str, **kwargs: Any) -> pd.DataFrame:
        self.calls.append((ticker, kwargs))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer


def empty_yf_frame() -> pd.DataFrame:
    return yf_frame("^GSPC", pd.DatetimeIndex([]))


def make(download: FakeDownload, retries: int = 3) -> tuple[YahooSource, list[float]]:
    slept: list[float] = []
    source = YahooSource(
        timeout=4.0, retries=retries, backoff=0.5, download=download, sleep=slept.append
    )
    return source, slept


def test_multiindex_columns_give_raw_close_and_explicit_arguments():
    download = FakeDownload(yf_frame("^GSPC"))
    source, slept = make(download)
    frame = source.fetch("^gspc", dt.date(2024, 3, 1), dt.date(2024, 3, 28))
    assert len(frame) == len(SESSIONS)
    assert frame["close"].iloc[0] == 5000.0  # Close, not Adj Close (4900)
    assert frame["open"].iloc[0] == 4999.0
    assert frame["volume"].iloc[0] == 4e9
    assert frame["date"].iloc[-1].date() == dt.date(2024, 3, 28)
    ticker, kwargs = download.calls[0]
    assert ticker == "^GSPC"
    assert kwargs["auto_adjust"] is False
    assert kwargs["interval"] == "1d"
    assert kwargs["progress"] is False
    assert kwargs["threads"] is False
    assert kwargs["timeout"] == 4.0
    assert kwargs["start"] == dt.date(2024, 3, 1)
    assert kwargs["end"] == dt.date(2024, 3, 29)  # yfinance's end is exclusive
    assert "period" not in kwargs
    assert slept == []


def test_flat_columns_work_too():
    download = FakeDownload(yf_frame("MSFT", multi_level_index=False))
    frame, _ = make(download)[0].fetch("MSFT"), None
    assert list(frame["close"].iloc[:2]) == [5000.0, 5001.0]


def test_no_start_asks_for_the_whole_history():
    download = FakeDownload(yf_frame("^GSPC"))
    make(download)[0].fetch("^GSPC")
    _, kwargs = download.calls[0]
    assert kwargs["period"] == "max"
    assert "start" not in kwargs
    assert kwargs["end"] is None


def test_rows_outside_the_range_are_trimmed():
    download = FakeDownload(yf_frame("^GSPC"))
    frame = make(download)[0].fetch("^GSPC", dt.date(2024, 3, 26), dt.date(2024, 3, 27))
    assert [d.day for d in frame["date"].dt.date] == [26, 27]


def test_answer_for_another_ticker_is_refused():
    download = FakeDownload(yf_frame("AAPL"))
    with pytest.raises(DataUnavailable, match="answered for AAPL, not MSFT"):
        make(download)[0].fetch("MSFT")


def test_transient_errors_are_retried_with_exponential_backoff():
    download = FakeDownload(
        ConnectionError("reset"), TimeoutError("slow"), empty_yf_frame(), yf_frame("^GSPC")
    )
    source, slept = make(download)
    frame = source.fetch("^GSPC")
    assert len(frame) == len(SESSIONS)
    assert len(download.calls) == 4
    assert slept == [0.5, 1.0, 2.0]


def test_yfinance_own_exceptions_are_retried():
    rate_limited = type("YFRateLimitError", (Exception,), {"__module__": "yfinance.exceptions"})
    download = FakeDownload(rate_limited("Too Many Requests"), yf_frame("^GSPC"))
    source, slept = make(download)
    assert len(source.fetch("^GSPC")) == len(SESSIONS)
    assert slept == [0.5]


def test_retries_exhausted_is_data_unavailable():
    download = FakeDownload(OSError("network is unreachable"))
    source, slept = make(download, retries=2)
    with pytest.raises(DataUnavailable) as info:
        source.fetch("^GSPC", dt.date(2024, 3, 1), dt.date(2024, 3, 28))
    message = str(info.value)
    assert "^GSPC (2024-03-01 .. 2024-03-28) after 3 attempt(s)" in message
    assert "network is unreachable" in message
    assert "STOCKY_PRICE_SOURCE=bundled" in message
    assert len(download.calls) == 3
    assert slept == [0.5, 1.0]


def test_empty_frame_every_time_suggests_checking_the_symbol():
    download = FakeDownload(empty_yf_frame())
    source, slept = make(download, retries=1)
    with pytest.raises(DataUnavailable) as info:
        source.fetch("NOPE")
    message = str(info.value)
    assert "no prices for NOPE" in message
    assert "an empty frame" in message
    assert "Check the symbol" in message
    assert "STOCKY_PRICE_SOURCE=bundled" in message
    assert slept == [0.5]


def test_programming_errors_are_not_retried():
    download = FakeDownload(ValueError("Setting period, start and end is nonsense"))
    source, slept = make(download)
    with pytest.raises(ValueError, match="nonsense"):
        source.fetch("^GSPC")
    assert len(download.calls) == 1
    assert slept == []


def test_missing_last_bar_is_data_unavailable():
    stale = yf_frame("^GSPC", pd.bdate_range("2024-03-01", "2024-03-15"))
    download = FakeDownload(stale)
    with pytest.raises(DataUnavailable) as info:
        make(download)[0].fetch("^GSPC", dt.date(2024, 3, 1), dt.date(2024, 3, 28))
    message = str(info.value)
    assert "stop at 2024-03-15" in message
    assert "asked end 2024-03-28" in message
    assert "STOCKY_PRICE_SOURCE=bundled" in message


def test_a_last_bar_within_five_days_of_end_is_fine():
    # Data to Thursday 28 March 2024 (Good Friday closed); asked through Tuesday 2 April.
    download = FakeDownload(yf_frame("^GSPC"))
    frame = make(download)[0].fetch("^GSPC", dt.date(2024, 3, 1), dt.date(2024, 4, 2))
    assert frame["date"].iloc[-1].date() == dt.date(2024, 3, 28)


def test_nothing_inside_the_range():
    download = FakeDownload(yf_frame("^GSPC"))
    with pytest.raises(DataUnavailable, match=r"no prices for \^GSPC in 2024-03-30"):
        make(download)[0].fetch("^GSPC", dt.date(2024, 3, 30), dt.date(2024, 3, 31))


def test_lists_no_tickers():
    assert YahooSource(download=FakeDownload(empty_yf_frame())).tickers() == []
