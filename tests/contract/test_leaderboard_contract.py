"""The Leaderboard port's contract, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest

from stocky.errors import BadInput
from synthetic_board import TRAINED_AT, board_rows


def _key(rows):
    return [(r.ticker, r.version, r.stage, r.model_type, r.interval) for r in rows]


def test_replace_stores_and_latest_reads_back_in_order(board):
    rows = board_rows("BBB", 1, 3)
    assert board.replace("BBB", 1, rows) == 8
    board.replace("AAA", 2, board_rows("AAA", 2, 0))
    got = board.latest()
    assert [r.ticker for r in got] == ["AAA"] * 8 + ["BBB"] * 8
    # ticker, then "test" before "validation", then model_type, then interval
    assert _key(got[:4]) == [
        ("AAA", 2, "test", "arima", "ewma"),
        ("AAA", 2, "test", "arima", "garch"),
        ("AAA", 2, "test", "naive", "ewma"),
        ("AAA", 2, "test", "naive", "garch"),
    ]
    stored = {(r.stage, r.model_type, r.interval): r for r in got if r.ticker == "BBB"}
    original = rows[3]  # validation, arima, garch: the champion
    assert original.chosen and original.stage == "validation"
    back = stored[(original.stage, original.model_type, original.interval)]
    assert back == original and back.trained_at == TRAINED_AT
    assert board.tickers() == ["AAA", "BBB"]


def test_rerun_of_a_version_replaces_its_rows(board):
    board.replace("AAA", 1, board_rows("AAA", 1, 1))
    again = [dataclasses.replace(r, reason="second run") for r in board_rows("AAA", 1, 1)[:3]]
    assert board.replace("AAA", 1, again) == 3
    got = board.latest(["AAA"])
    assert len(got) == 3 and {r.reason for r in got} == {"second run"}
    board.replace("AAA", 1, again)  # idempotent
    assert len(board.latest(["AAA"])) == 3


def test_latest_is_the_newest_version_and_filters(board):
    board.replace("AAA", 1, board_rows("AAA", 1, 1))
    board.replace("AAA", 2, board_rows("AAA", 2, 2))
    board.replace("BBB", 1, board_rows("BBB", 1, 3))
    assert {r.version for r in board.latest(["AAA"])} == {2}
    chosen = board.latest(stage="test", chosen_only=True)
    assert [(r.ticker, r.model_type, r.interval) for r in chosen] == [
        ("AAA", "naive", "ewma"),
        ("BBB", "arima", "garch"),
    ]
    assert all(r.stage == "validation" for r in board.latest(stage="validation"))
    assert board.latest(["NOPE"]) == [] and board.latest([]) == []


def test_non_finite_metrics_are_stored_as_none(board):
    row = dataclasses.replace(board_rows("AAA", 1, 1)[0], rmse=math.nan, skill=math.inf)
    assert row.rmse is None and row.skill is None
    board.replace("AAA", 1, [row])
    (back,) = board.latest(["AAA"])
    assert back.rmse is None and back.skill is None and back.naive_rmse == 1.0


def test_bad_rows_are_refused_and_nothing_is_written(board):
    rows = board_rows("AAA", 1, 1)
    with pytest.raises(BadInput, match="not AAA v2"):
        board.replace("AAA", 2, rows)
    with pytest.raises(BadInput, match="repeats candidate"):
        board.replace("AAA", 1, [rows[0], rows[0]])
    naive_time = dataclasses.replace(rows[0], trained_at=dt.datetime(2024, 1, 1))
    with pytest.raises(BadInput, match="time zone"):
        board.replace("AAA", 1, [naive_time])
    assert board.latest() == [] and board.tickers() == []
    with pytest.raises(BadInput, match="stage"):
        dataclasses.replace(rows[0], stage="holdout")
