"""CsvSource: every problem in a user's file is a BadInput naming file, row, value and fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from stocky.adapters.prices.csv import CsvSource
from stocky.errors import BadInput, DataUnavailable

GOOD = """Date,Open,High,Low,Close,Volume
2024-01-02,10,11,9,10.5,1000
2024-01-03,10.5,12,10,11.5,2000
2024-01-04,11.5,12,11,11.0,1500
"""


def _write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_reads_every_row_with_all_columns(tmp_path):
    frame = CsvSource(_write(tmp_path, GOOD)).fetch("ABC")
    assert len(frame) == 3
    assert list(frame["close"]) == [10.5, 11.5, 11.0]
    assert list(frame["volume"]) == [1000.0, 2000.0, 1500.0]
    assert frame["date"].iloc[0].date() == dt.date(2024, 1, 2)


def test_only_date_and_close_any_case_fills_the_rest_from_close(tmp_path):
    path = _write(tmp_path, "  date ,CLOSE\n2024-01-02,10.5\n2024-01-03,11.5\n")
    frame = CsvSource(path).fetch("ABC")
    assert list(frame["open"]) == [10.5, 11.5]
    assert list(frame["high"]) == list(frame["close"])
    assert list(frame["low"]) == list(frame["close"])
    assert list(frame["volume"]) == [0.0, 0.0]


def test_blank_volume_is_kept_as_unknown(tmp_path):
    path = _write(tmp_path, "Date,Close,Volume\n2024-01-02,10.5,\n2024-01-03,11.5,7\n")
    frame = CsvSource(path).fetch("ABC")
    assert np.isnan(frame["volume"].iloc[0])
    assert frame["volume"].iloc[1] == 7.0


def test_range_is_inclusive(tmp_path):
    source = CsvSource(_write(tmp_path, GOOD))
    frame = source.fetch("ABC", dt.date(2024, 1, 3), dt.date(2024, 1, 4))
    assert list(frame["close"]) == [11.5, 11.0]


def test_range_with_no_rows_is_data_unavailable(tmp_path):
    with pytest.raises(DataUnavailable, match="widen the range"):
        CsvSource(_write(tmp_path, GOOD)).fetch("ABC", dt.date(2025, 1, 1))


def test_file_for_another_ticker(tmp_path):
    source = CsvSource(_write(tmp_path, GOOD), ticker="abc")
    assert source.tickers() == ["ABC"]
    assert len(source.fetch("abc")) == 3
    with pytest.raises(DataUnavailable, match="holds prices for ABC, not XYZ"):
        source.fetch("XYZ")


def test_untagged_file_lists_no_tickers(tmp_path):
    assert CsvSource(_write(tmp_path, GOOD)).tickers() == []


def _error(tmp_path: Path, text: str) -> str:
    with pytest.raises(BadInput) as info:
        CsvSource(_write(tmp_path, text)).fetch("ABC")
    message = str(info.value)
    assert "prices.csv" in message  # every message names the file
    return message


def test_missing_file(tmp_path):
    with pytest.raises(BadInput, match=r"nope\.csv does not exist: set STOCKY_CSV_PATH"):
        CsvSource(tmp_path / "nope.csv").fetch("ABC")


def test_empty_file(tmp_path):
    assert "not a readable CSV file" in _error(tmp_path, "")


def test_header_without_rows(tmp_path):
    assert "no data rows" in _error(tmp_path, "Date,Close\n")


def test_missing_close_column(tmp_path):
    message = _error(tmp_path, "Date,Price\n2024-01-02,10\n")
    assert "missing column(s) Close (found: 'Date', 'Price')" in message
    assert "header needs Date and Close" in message


def test_missing_date_column(tmp_path):
    assert "missing column(s) Date" in _error(tmp_path, "Day,Close\n2024-01-02,10\n")


def test_same_column_twice_in_different_case(tmp_path):
    message = _error(tmp_path, "Date,Close,close\n2024-01-02,10,10\n")
    assert "'Close' and 'close' both mean close" in message


def test_unparsable_date(tmp_path):
    message = _error(tmp_path, "Date,Close\n2024-01-02,10\n2024-13-45,11\n")
    assert "data row 2 (line 3 counting the header)" in message
    assert "'2024-13-45', which is not a date" in message
    assert "e.g. 2024-01-31" in message


def test_blank_date(tmp_path):
    message = _error(tmp_path, "Date,Close\n2024-01-02,10\n,11\n")
    assert "data row 2" in message
    assert "Date '', which is not a date" in message


def test_duplicate_date(tmp_path):
    text = "Date,Close\n2024-01-02,10\n2024-01-03,11\n2024-01-03,12\n"
    message = _error(tmp_path, text)
    assert "data row 3 (line 4 counting the header) repeats the date 2024-01-03" in message
    assert "data row 2" in message
    assert "keep exactly one row per date" in message


def test_unsorted_dates(tmp_path):
    text = "Date,Close\n2024-01-02,10\n2024-01-04,11\n2024-01-03,12\n"
    message = _error(tmp_path, text)
    assert "data row 3 (line 4 counting the header) has date 2024-01-03" in message
    assert "sort the rows by date" in message


@pytest.mark.parametrize(
    ("cell", "shown"), [("", "nan"), ("NaN", "nan"), ("0", "0.0"), ("-3.5", "-3.5")]
)
def test_bad_close_values(tmp_path, cell, shown):
    message = _error(tmp_path, f"Date,Close\n2024-01-02,10\n2024-01-03,{cell}\n")
    assert f"data row 2 (line 3 counting the header) has close = {shown}" in message
    assert "finite numbers > 0: correct or delete that row in the file" in message


def test_text_in_a_price_column(tmp_path):
    message = _error(tmp_path, "Date,Close\n2024-01-02,$10\n")
    assert (
        "data row 1 (line 2 counting the header) has Close '$10', which is not a number" in message
    )
    assert "no currency signs" in message


def test_bad_optional_price_column(tmp_path):
    message = _error(tmp_path, "Date,Open,Close\n2024-01-02,10,10\n2024-01-03,-1,11\n")
    assert "data row 2 (line 3 counting the header) has open = -1.0" in message


def test_negative_volume(tmp_path):
    message = _error(tmp_path, "Date,Close,Volume\n2024-01-02,10,-5\n")
    assert "data row 1" in message
    assert "volume = -5.0" in message


def test_no_row_is_dropped_even_when_only_one_is_bad(tmp_path):
    rows = "".join(f"2024-02-{d:02d},{d}\n" for d in range(1, 29))
    rows = rows.replace("2024-02-15,15", "2024-02-15,0")
    with pytest.raises(BadInput, match="data row 15 "):
        CsvSource(_write(tmp_path, "Date,Close\n" + rows)).fetch("ABC")
