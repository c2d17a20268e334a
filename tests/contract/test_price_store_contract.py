"""The PriceStore port's contract, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stocky.adapters.prices.base import PRICE_COLUMNS

NOW = dt.datetime(2024, 1, 2, 21, 30, tzinfo=dt.UTC)


def _frame(start: str, closes: list[float], *, volume: float = 1000.0) -> pd.DataFrame:
    dates = pd.bdate_range(start, periods=len(closes))
    frame = pd.DataFrame({"date": dates.astype("datetime64[ns]")})
    for col in ("open", "high", "low", "close"):
        frame[col] = np.asarray(closes, dtype=float)
    frame["volume"] = volume
    return frame


def _assert_price_frame(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(PRICE_COLUMNS)
    assert frame["date"].dtype == "datetime64[ns]"
    assert all(frame[c].dtype == "float64" for c in PRICE_COLUMNS[1:])


def test_upsert_returns_rows_written_and_load_reads_them_oldest_first(stores):
    prices = stores.prices
    frame = _frame("2024-01-01", [10.0, 11.0, 12.0])
    assert prices.upsert("AAA", frame.iloc[::-1], source="bundled", fetched_at=NOW) == 3
    loaded = prices.load("AAA")
    _assert_price_frame(loaded)
    pd.testing.assert_frame_equal(loaded, frame)


def test_upsert_is_idempotent_and_replaces_rows_of_the_same_date(stores):
    prices = stores.prices
    frame = _frame("2024-01-01", [10.0, 11.0, 12.0])
    prices.upsert("AAA", frame, source="bundled", fetched_at=NOW)
    prices.upsert("AAA", frame, source="bundled", fetched_at=NOW)
    assert len(prices.load("AAA")) == 3
    newer = _frame("2024-01-03", [99.0, 13.0])  # overlaps one date, adds one
    assert prices.upsert("AAA", newer, source="yahoo", fetched_at=NOW) == 2
    assert prices.load("AAA")["close"].tolist() == [10.0, 11.0, 99.0, 13.0]
    assert prices.upsert("AAA", frame.iloc[:0], source="x", fetched_at=NOW) == 0


def test_load_of_an_unknown_ticker_or_empty_range_is_an_empty_price_frame(stores):
    prices = stores.prices
    _assert_price_frame(prices.load("NONE"))
    assert prices.load("NONE").empty
    prices.upsert("AAA", _frame("2024-01-01", [1.0, 2.0]), source="s", fetched_at=NOW)
    empty = prices.load("AAA", start=dt.date(2025, 1, 1))
    assert empty.empty
    _assert_price_frame(empty)
    assert prices.last_date("NONE") is None


def test_load_bounds_are_inclusive_and_last_keeps_the_newest_rows(stores):
    prices = stores.prices
    prices.upsert(
        "AAA", _frame("2024-01-01", [1.0, 2.0, 3.0, 4.0, 5.0]), source="s", fetched_at=NOW
    )
    ranged = prices.load("AAA", dt.date(2024, 1, 2), dt.date(2024, 1, 4))
    assert ranged["close"].tolist() == [2.0, 3.0, 4.0]
    tail = prices.load("AAA", end=dt.date(2024, 1, 4), last=2)
    assert tail["close"].tolist() == [3.0, 4.0] and tail.index.tolist() == [0, 1]


def test_volume_is_stored_whole_and_unknown_volume_stays_unknown(stores):
    prices = stores.prices
    frame = _frame("2024-01-01", [1.0, 2.0], volume=1234.6)
    frame.loc[1, "volume"] = np.nan
    prices.upsert("AAA", frame, source="s", fetched_at=NOW)
    volume = prices.load("AAA")["volume"]
    assert volume.iloc[0] == 1235.0 and np.isnan(volume.iloc[1])


def test_replace_drops_what_the_ticker_had(stores):
    prices = stores.prices
    prices.upsert("AAA", _frame("2024-01-01", [1.0, 2.0, 3.0]), source="s", fetched_at=NOW)
    prices.upsert("BBB", _frame("2024-01-01", [5.0]), source="s", fetched_at=NOW)
    assert prices.replace("AAA", _frame("2024-02-01", [7.0]), source="t", fetched_at=NOW) == 1
    assert prices.load("AAA")["close"].tolist() == [7.0]
    assert prices.load("BBB")["close"].tolist() == [5.0]  # other tickers untouched
    assert prices.replace("AAA", _frame("2024-02-01", [])[:0], source="t", fetched_at=NOW) == 0
    assert prices.load("AAA").empty and prices.last_date("AAA") is None
    assert "AAA" not in prices.last_dates()


def test_store_many_writes_every_ticker_and_load_many_answers_every_ticker_asked(stores):
    prices = stores.prices
    frames = {"BBB": _frame("2024-01-01", [1.0, 2.0]), "AAA": _frame("2024-01-02", [3.0])}
    assert prices.store_many(frames, source="s", fetched_at=NOW) == 3
    loaded = prices.load_many(["AAA", "NONE", "BBB"], end=dt.date(2024, 1, 2))
    assert list(loaded) == ["AAA", "NONE", "BBB"]
    assert loaded["AAA"]["close"].tolist() == [3.0]
    assert loaded["BBB"]["close"].tolist() == [1.0, 2.0]
    assert loaded["NONE"].empty
    for frame in loaded.values():
        _assert_price_frame(frame)
    assert (
        prices.store_many(
            {"AAA": _frame("2024-03-01", [9.0])}, source="s", fetched_at=NOW, replace=True
        )
        == 1
    )
    assert prices.load("AAA")["close"].tolist() == [9.0]


def test_last_dates_and_summary_describe_what_is_stored(stores):
    prices = stores.prices
    assert prices.last_dates() == {} and prices.summary() == []
    prices.upsert("BBB", _frame("2024-01-01", [1.0, 2.0]), source="yahoo", fetched_at=NOW)
    prices.upsert("AAA", _frame("2024-01-01", [1.0]), source="bundled", fetched_at=NOW)
    prices.upsert("BBB", _frame("2024-01-03", [3.0]), source="csv", fetched_at=NOW)
    assert prices.last_date("BBB") == dt.date(2024, 1, 3)
    assert prices.last_dates() == {"AAA": dt.date(2024, 1, 1), "BBB": dt.date(2024, 1, 3)}
    summary = prices.summary()
    assert [tuple(s) for s in summary] == [
        ("AAA", dt.date(2024, 1, 1), dt.date(2024, 1, 1), 1, "bundled"),
        ("BBB", dt.date(2024, 1, 1), dt.date(2024, 1, 3), 3, "csv,yahoo"),
    ]


@pytest.mark.parametrize("hour", [0, 16])
def test_a_date_with_a_time_is_stored_as_its_session(stores, hour):
    prices = stores.prices
    frame = _frame("2024-01-01", [1.0])
    frame["date"] = frame["date"] + pd.Timedelta(hours=hour)
    prices.upsert("AAA", frame, source="s", fetched_at=NOW)
    assert prices.load("AAA")["date"].tolist() == [pd.Timestamp("2024-01-01")]
    assert prices.last_date("AAA") == dt.date(2024, 1, 1)
