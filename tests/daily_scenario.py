"""A small universe run through `stocky daily` day after day, per ticker and set-based, so the
two paths' stored rows can be compared (unit tests on fakes, integration tests on SQLite).

Prices are SYNTHETIC (seeded numpy draws) except AAA, real S&P 500 closes on shifted dates:
- VOL: a random walk whose volatility nearly quadruples 10 sessions before the end (volatility state);
- FLIP: AR(1) returns whose coefficient flips sign (model degraded);
- AAA: real closes; LAG: its source stops 3 sessions early (late labels, re-pulls);
- NEW: prices but no champion; GONE: a champion but a source that fails (listed failed).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fakes import FakeAuditLog, FakePredictionLog, FakeRegistry, FakeSource, price_frame
from stocky.adapters.executor import InlineExecutor
from stocky.config import Settings
from stocky.core.sessions import TradingCalendar
from stocky.pipelines.daily import DailyDeps
from stocky.pipelines.retrain_many import DailyOutcome, run_daily_many
from stocky.pipelines.train import train_ticker
from stocky.wiring import Stack, drift_rule, train_config

END = dt.date(2018, 12, 31)
DAYS = 30  # sessions run
TICKERS = ["AAA", "FLIP", "GONE", "LAG", "NEW", "VOL"]


def settings(home: Path) -> Settings:
    return Settings(
        home=home,
        order="0,1,1",
        test_size=40,
        validation_size=20,
        train_window=300,
        min_train_size=100,
        holdout_size=30,
        reload_interval_seconds=0,
    )


def _walk(seed: int, vols: list[tuple[int, float]]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    moves = np.concatenate([rng.normal(0, v, n) for n, v in vols])
    return 100 * np.exp(np.cumsum(moves))


def _flip(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shocks = rng.normal(0, 0.01, 600)
    returns = np.zeros_like(shocks)
    for t in range(1, shocks.size):
        returns[t] = (0.6 if t < 570 else -0.6) * returns[t - 1] + shocks[t]
    return 100 * np.exp(np.cumsum(returns))


def frames(sp500_close: np.ndarray) -> dict[str, pd.DataFrame]:
    """Every ticker's full price history (GONE's is used for training only)."""
    lag_end = TradingCalendar("XNYS", start="2015-01-01").sessions_in_range(
        dt.date(2018, 12, 1), END
    )[-4]
    return {
        "AAA": price_frame(sp500_close[-600:], end=END),
        "FLIP": price_frame(_flip(2), end=END),
        "GONE": price_frame(_walk(3, [(600, 0.01)]), end=END),
        "LAG": price_frame(_walk(4, [(597, 0.012)]), end=lag_end),
        "NEW": price_frame(_walk(5, [(600, 0.01)]), end=END),
        "VOL": price_frame(_walk(1, [(590, 0.008), (10, 0.03)]), end=END),
    }


def build(
    home: Path,
    sp500_close: np.ndarray,
    stores: Callable[[], tuple[Any, Any, Any]],
) -> Stack:
    """A Stack over `stores()` (predictions, audit, prices) with champions trained on the
    history before the days run, and a source that serves every ticker but GONE."""
    s = settings(home)
    all_frames = frames(sp500_close)
    predictions, audit, prices = stores()
    registry = FakeRegistry()
    for t in ("AAA", "FLIP", "GONE", "LAG", "VOL"):
        train_ticker(
            ticker=t,
            prices=all_frames[t].iloc[: -DAYS - 5].reset_index(drop=True),
            source="fake",
            registry=registry,
            config=train_config(s),
            now=dt.datetime(2018, 11, 1, tzinfo=dt.UTC),
        )
    served = {t: f for t, f in all_frames.items() if t != "GONE"}
    return Stack(
        settings=s,
        predictions=predictions,
        audit=audit,
        prices=prices,
        registry=registry,
        calendar=TradingCalendar(s.exchange, start="1990-01-01"),
        drift=drift_rule(s),
        _source=FakeSource(served),
    )


def run_days(stack: Stack, *, alone: bool = False) -> list[list[DailyOutcome]]:
    """DAYS sessions of `stocky daily --retrain never` up to END; `alone`: each ticker as a
    fleet of one (a run per ticker per day), else the whole fleet in one run a day."""
    sessions = stack.calendar.sessions_in_range(dt.date(2018, 11, 1), END)[-DAYS:]
    deps = DailyDeps.from_stack(stack)
    out = []
    for day in sessions:
        groups = [[t] for t in TICKERS] if alone else [TICKERS]
        out.append(
            [
                outcome
                for group in groups
                for outcome in run_daily_many(
                    deps,
                    executor=InlineExecutor(),
                    settings=stack.settings,
                    tickers=group,
                    as_of=day,
                    now=dt.datetime.combine(day, dt.time(22), tzinfo=dt.UTC),
                    retrain_mode="never",
                    forecast=True,
                )
            ]
        )
    return out


def outcome_facts(days: list[list[DailyOutcome]]) -> list[tuple[Any, ...]]:
    """What the summary shows per ticker and day (ids left out)."""
    facts = []
    for outcomes in days:
        for o in outcomes:
            d = o.day
            facts.append(
                (
                    o.ticker,
                    o.error,
                    o.exit_code,
                    None
                    if d is None
                    else (
                        d.as_of,
                        d.rows_pulled,
                        d.actuals,
                        d.drift.decision,
                        d.drift.drifted,
                        d.drift.reason,
                        d.forecast_target,
                        d.forecast_id is not None,
                    ),
                )
            )
    return facts


def stored_rows(stack: Stack) -> dict[str, list[tuple[Any, ...]]]:
    """Drift checks, alerts and predictions as comparable tuples (ids and request ids out)."""
    if isinstance(stack.audit, FakeAuditLog):
        assert isinstance(stack.predictions, FakePredictionLog)
        checks = [
            (c.ticker, c.as_of, c.decision, c.drifted, c.model_version, c.latest_value, c.report)
            for c in stack.audit.checks
        ]
        alerts = [
            (q.alert.ticker, q.alert.kind, q.alert.session, q.alert.message, q.replay)
            for q in stack.audit.alerts
        ]
        preds = [_prediction(r) for r in stack.predictions.rows]
    else:
        assert stack.engine is not None
        with stack.engine.connect() as conn:
            checks = [
                (r.ticker, r.as_of, r.decision, bool(r.drifted), r.model_version, r.latest_value)
                + (json.loads(r.report),)
                for r in conn.execute(sa.text("SELECT * FROM drift_checks"))
            ]
            alerts = [
                (r.ticker, r.kind, r.session, r.message, bool(r.replay))
                for r in conn.execute(sa.text("SELECT * FROM alerts"))
            ]
            preds = [
                _prediction(dict(r._mapping))
                for r in conn.execute(sa.text("SELECT * FROM predictions"))
            ]
    key = str
    return {
        "checks": sorted(checks, key=key),
        "alerts": sorted(alerts, key=key),
        "predictions": sorted(preds, key=key),
    }


def _prediction(row: dict[str, Any]) -> tuple[Any, ...]:
    names = (
        "ticker",
        "as_of",
        "target_date",
        "prediction",
        "lower",
        "upper",
        "naive",
        "model_version",
        "input_hash",
        "source",
        "actual",
        "error",
        "naive_error",
    )
    return tuple(str(row[n]) for n in names)
