"""Retrain modes and the daily fan-out on fakes: `monthly` retrains on a month's first session
only; the daily job checks drift here, runs due retrains through the executor, then forecasts;
a failed retrain is reported for its ticker while the others finish; study grids parse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fakes import fake_stack, price_frame
from stocky.adapters.executor import InlineExecutor
from stocky.config import Settings
from stocky.core.sessions import TradingCalendar
from stocky.errors import BadInput, DataUnavailable
from stocky.pipelines.daily import DailyDeps, retrain_trigger
from stocky.pipelines.retrain import retrain_ticker
from stocky.pipelines.retrain_many import run_daily_many
from stocky.pipelines.study import parse_grid
from stocky.pipelines.train import train_ticker
from stocky.wiring import Stack

END = dt.date(2018, 12, 31)
NOW = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)
CAL = TradingCalendar("XNYS", start="2015-01-01")


@pytest.mark.parametrize(
    ("mode", "drifted", "as_of", "expected"),
    [
        ("monthly", False, dt.date(2018, 10, 1), "monthly"),  # Monday, first session of October
        ("monthly", True, dt.date(2018, 10, 2), None),  # drift does not trigger monthly
        ("monthly", False, dt.date(2019, 1, 2), "monthly"),  # Jan 1 is a holiday
        ("on-drift", True, dt.date(2018, 10, 2), "drift"),
        ("on-drift", False, dt.date(2018, 10, 1), None),
        ("always", False, dt.date(2018, 10, 2), "schedule"),
        ("never", True, dt.date(2018, 10, 1), None),
    ],
)
def test_retrain_trigger(mode: Any, drifted: bool, as_of: dt.date, expected: str | None) -> None:
    assert retrain_trigger(mode, drifted=drifted, as_of=as_of, calendar=CAL) == expected


def _stack(tmp_path: Path, sp500_close: np.ndarray) -> Stack:
    settings = Settings(
        home=tmp_path,
        order="0,1,1",
        test_size=40,
        validation_size=20,
        train_window=300,
        min_train_size=100,
        holdout_size=30,
    )
    frames = {
        "AAA": price_frame(sp500_close[-400:], end=END),
        "BBB": price_frame(sp500_close[-800:-400], end=END),  # real closes, shifted dates
    }
    stack = fake_stack(settings, frames)
    for t, frame in frames.items():
        train_ticker(
            ticker=t,
            prices=frame.iloc[:-5].reset_index(drop=True),
            source="fake",
            registry=stack.registry,
            config=stack.train,
            now=NOW,
        )
    return stack


def test_daily_fans_out_due_retrains_then_forecasts(
    tmp_path: Path, sp500_close: np.ndarray
) -> None:
    stack = _stack(tmp_path, sp500_close)
    ran: list[tuple[str, str]] = []

    def task(
        ticker: str, _settings_json: str, as_of: dt.date, now: dt.datetime, why: str, force: bool
    ) -> Any:
        ran.append((ticker, why))
        if ticker == "BBB":
            raise DataUnavailable("BBB: the source is down")
        return retrain_ticker(
            ticker=ticker,
            prices=stack.prices.load(ticker, end=as_of),
            registry=stack.registry,
            audit=stack.audit,
            config=stack.retrain,
            as_of=as_of,
            now=now,
            triggered_by=why,
            force=True,
        )

    out = run_daily_many(
        DailyDeps.from_stack(stack),
        executor=InlineExecutor(),
        settings=stack.settings,
        tickers=["AAA", "BBB"],
        as_of=END,
        now=NOW,
        retrain_mode="always",
        forecast=True,
        task=task,
    )
    assert ran == [("AAA", "schedule"), ("BBB", "schedule")]
    aaa, bbb = out
    assert aaa.error is None and aaa.day is not None and aaa.day.retrain is not None
    assert aaa.day.retrain.promoted and aaa.day.forecast_target == dt.date(2019, 1, 2)
    # the forecast comes from the champion promoted by the retrain task, not a cached one
    row = stack.predictions.get(aaa.day.forecast_id or 0)
    assert row is not None and row["model_version"] == aaa.day.retrain.to_version == 2
    assert bbb.error == "BBB: the source is down" and bbb.exit_code == 3
    assert stack.predictions.count("BBB") == 0


def test_daily_never_mode_runs_no_task(tmp_path: Path, sp500_close: np.ndarray) -> None:
    stack = _stack(tmp_path, sp500_close)

    def task(*_a: Any) -> Any:
        raise AssertionError("no retrain is due")

    out = run_daily_many(
        DailyDeps.from_stack(stack),
        executor=InlineExecutor(),
        settings=stack.settings,
        tickers=["AAA", "BBB"],
        as_of=END,
        now=NOW,
        retrain_mode="never",
        forecast=False,
        task=task,
    )
    assert [o.error for o in out] == [None, None]
    assert [o.day.retrain for o in out if o.day is not None] == [None, None]
    assert len(stack.audit.drift_checks("AAA")) == 1  # drift was still checked


def test_parse_grid_is_the_product_and_names_bad_values() -> None:
    grid = parse_grid(
        ["drift.threshold=1.25,1.5,2", "drift.window=14,21", "retrain=on-drift,monthly,never"],
        detector="rule",
    )
    assert len(grid) == 18
    assert grid[0].name == "drift.threshold=1.25 drift.window=14 retrain=on-drift"
    assert dict(grid[-1].overrides) == {"drift_threshold_multiplier": 2.0, "drift_window": 21}
    assert grid[-1].retrain == "never"
    assert [p.name for p in parse_grid([])] == ["default"]
    with pytest.raises(BadInput, match="unknown key 'drift.thresh'.*drift.threshold"):
        parse_grid(["drift.thresh=1"])
    with pytest.raises(BadInput, match="retrain: value 'weekly' is invalid"):
        parse_grid(["retrain=weekly"])
    with pytest.raises(BadInput, match="drift.window: value '0'"):
        parse_grid(["drift.window=0"], detector="rule")
    # with the assessment detector the rule's keys change nothing: refused, saying why
    with pytest.raises(BadInput, match="drift.detector=rule"):
        parse_grid(["drift.threshold=1.25,1.5"])
    both = parse_grid(["drift.detector=assessment,rule", "drift.threshold=1.5"])
    assert [dict(p.overrides)["drift_detector"] for p in both] == ["assessment", "rule"]
    assert pd.Series([p.retrain for p in grid]).nunique() == 3
