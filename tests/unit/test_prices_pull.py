"""pull_prices / load_or_pull with a fake source and an in-memory repository."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from stocky.adapters.prices.base import PRICE_COLUMNS, empty_price_frame, select_range
from stocky.errors import DataUnavailable
from stocky.pipelines.data import PullResult, load_or_pull, pull_prices

NOW = dt.datetime(2024, 3, 30, 22, 0, tzinfo=dt.UTC)


def _prices(start: str, end: str) -> pd.DataFrame:
    dates = pd.bdate_range(start, end)
    close = [float(100 + i) for i in range(len(dates))]
    frame = pd.DataFrame(
        {"date": dates, "open": close, "high": close, "low": close, "close": close}
    )
    frame["volume"] = 0.0
    return frame.loc[:, list(PRICE_COLUMNS)]


class FakeSource:
    name = "fake"

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.asked: list[tuple[str, dt.date | None, dt.date | None]] = []

    def fetch(
        self, ticker: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pd.DataFrame:
        self.asked.append((ticker, start, end))
        out = select_range(self.frame, start, end)
        if out.empty:
            raise DataUnavailable(f"nothing for {ticker}")
        return out

    def tickers(self) -> list[str]:
        return []


class MemoryRepo:
    """The PriceRepository methods the pipeline uses, kept in a dict."""

    def __init__(self) -> None:
        self.rows: dict[str, pd.DataFrame] = {}
        self.writes: list[tuple[str, int, str, dt.datetime]] = []

    def upsert(self, ticker, frame, *, source, fetched_at) -> int:
        self.writes.append((ticker, len(frame), source, fetched_at))
        old = self.rows.get(ticker, empty_price_frame())
        merged = pd.concat([old[~old["date"].isin(frame["date"])], frame])
        self.rows[ticker] = merged.sort_values("date").reset_index(drop=True)
        return len(frame)

    def last_date(self, ticker):
        frame = self.rows.get(ticker)
        return None if frame is None or frame.empty else frame["date"].iloc[-1].date()

    def load(self, ticker, start=None, end=None):
        return select_range(self.rows.get(ticker, empty_price_frame()), start, end)


def test_first_pull_fetches_full_history():
    source, repo = FakeSource(_prices("2024-01-01", "2024-03-28")), MemoryRepo()
    result = pull_prices(source=source, repo=repo, ticker="abc", now=NOW)
    assert source.asked == [("ABC", None, None)]
    assert result == PullResult(
        "ABC", "fake", 64, dt.date(2024, 1, 1), dt.date(2024, 3, 28), through=dt.date(2024, 3, 28)
    )
    assert repo.writes == [("ABC", 64, "fake", NOW)]


def test_next_pull_fetches_only_after_the_last_stored_session():
    source, repo = FakeSource(_prices("2024-01-01", "2024-03-28")), MemoryRepo()
    pull_prices(source=source, repo=repo, ticker="ABC", end=dt.date(2024, 3, 15), now=NOW)
    result = pull_prices(source=source, repo=repo, ticker="ABC", now=NOW)
    assert source.asked[-1] == ("ABC", dt.date(2024, 3, 15), None)  # overlap one session
    assert result.rows_added == 9  # 18..22, 25..28 March
    assert (result.first, result.last) == (dt.date(2024, 3, 18), dt.date(2024, 3, 28))
    stored = repo.load("ABC")
    assert len(stored) == 64  # Jan 23 + Feb 21 + Mar 20 weekdays
    assert stored["date"].is_unique


def test_up_to_date_store_does_not_call_the_source():
    source, repo = FakeSource(_prices("2024-01-01", "2024-03-28")), MemoryRepo()
    pull_prices(source=source, repo=repo, ticker="ABC", now=NOW)
    calls = len(source.asked)
    result = pull_prices(source=source, repo=repo, ticker="ABC", end=dt.date(2024, 3, 20), now=NOW)
    assert len(source.asked) == calls
    assert result == PullResult("ABC", "fake", 0, None, None, through=dt.date(2024, 3, 28))


def test_pull_with_nothing_new_adds_zero_rows():
    source, repo = FakeSource(_prices("2024-01-01", "2024-03-28")), MemoryRepo()
    pull_prices(source=source, repo=repo, ticker="ABC", now=NOW)
    result = pull_prices(source=source, repo=repo, ticker="ABC", now=NOW)
    assert result.rows_added == 0
    assert result.first is None


def test_start_is_honoured_for_an_empty_store():
    source, repo = FakeSource(_prices("2024-01-01", "2024-03-28")), MemoryRepo()
    result = pull_prices(
        source=source, repo=repo, ticker="ABC", start=dt.date(2024, 3, 25), now=NOW
    )
    assert result.rows_added == 4
    assert source.asked == [("ABC", dt.date(2024, 3, 25), None)]


def test_load_or_pull_pulls_when_empty_and_returns_up_to_end():
    source, repo = FakeSource(_prices("2024-01-01", "2024-03-28")), MemoryRepo()
    frame = load_or_pull(source=source, repo=repo, ticker="ABC", end=dt.date(2024, 1, 31), now=NOW)
    assert frame["date"].iloc[-1].date() == dt.date(2024, 1, 31)
    assert len(frame) == 23
    assert source.asked == [("ABC", None, dt.date(2024, 1, 31))]


def test_load_or_pull_uses_the_store_when_it_reaches_end():
    source, repo = FakeSource(_prices("2024-01-01", "2024-03-28")), MemoryRepo()
    load_or_pull(source=source, repo=repo, ticker="ABC", now=NOW)
    calls = len(source.asked)
    frame = load_or_pull(source=source, repo=repo, ticker="ABC", end=dt.date(2024, 2, 1), now=NOW)
    assert len(source.asked) == calls
    assert frame["date"].iloc[-1].date() == dt.date(2024, 2, 1)


def test_load_or_pull_propagates_an_unavailable_source():
    source, repo = FakeSource(_prices("2024-01-01", "2024-03-28")), MemoryRepo()
    with pytest.raises(DataUnavailable, match="nothing for ABC"):
        load_or_pull(source=source, repo=repo, ticker="ABC", end=dt.date(2023, 1, 1), now=NOW)
