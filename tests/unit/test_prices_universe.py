"""Many tickers from files: long-format CSV and Parquet, a folder of <TICKER>.csv, and their errors."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import pandas as pd
import pytest

from stocky.adapters.prices import (
    CsvSource,
    FolderSource,
    LongFileSource,
    open_price_file,
)
from stocky.config import Settings
from stocky.errors import BadInput, DataUnavailable
from stocky.wiring import make_price_source

LONG = """Ticker,Date,Open,High,Low,Close,Volume
AAA,2024-01-02,10,11,9,10.5,100
bbb,2024-01-02,20,21,19,20.5,200
AAA,2024-01-03,10.5,12,10,11.5,300
BBB,2024-01-03,20.5,22,20,21.5,400
"""


def _write(tmp_path: Path, text: str, name: str = "universe.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_long_csv_serves_every_ticker_with_its_own_rows(tmp_path):
    source = open_price_file(_write(tmp_path, LONG))
    assert isinstance(source, LongFileSource)
    assert source.name == "csv"
    assert source.tickers() == ["AAA", "BBB"]  # normalised, first-appearance order
    aaa = source.fetch("aaa")
    assert aaa["close"].tolist() == [10.5, 11.5]
    assert aaa["volume"].tolist() == [100.0, 300.0]
    bbb = source.fetch("BBB", start=dt.date(2024, 1, 3))
    assert bbb["close"].tolist() == [21.5]


def test_symbol_column_works_like_ticker_and_both_at_once_is_refused(tmp_path):
    path = _write(tmp_path, "symbol,date,close\nX,2024-01-02,1\n")
    assert open_price_file(path).tickers() == ["X"]
    both = _write(tmp_path, "Ticker,Symbol,Date,Close\nX,X,2024-01-02,1\n", "both.csv")
    with pytest.raises(BadInput, match="both Ticker and Symbol columns"):
        open_price_file(both).tickers()


def test_a_bad_value_names_the_line_in_the_file_and_fails_only_that_ticker(tmp_path):
    text = LONG.replace("BBB,2024-01-03,20.5,22,20,21.5", "BBB,2024-01-03,20.5,22,20,0")
    source = open_price_file(_write(tmp_path, text))
    with pytest.raises(BadInput) as info:
        source.fetch("BBB")
    message = str(info.value)
    assert "data row 4 (line 5 counting the header) has close = 0.0" in message
    assert "correct or delete that row in the file" in message
    assert source.fetch("AAA")["close"].tolist() == [10.5, 11.5]


def test_an_implausible_jump_names_its_row(tmp_path):
    text = LONG.replace("AAA,2024-01-03,10.5,12,10,11.5", "AAA,2024-01-03,10.5,12,10,1150")
    with pytest.raises(BadInput, match=r"data row 3 \(line 4.*close = 1150.0, which jumps x109.5"):
        open_price_file(_write(tmp_path, text)).fetch("AAA")


def test_an_unparsable_cell_fails_only_its_ticker_naming_the_row(tmp_path):
    text = LONG.replace("bbb,2024-01-02", "bbb,someday")
    source = open_price_file(_write(tmp_path, text))
    assert source.tickers() == ["AAA", "BBB"]
    with pytest.raises(BadInput, match=r"data row 2 \(line 3 .*Date 'someday'.*BBB's"):
        source.fetch("BBB")
    assert source.fetch("AAA")["close"].tolist() == [10.5, 11.5]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("Close=abc", r"data row 998 \(line 999 .*Close 'abc', which is not a number"),
        ("Date=notadate", r"data row 998 \(line 999 .*Date 'notadate', which is not a date"),
        ("Close=-5", r"data row 998 \(line 999 .*close = -5.0"),
    ],
)
def test_one_bad_cell_in_a_long_file_fails_one_ticker_of_many(tmp_path, cell, message):
    dates = pd.bdate_range("2020-01-01", periods=100)
    rows = [
        {"Ticker": f"T{t}", "Date": f"{d:%Y-%m-%d}", "Close": f"{10 + t + i / 100:.2f}"}
        for t in range(10)
        for i, d in enumerate(dates)
    ]
    column, value = cell.split("=")
    rows[997][column] = value  # T9's 98th row
    path = tmp_path / "long.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    source = open_price_file(path)
    assert source.tickers() == [f"T{t}" for t in range(10)]
    with pytest.raises(BadInput, match=message):
        source.fetch("T9")
    for t in range(9):
        assert len(source.fetch(f"T{t}")) == 100


def test_unsorted_dates_within_one_ticker_are_refused(tmp_path):
    text = "Ticker,Date,Close\nA,2024-01-03,1\nB,2024-01-01,1\nA,2024-01-02,1\n"
    with pytest.raises(BadInput, match=r"data row 3 .*sort the rows by date"):
        open_price_file(_write(tmp_path, text)).fetch("A")


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("<img src=x onerror=alert(1)>", r"'\x3cimg src=x onerror=alert(1)\x3e'"),
        ("", "''"),
        ("A B", "'A B'"),
        ("A/B", "'A/B'"),
    ],
)
def test_a_cell_that_is_not_a_ticker_is_left_out_naming_its_row(tmp_path, cell, shown):
    text = f"Ticker,Date,Close\nOK,2024-01-02,1\n{cell},2024-01-02,1\n{cell},2024-01-03,1\n"
    source = open_price_file(_write(tmp_path, text))
    assert source.tickers() == ["OK"]
    assert source.fetch("OK")["close"].tolist() == [1.0]
    rejected = source.rejected()  # type: ignore[attr-defined]
    assert list(rejected) == [shown]
    message = str(rejected[shown])
    assert (
        "data row 2 (line 3 counting the header) (and 1 more rows) has ticker " + shown in message
    )
    assert "is not a symbol" in message and "<" not in message


def test_an_unknown_ticker_lists_some_known_ones(tmp_path):
    with pytest.raises(DataUnavailable, match="no prices for ZZZ; it holds AAA, BBB"):
        open_price_file(_write(tmp_path, LONG)).fetch("ZZZ")


def test_a_plain_csv_is_still_the_one_ticker_source(tmp_path):
    source = open_price_file(_write(tmp_path, "Date,Close\n2024-01-02,1\n"))
    assert isinstance(source, CsvSource)
    assert source.tickers() == []


def test_parquet_with_typed_columns_and_row_numbers_in_errors(tmp_path):
    frame = pd.DataFrame(
        {
            "Ticker": ["AAA", "BBB", "AAA"],
            "Date": pd.to_datetime(["2024-01-02", "2024-01-02", "2024-01-03"]),
            "Close": [10.0, 20.0, 11.0],
            "Volume": [1, 2, 3],
        }
    )
    path = tmp_path / "universe.parquet"
    frame.to_parquet(path)
    source = open_price_file(path)
    assert isinstance(source, LongFileSource)
    assert source.name == "parquet"
    assert source.tickers() == ["AAA", "BBB"]
    assert source.fetch("AAA")["close"].tolist() == [10.0, 11.0]
    frame.loc[2, "Close"] = float("nan")
    frame.to_parquet(path)
    with pytest.raises(BadInput, match=r"row 3 \(counting from 1\) has close = nan"):
        open_price_file(path).fetch("AAA")


def test_a_corrupt_parquet_file_says_how_to_write_one(tmp_path):
    path = _write(tmp_path, "not parquet", "bad.parquet")
    with pytest.raises(BadInput, match="is not a readable Parquet file"):
        open_price_file(path).tickers()


def test_folder_of_ticker_files(tmp_path):
    folder = tmp_path / "prices"
    folder.mkdir()
    (folder / "brk-b.csv").write_text("Date,Close\n2024-01-02,400\n")
    (folder / "AAA.csv").write_text("Date,Close\n2024-01-02,10\n2024-01-03,0\n")
    (folder / "notes.txt").write_text("ignored")
    source = open_price_file(folder)
    assert isinstance(source, FolderSource)
    assert source.tickers() == ["AAA", "BRK-B"]
    assert source.fetch("BRK-B")["close"].tolist() == [400.0]
    with pytest.raises(BadInput, match=r"AAA\.csv prices for AAA: data row 2 .* close = 0.0"):
        source.fetch("AAA")


def test_folder_errors_name_the_file(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadInput, match="holds no .csv files"):
        FolderSource(empty).tickers()
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "<b>.csv").write_text("Date,Close\n2024-01-02,1\n")
    (hostile / "OK.csv").write_text("Date,Close\n2024-01-02,1\n")
    folder = FolderSource(hostile)
    assert folder.tickers() == ["OK"]
    rejected = folder.rejected()
    assert list(rejected) == [r"'\x3cb\x3e.csv'"]
    assert r"file '\x3cb\x3e.csv' is not named by a ticker" in str(rejected[r"'\x3cb\x3e.csv'"])
    twice = tmp_path / "twice"
    twice.mkdir()
    (twice / "abc.csv").write_text("Date,Close\n2024-01-02,1\n")
    (twice / "ABC.csv").write_text("Date,Close\n2024-01-02,1\n")
    (twice / "XYZ.csv").write_text("Date,Close\n2024-01-02,1\n")
    folder = FolderSource(twice)
    assert folder.tickers() == ["ABC", "XYZ"]
    with pytest.raises(BadInput, match="are both ABC"):
        folder.fetch("ABC")
    assert len(folder.fetch("XYZ")) == 1


def test_settings_pick_the_file_source(tmp_path):
    settings = Settings(home=tmp_path, price_source="csv", csv_path=_write(tmp_path, LONG))
    assert make_price_source(settings).tickers() == ["AAA", "BBB"]


def test_a_parquet_integer_date_is_refused_by_column_without_a_warning(tmp_path):
    frame = pd.DataFrame({"Ticker": ["A", "A"], "Date": [0, 1], "Close": [1.0, 2.0]})
    path = tmp_path / "int_dates.parquet"
    frame.to_parquet(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no pandas warning leaks out
        with pytest.raises(BadInput) as info:
            open_price_file(path).tickers()
    message = str(info.value)
    assert "column 'Date' holds int64 numbers, not dates" in message
    assert "pd.to_datetime(df['Date'], unit='D')" in message
    assert "np.int64" not in message
