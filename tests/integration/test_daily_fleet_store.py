"""The daily job's one path on real SQLite: it stores exactly what it stores on the in-memory
backend, each ticker run alone stores what the fleet stores, and the number of statements
does not grow with the fleet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

import daily_scenario as sc
from stocky.adapters.memory import MemoryAuditLog, MemoryPredictionLog, MemoryPriceStore
from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.audit import AuditRepository
from stocky.adapters.store.predictions import PredictionRepository
from stocky.adapters.store.prices import PriceRepository

pytestmark = pytest.mark.integration


def _sqlite(path: Path) -> tuple[sa.Engine, Any]:
    engine = make_engine(f"sqlite:///{path}")
    create_schema(engine)

    def stores() -> tuple[Any, Any, Any]:
        return (
            PredictionRepository(engine),
            AuditRepository(engine),
            PriceRepository(engine),
        )

    return engine, stores


def _memory() -> tuple[Any, Any, Any]:
    prices = MemoryPriceStore()
    return MemoryPredictionLog(prices=prices), MemoryAuditLog(), prices


def test_sqlite_stores_what_memory_stores_and_what_tickers_alone_store(
    tmp_path: Path, sp500_close: np.ndarray
) -> None:
    old_engine, old_stores = _sqlite(tmp_path / "old.db")
    new_engine, new_stores = _sqlite(tmp_path / "new.db")
    old = sc.build(tmp_path, sp500_close, old_stores)
    new = sc.build(tmp_path, sp500_close, new_stores)
    mem = sc.build(tmp_path / "mem", sp500_close, _memory)
    old.engine, new.engine = old_engine, new_engine
    statements: list[str] = []
    sa.event.listen(new_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    old_days = sc.run_days(old, alone=True)
    new_days = sc.run_days(new)
    mem_days = sc.run_days(mem)
    assert sc.outcome_facts(new_days) == sc.outcome_facts(old_days) == sc.outcome_facts(mem_days)
    before, after = sc.stored_rows(old), sc.stored_rows(new)
    for key in ("checks", "alerts", "predictions"):
        assert after[key] == before[key], key
    # (the in-memory rows read back in Python types: the same counts, the outcomes above)
    memory = sc.stored_rows(mem)
    assert {k: len(v) for k, v in memory.items()} == {k: len(v) for k, v in after.items()}
    assert len(after["checks"]) == 5 * sc.DAYS  # every ticker but GONE, every day
    assert {a[1] for a in after["alerts"]} >= {"volatility_changed", "labels_late"}
    # set-based: a day costs the same handful of statements whatever the fleet's size
    per_day = len(statements) / sc.DAYS
    assert per_day < 30, f"{per_day:.0f} statements a day for {len(sc.TICKERS)} tickers"
    for engine in (old_engine, new_engine):
        engine.dispose()


def test_bulk_reads_match_the_one_ticker_reads(tmp_path: Path, sp500_close: np.ndarray) -> None:
    engine, stores = _sqlite(tmp_path / "one.db")
    stack = sc.build(tmp_path, sp500_close, stores)
    sc.run_days(stack)
    preds, audit, prices = stores()
    day = dt.date(2018, 12, 20)
    table = preds.labeled_table(sc.TICKERS, up_to=day)
    for t in sc.TICKERS:
        one = preds.labeled(t, up_to=day)
        assert table.loc[table["ticker"] == t, "id"].tolist() == one["id"].tolist(), t
        if not len(one):
            assert t in ("GONE", "NEW")
        assert prices.load_many([t], end=day)[t].equals(prices.load(t, end=day))
        expected = next((c for c in audit.drift_checks(t) if c.as_of < day), None)
        assert audit.latest_checks_before([t], before=day).get(t) == expected
        assert audit.promotions_many([t])[t] == audit.promotions(t)
    pending = preds.pending_many(sc.TICKERS, up_to=sc.END + dt.timedelta(days=5))
    assert sorted(pending["ticker"]) == ["AAA", "FLIP", "LAG", "VOL"]  # tomorrow's forecasts
    assert preds.pending_counts(sc.TICKERS) == dict.fromkeys(["AAA", "FLIP", "LAG", "VOL"], 1)
    engine.dispose()
