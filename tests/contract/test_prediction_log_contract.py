"""The PredictionLog port's contract, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from stocky.adapters.ports import ActualUpdate, PredictionRecord
from stocky.adapters.store.prediction_bulk import DRIFT_COLUMNS
from stocky.adapters.store.prediction_reads import LABELED_COLUMNS
from stocky.errors import BadInput, StoreError

NOW = dt.datetime(2024, 1, 10, 21, 30, tzinfo=dt.UTC)
D = [dt.date(2024, 1, d) for d in range(1, 32)]


def _record(ticker: str, as_of: dt.date, target: dt.date, **kw: object) -> PredictionRecord:
    values: dict[str, object] = {
        "ticker": ticker,
        "created_at": NOW,
        "as_of": as_of,
        "target_date": target,
        "prediction": 101.0,
        "lower": 95.0,
        "upper": 107.0,
        "naive": 100.0,
        "model_name": f"stocky-{ticker.lower()}",
        "model_version": 1,
        "arima_order": "0,1,1",
        "history_len": 60,
        "input_hash": "h",
        "request_id": "r",
        "source": "daily",
    } | kw
    return PredictionRecord(**values)  # type: ignore[arg-type]


def _label(log, ids: list[int], actual: float = 103.0) -> int:  # type: ignore[no-untyped-def]
    return int(log.attach_actuals([ActualUpdate(i, actual, NOW) for i in ids]))


def test_insert_returns_increasing_ids_and_get_reads_the_row(stores):
    log = stores.predictions
    first = log.insert(_record("AAA", D[1], D[2]))
    more = log.insert_many([_record("AAA", D[2], D[3]), _record("BBB", D[2], D[3])])
    assert first < more[0] < more[1] and len(set(more)) == 2
    row = log.get(more[1])
    assert row is not None and row["id"] == more[1]
    assert (row["ticker"], row["as_of"], row["target_date"]) == ("BBB", D[2], D[3])
    assert row["prediction"] == 101.0 and row["actual"] is None and row["error"] is None
    assert log.get(10_000) is None
    assert (log.count(), log.count("AAA"), log.count("NONE")) == (3, 2, 0)
    assert log.tickers() == ["AAA", "BBB"]
    assert log.insert_many([]) == []


def test_insert_refuses_non_finite_numbers_and_naive_times_writing_nothing(stores):
    log = stores.predictions
    with pytest.raises(BadInput, match="prediction"):
        log.insert_many(
            [_record("AAA", D[1], D[2]), _record("AAA", D[2], D[3], prediction=math.nan)]
        )
    with pytest.raises(StoreError, match="time zone"):
        log.insert(_record("AAA", D[1], D[2], created_at=NOW.replace(tzinfo=None)))
    assert log.count() == 0


def test_find_returns_the_first_matching_id(stores):
    log = stores.predictions
    ids = log.insert_many(
        [
            _record("AAA", D[1], D[2]),
            _record("AAA", D[1], D[2]),
            _record("AAA", D[1], D[2], source="api"),
        ]
    )
    assert log.find_many(["AAA"], as_of=D[1], source="daily") == {"AAA": ids[0]}
    assert log.find_many(["AAA"], as_of=D[1], source="api") == {"AAA": ids[2]}
    assert log.find_many(["AAA"], as_of=D[2], source="daily") == {}
    bbb = log.insert(_record("BBB", D[1], D[2]))
    found = log.find_many(["AAA", "BBB", "CCC"], as_of=D[1], source="daily")
    assert found == {"AAA": ids[0], "BBB": bbb}


def test_iter_rows_streams_oldest_first(stores):
    log = stores.predictions
    ids = log.insert_many([_record(t, D[1], D[2]) for t in ("AAA", "BBB", "AAA")])
    assert [r["id"] for r in log.iter_rows()] == ids
    assert [r["id"] for r in log.iter_rows(ticker="AAA", batch=1)] == [ids[0], ids[2]]


def test_pending_is_unlabeled_rows_due_by_up_to_in_id_order(stores):
    log = stores.predictions
    ids = log.insert_many(
        [_record("AAA", D[3], D[4]), _record("AAA", D[1], D[2]), _record("AAA", D[5], D[8])]
    )
    log.insert(_record("BBB", D[1], D[2]))
    pending = log.pending_many(["AAA"], up_to=D[4])
    assert pending["id"].tolist() == ids[:2]
    assert pending["target_date"].dtype.kind == "M"
    assert log.pending_many(["NONE"], up_to=D[4]).empty
    assert log.pending_counts(["AAA"]) == {"AAA": 3}
    many = log.pending_many(["BBB", "AAA"], up_to=D[4])
    assert list(many.columns) == [
        "ticker",
        "id",
        "target_date",
        "prediction",
        "lower",
        "upper",
        "naive",
    ]
    assert many["id"].tolist() == sorted(many["id"].tolist()) and len(many) == 3
    assert log.pending_counts(["AAA", "BBB", "CCC"]) == {"AAA": 3, "BBB": 1}


def test_attach_actuals_labels_once_and_is_idempotent(stores):
    log = stores.predictions
    ids = log.insert_many([_record("AAA", D[1], D[2]), _record("AAA", D[2], D[3])])
    assert _label(log, [ids[0], 10_000]) == 1  # an unknown id is skipped
    row = log.get(ids[0])
    assert row is not None and row["actual"] == 103.0
    assert row["error"] == pytest.approx(2.0) and row["naive_error"] == pytest.approx(3.0)
    assert row["actual_at"] is not None
    assert _label(log, [ids[0]], actual=999.0) == 0  # a labeled row keeps its actual
    assert log.get(ids[0])["actual"] == 103.0  # type: ignore[index]
    assert log.pending_counts(["AAA"]) == {"AAA": 1}
    assert log.attach_actuals([]) == 0


def test_attach_actuals_refuses_a_non_finite_actual_writing_nothing(stores):
    log = stores.predictions
    ids = log.insert_many([_record("AAA", D[1], D[2]), _record("AAA", D[2], D[3])])
    with pytest.raises(BadInput, match="finite"):
        log.attach_actuals([ActualUpdate(ids[0], 103.0, NOW), ActualUpdate(ids[1], math.nan, NOW)])
    with pytest.raises(StoreError, match="time zone"):
        log.attach_actuals([ActualUpdate(ids[0], 103.0, NOW.replace(tzinfo=None))])
    assert log.pending_counts(["AAA"]) == {"AAA": 2}


def test_labeled_is_labeled_rows_oldest_target_first_within_bounds(stores):
    log = stores.predictions
    ids = log.insert_many(
        [_record("AAA", D[4], D[5]), _record("AAA", D[1], D[2]), _record("AAA", D[2], D[3])]
    )
    log.insert(_record("AAA", D[6], D[7]))  # never labeled
    _label(log, ids)
    frame = log.labeled("AAA")
    assert list(frame.columns) == list(LABELED_COLUMNS)
    assert frame["id"].tolist() == [ids[1], ids[2], ids[0]]
    assert frame["target_date"].dtype.kind == "M" and frame["as_of"].dtype.kind == "M"
    assert log.labeled("AAA", up_to=D[3])["id"].tolist() == [ids[1], ids[2]]
    assert log.labeled("AAA", start=D[3])["id"].tolist() == [ids[2], ids[0]]
    assert log.labeled("NONE").empty and list(log.labeled("NONE").columns) == list(LABELED_COLUMNS)


def test_labeled_leaves_out_windows_that_do_not_end_at_the_stored_close(stores):
    log, prices = stores.predictions, stores.prices
    dates = pd.to_datetime([D[1], D[2]]).astype("datetime64[ns]")
    frame = pd.DataFrame({"date": dates, "open": 100.0, "high": 100.0, "low": 100.0})
    frame["close"], frame["volume"] = [100.0, 100.0], 0.0
    prices.upsert("AAA", frame, source="s", fetched_at=NOW)
    ids = log.insert_many(
        [
            _record("AAA", D[1], D[2], naive=100.5),  # within tolerance
            _record("AAA", D[2], D[3], naive=170.0),  # someone else's window
            _record("AAA", D[9], D[10], naive=170.0),  # no stored close that day: kept
        ]
    )
    _label(log, ids)
    assert log.labeled("AAA")["id"].tolist() == [ids[0], ids[2]]
    assert log.labeled("AAA", foreign_windows=True)["id"].tolist() == ids
    assert log.foreign_window_count("AAA") == 1
    table = log.labeled_table(["AAA"])
    assert table["id"].tolist() == [ids[0], ids[2]]


def test_labeled_table_holds_each_tickers_labeled_rows(stores):
    log = stores.predictions
    ids = log.insert_many(
        [_record(t, D[i], D[i + 1]) for i in range(1, 4) for t in ("CCC", "AAA", "BBB")]
    )
    _label(log, ids[:-1])
    upto = log.labeled_table(["CCC", "AAA", "NONE"], up_to=D[3])
    assert set(upto["ticker"]) == {"AAA", "CCC"}
    for t in ("CCC", "AAA"):
        assert (
            upto.loc[upto["ticker"] == t, "id"].tolist()
            == log.labeled(t, up_to=D[3])["id"].tolist()
        )
    table = log.labeled_table(["CCC", "BBB", "AAA"])
    assert list(table.columns) == ["ticker", *DRIFT_COLUMNS]
    assert table["ticker"].tolist() == sorted(table["ticker"].tolist())  # ordered by ticker
    for t, rows in table.groupby("ticker", sort=False):
        assert rows["id"].tolist() == log.labeled(t)["id"].tolist()
    assert table.attrs["unusable"] == {}
    empty = log.labeled_table([])
    assert list(empty.columns) == ["ticker", *DRIFT_COLUMNS] and empty.empty
    assert np.isclose(table["actual"], 103.0).all()
