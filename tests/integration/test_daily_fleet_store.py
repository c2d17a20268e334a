"""The daily job's fleet path on real SQLite: the bulk reads and writes store exactly what the
per-ticker path stores, and the number of statements does not grow with the fleet."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

import daily_scenario as sc
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


def test_fleet_path_on_sqlite_stores_what_the_per_ticker_path_stores(
    tmp_path: Path, sp500_close: np.ndarray
) -> None:
    old_engine, old_stores = _sqlite(tmp_path / "old.db")
    new_engine, new_stores = _sqlite(tmp_path / "new.db")
    old = sc.build(tmp_path, sp500_close, old_stores)
    new = sc.build(tmp_path, sp500_close, new_stores)
    old.engine, new.engine = old_engine, new_engine
    statements: list[str] = []
    sa.event.listen(new_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    old_days = sc.run_days(old, per_ticker=True)
    new_days = sc.run_days(new, per_ticker=False)
    assert sc.outcome_facts(new_days) == sc.outcome_facts(old_days)
    before, after = sc.stored_rows(old), sc.stored_rows(new)
    assert after["checks"] == before["checks"]
    assert after["alerts"] == before["alerts"]
    assert after["predictions"] == before["predictions"]
    assert len(after["checks"]) == 5 * sc.DAYS  # every ticker but GONE, every day
    assert {a[1] for a in after["alerts"]} >= {"volatility_changed", "labels_late"}
    # set-based: a day costs the same handful of statements whatever the fleet's size
    per_day = len(statements) / sc.DAYS
    assert per_day < 30, f"{per_day:.0f} statements a day for {len(sc.TICKERS)} tickers"
    for engine in (old_engine, new_engine):
        engine.dispose()


def test_bulk_reads_match_the_per_ticker_reads(tmp_path: Path, sp500_close: np.ndarray) -> None:
    engine, stores = _sqlite(tmp_path / "one.db")
    stack = sc.build(tmp_path, sp500_close, stores)
    sc.run_days(stack, per_ticker=False)
    preds, audit, prices = stores()
    day = dt.date(2018, 12, 20)
    many = preds.labeled_many(sc.TICKERS, up_to=day)
    for t in sc.TICKERS:
        one = preds.labeled(t, up_to=day)
        assert list(many[t].columns) == list(one.columns)
        if len(one):  # (an empty frame's dtypes say nothing)
            assert many[t].equals(one), t
        else:
            assert many[t].empty and t in ("GONE", "NEW")
        assert many[t].attrs["unusable"] == one.attrs["unusable"]
        assert prices.load_many([t], end=day)[t].equals(prices.load(t, end=day))
        expected = next((c for c in audit.drift_checks(t) if c.as_of < day), None)
        assert audit.latest_checks_before([t], before=day).get(t) == expected
        assert audit.promotions_many([t])[t] == audit.promotions(t)
    pending = preds.pending_many(sc.TICKERS, up_to=sc.END + dt.timedelta(days=5))
    assert sorted(pending["ticker"]) == ["AAA", "FLIP", "LAG", "VOL"]  # tomorrow's forecasts
    assert preds.pending_counts(sc.TICKERS) == dict.fromkeys(["AAA", "FLIP", "LAG", "VOL"], 1)
    engine.dispose()
