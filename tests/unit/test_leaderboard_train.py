"""A training fills the leaderboard: every candidate family x interval method on the validation
window and the test period, the champion's rows equal to what training itself measured.

SYNTHETIC prices: log returns AR(1) with phi 0.5 (ARIMA beats naive), on real XNYS dates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from fakes import FakeRegistry, price_frame
from stocky.adapters.memory import MemoryLeaderboard
from stocky.pipelines.train import TrainConfig, evaluate, train_ticker

NOW = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)
CONFIG = TrainConfig(
    families=("drift", "arima"), test_size=150, validation_size=150, train_window=500,
    min_train_size=200,
)  # fmt: skip


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    e = rng.normal(0.0, 0.01, 900)
    r = np.zeros(900)
    for t in range(1, 900):
        r[t] = 0.5 * r[t - 1] + e[t]
    return price_frame(100.0 * np.exp(np.cumsum(r)), end=dt.date(2018, 12, 31))


def test_training_stores_every_candidate_with_the_champions_own_figures(prices):
    board = MemoryLeaderboard()
    result = train_ticker(
        ticker="AR", prices=prices, source="fake", registry=FakeRegistry(), config=CONFIG,
        now=NOW, leaderboard=board,
    )  # fmt: skip
    rows = board.latest(["AR"])
    # naive, drift, arima x ewma, garch, conformal x validation, test
    assert len(rows) == 3 * 3 * 2
    assert {(r.model_type, r.interval, r.stage) for r in rows} == {
        (f, m, s)
        for f in ("naive", "drift", "arima")
        for m in ("ewma", "garch", "conformal")
        for s in ("validation", "test")
    }
    assert {r.version for r in rows} == {result.version.version}
    assert all(r.trained_at == NOW for r in rows)
    chosen = [r for r in rows if r.chosen]
    assert {r.stage for r in chosen} == {"validation", "test"} and len(chosen) == 2
    assert {(r.model_type, r.interval) for r in chosen} == {
        (result.spec.model_type, result.spec.interval)
    }
    assert result.spec.model_type == "arima"
    # the champion's test row is what training measured on its test walk (an independent path:
    # the walk with the chosen interval method vs one walk re-sized per method here)
    test = next(r for r in chosen if r.stage == "test")
    s = result.scores
    assert test.rmse == pytest.approx(s.rmse, rel=1e-12)
    assert test.naive_rmse == pytest.approx(s.naive_rmse, rel=1e-12)
    assert test.skill == pytest.approx(s.skill, rel=1e-9)
    assert test.interval_score == pytest.approx(s.interval_score, rel=1e-9)
    assert test.naive_interval_score == pytest.approx(s.naive_interval_score, rel=1e-9)
    assert test.crps == pytest.approx(s.crps, rel=1e-9)
    assert test.coverage == pytest.approx(s.coverage)
    assert test.direction_accuracy == pytest.approx(s.direction_accuracy)
    # why the champion won: the choice's reason and the interval method's
    assert test.reason.startswith(result.order_reason)
    assert "intervals" in test.reason
    # naive scored against itself: skill 0, no DM p-value, the same interval score as naive's
    for r in rows:
        if r.model_type == "naive":
            assert r.skill == 0.0 and r.dm_pvalue is None
            assert r.interval_score == pytest.approx(r.naive_interval_score)


def test_validation_rows_match_the_choice_tables(prices):
    board = MemoryLeaderboard()
    train_ticker(
        ticker="AR", prices=prices, source="fake", registry=FakeRegistry(), config=CONFIG,
        now=NOW, leaderboard=board,
    )  # fmt: skip
    ev = evaluate(prices["close"].to_numpy(float), CONFIG)
    rows = board.latest(["AR"], stage="validation")
    table = {c["model_type"]: c for c in ev.choice.candidates}
    for r in rows:
        assert r.rmse == pytest.approx(table[r.model_type]["validation_rmse"], rel=1e-12)
        if r.model_type != "naive":
            assert r.dm_pvalue == pytest.approx(table[r.model_type]["dm_pvalue"], rel=1e-9)
    assert ev.intervals is not None
    for c in ev.intervals.candidates:
        mine = next(r for r in rows if r.model_type == ev.model_type and r.interval == c.method)
        assert mine.interval_score == pytest.approx(c.score, rel=1e-9)
        assert mine.coverage == pytest.approx(c.coverage)
    losers = [r for r in rows if not r.chosen and r.model_type == ev.model_type]
    assert all("validation interval score" in r.reason for r in losers)


def test_rerunning_a_training_replaces_its_rows(prices):
    board = MemoryLeaderboard()
    registry = FakeRegistry()
    kw = {"prices": prices, "source": "fake", "config": CONFIG, "leaderboard": board}
    first = train_ticker(ticker="AR", registry=registry, now=NOW, **kw)
    before = board.latest(["AR"])
    board.replace("AR", first.version.version, [dataclasses.replace(before[0], reason="stale")])
    again = train_ticker(ticker="AR", registry=registry, now=NOW, **kw)
    assert again.version.version == first.version.version  # the same data publishes once
    after = board.latest(["AR"])
    assert after == before  # the rerun's rows replaced the stale one


def test_fleet_training_fills_the_stacks_leaderboard_before_any_label(tmp_path):
    from fakes import fake_stack
    from stocky.adapters.executor import InlineExecutor
    from stocky.config import Settings
    from stocky.pipelines.fleet import TrainOptions, TrainTask, train_fleet

    settings = Settings(
        home=tmp_path, order="0,1,1", test_size=60, validation_size=130, train_window=300,
        min_train_size=100,
    )  # fmt: skip
    rng = np.random.default_rng(1)
    frames = {
        f"SYN{i}": price_frame(
            100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400))), end=dt.date(2018, 12, 31)
        )
        for i in range(2)
    }
    stack = fake_stack(settings, frames)
    result = train_fleet(
        stack=stack,
        tasks=[TrainTask(t) for t in frames],
        options=TrainOptions(now=NOW),
        executor=InlineExecutor(),
    )
    assert [s.ticker for s in result.trained] == ["SYN0", "SYN1"]
    assert stack.leaderboard is not None and stack.leaderboard.tickers() == ["SYN0", "SYN1"]
    rows = stack.leaderboard.latest(stage="test")
    # an order given by the caller: that ARIMA and naive, under every interval method
    assert {(r.model_type, r.label) for r in rows} == {
        ("naive", "Naive"),
        ("arima", "ARIMA(0,1,1)"),
    }
    assert len(rows) == 2 * 2 * 3
    assert sum(r.chosen for r in rows) == 2
    assert stack.predictions.count() == 0  # no prediction, no label: the board is there already
