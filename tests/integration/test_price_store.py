"""PriceRepository on a real SQLite file: pragmas, upsert, round trip, summary, pipeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from stocky.adapters.prices import BundledSource
from stocky.adapters.store import (
    PriceRepository,
    PriceSummary,
    create_schema,
    make_engine,
    metadata,
)
from stocky.errors import BadInput, StoreError
from stocky.pipelines.data import load_or_pull, pull_prices

pytestmark = pytest.mark.integration

NOW = dt.datetime(2024, 1, 2, 21, 30, tzinfo=dt.UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = make_engine(f"sqlite:///{tmp_path / 'nested' / 'state' / 'stocky.db'}")
    create_schema(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def gspc() -> pd.DataFrame:
    return BundledSource().fetch("^GSPC")


def test_sqlite_file_folder_and_pragmas(tmp_path, engine):
    assert (tmp_path / "nested" / "state" / "stocky.db").is_file()
    with engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 5000,
    }


def test_schema_is_created_once_with_the_documented_key(engine):
    create_schema(engine)  # idempotent
    inspector = sa.inspect(engine)
    assert "prices" in inspector.get_table_names()
    assert inspector.get_pk_constraint("prices")["constrained_columns"] == ["ticker", "date"]
    close = next(c for c in inspector.get_columns("prices") if c["name"] == "close")
    assert close["nullable"] is False
    assert "prices" in metadata.tables


def test_round_trip_keeps_values_and_dtypes(engine, gspc):
    repo = PriceRepository(engine)
    assert repo.upsert("^GSPC", gspc, source="bundled", fetched_at=NOW) == 5031
    loaded = repo.load("^GSPC")
    pd.testing.assert_frame_equal(loaded, gspc)
    assert repo.last_date("^GSPC") == dt.date(2018, 12, 31)


def test_load_range_is_inclusive(engine, gspc):
    repo = PriceRepository(engine)
    repo.upsert("^GSPC", gspc, source="bundled", fetched_at=NOW)
    part = repo.load("^GSPC", dt.date(2018, 12, 24), dt.date(2018, 12, 31))
    assert [d.day for d in part["date"].dt.date] == [24, 26, 27, 28, 31]


def test_upsert_replaces_rows_with_the_same_date(engine, gspc):
    repo = PriceRepository(engine)
    repo.upsert("^GSPC", gspc.iloc[:10], source="bundled", fetched_at=NOW)
    changed = gspc.iloc[8:12].copy()
    changed["close"] = [1.0, 2.0, 3.0, 4.0]
    assert repo.upsert("^GSPC", changed, source="yahoo", fetched_at=NOW) == 4
    loaded = repo.load("^GSPC")
    assert len(loaded) == 12
    assert loaded["close"].iloc[8:12].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert loaded["close"].iloc[7] == gspc["close"].iloc[7]
    with engine.connect() as conn:
        sources = conn.execute(
            sa.text("SELECT source FROM prices ORDER BY date LIMIT 1 OFFSET 8")
        ).scalar()
    assert sources == "yahoo"


def test_unknown_volume_is_stored_as_null_and_read_back_as_nan(engine, gspc):
    repo = PriceRepository(engine)
    frame = gspc.iloc[:2].copy()
    frame["volume"] = [np.nan, 12.0]
    repo.upsert("X", frame, source="csv", fetched_at=NOW)
    loaded = repo.load("X")
    assert np.isnan(loaded["volume"].iloc[0])
    assert loaded["volume"].iloc[1] == 12.0


def test_empty_store_answers(engine):
    repo = PriceRepository(engine)
    assert repo.last_date("^GSPC") is None
    assert repo.load("^GSPC").empty
    assert repo.summary() == []
    assert repo.upsert("^GSPC", repo.load("^GSPC"), source="bundled", fetched_at=NOW) == 0


def test_summary_per_ticker_with_every_source(engine, gspc):
    repo = PriceRepository(engine)
    repo.upsert("^GSPC", gspc.iloc[:5], source="bundled", fetched_at=NOW)
    repo.upsert("^GSPC", gspc.iloc[5:7], source="yahoo", fetched_at=NOW)
    repo.upsert("MSFT", gspc.iloc[:3], source="csv", fetched_at=NOW)
    assert repo.summary() == [
        PriceSummary("MSFT", dt.date(1999, 1, 4), dt.date(1999, 1, 6), 3, "csv"),
        PriceSummary("^GSPC", dt.date(1999, 1, 4), dt.date(1999, 1, 12), 7, "bundled,yahoo"),
    ]


def test_missing_schema_is_a_store_error_saying_what_failed(tmp_path):
    bare = make_engine(f"sqlite:///{tmp_path / 'bare.db'}")
    repo = PriceRepository(bare)
    with pytest.raises(StoreError, match="could not read the last stored date for \\^GSPC"):
        repo.last_date("^GSPC")
    with pytest.raises(StoreError, match="could not store 1 price rows"):
        repo.upsert("^GSPC", BundledSource().fetch("MSFT").iloc[:1], source="x", fetched_at=NOW)
    bare.dispose()


def test_bad_url_is_bad_input():
    with pytest.raises(BadInput, match="STOCKY_DATABASE_URL"):
        make_engine("not a url")


def test_postgresql_upsert_statement_is_on_conflict_update(engine):
    repo = PriceRepository(engine)
    repo.engine = sa.create_engine("postgresql+psycopg://u@localhost/db")  # never connects
    sql = str(repo._upsert_statement().compile(dialect=postgresql.dialect()))
    assert "ON CONFLICT (date, ticker) DO UPDATE SET" in sql
    assert "close = excluded.close" in sql


def test_pull_bundled_into_sqlite_then_nothing_new(engine):
    repo = PriceRepository(engine)
    source = BundledSource()
    first = pull_prices(source=source, repo=repo, ticker="^GSPC", now=NOW)
    assert (first.rows_added, first.first, first.last) == (
        5031,
        dt.date(1999, 1, 4),
        dt.date(2018, 12, 31),
    )
    again = pull_prices(source=source, repo=repo, ticker="^GSPC", now=NOW)
    assert again.rows_added == 0
    frame = load_or_pull(
        source=source, repo=repo, ticker="^GSPC", end=dt.date(2018, 12, 28), now=NOW
    )
    assert len(frame) == 5030


def test_replace_swaps_a_tickers_rows_and_leaves_the_others(engine, gspc):
    repo = PriceRepository(engine)
    repo.upsert("^GSPC", gspc.iloc[:10], source="bundled", fetched_at=NOW)
    repo.upsert("MSFT", gspc.iloc[:4], source="bundled", fetched_at=NOW)
    assert repo.replace("^GSPC", gspc.iloc[2:5], source="csv", fetched_at=NOW) == 3
    assert repo.load("^GSPC")["date"].tolist() == gspc["date"].iloc[2:5].tolist()
    assert len(repo.load("MSFT")) == 4
    assert repo.last_dates() == {"MSFT": dt.date(1999, 1, 7), "^GSPC": dt.date(1999, 1, 8)}


def test_a_failed_bulk_write_leaves_nothing_behind_and_replace_keeps_the_old_rows(engine, gspc):
    repo = PriceRepository(engine)
    repo.upsert("^GSPC", gspc.iloc[:10], source="bundled", fetched_at=NOW)
    broken = gspc.iloc[:3].copy()
    broken["close"] = [1.0, None, 3.0]  # NOT NULL: the database refuses the second row
    frames = {"AAA": gspc.iloc[:50], "^GSPC": broken}
    with pytest.raises(StoreError, match="could not store 53 price rows for AAA, \\^GSPC"):
        repo.store_many(frames, source="csv", fetched_at=NOW, replace=True)
    assert repo.load("AAA").empty
    assert len(repo.load("^GSPC")) == 10


def test_store_many_spans_several_chunks_in_one_call(engine, gspc, monkeypatch):
    import importlib

    monkeypatch.setattr(importlib.import_module("stocky.adapters.store.prices"), "CHUNK_ROWS", 100)
    repo = PriceRepository(engine)
    frames = {f"T{i}": gspc.iloc[: 40 + i] for i in range(10)}
    assert repo.store_many(frames, source="bundled", fetched_at=NOW) == sum(
        40 + i for i in range(10)
    )
    assert [s.rows for s in repo.summary()] == [40 + i for i in range(10)]
    pd.testing.assert_frame_equal(repo.load("T9"), gspc.iloc[:49])


def test_pull_many_stores_what_validates_and_reports_the_rest(engine, tmp_path):
    from stocky.adapters.prices import open_price_file
    from stocky.pipelines.data import pull_many

    path = tmp_path / "universe.csv"
    path.write_text(
        "Ticker,Date,Close\nAAA,2024-01-02,10\nBBB,2024-01-02,20\nAAA,2024-01-03,11\n"
        "BBB,2024-01-03,2000\n"
    )
    repo = PriceRepository(engine)
    source = open_price_file(path)
    report = pull_many(source=source, repo=repo, tickers=source.tickers(), now=NOW)
    assert [r.ticker for r in report.results] == ["AAA"]
    assert "data row 4 (line 5 counting the header) has close = 2000.0" in str(
        report.failures["BBB"]
    )
    assert repo.load("BBB").empty
    assert repo.load("AAA")["close"].tolist() == [10.0, 11.0]
    again = pull_many(source=source, repo=repo, tickers=["AAA"], now=NOW)
    assert again.results[0].rows_added == 0
    assert again.results[0].through == dt.date(2024, 1, 3)
