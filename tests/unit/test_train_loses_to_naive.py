"""A first model that wins the validation window but loses to naive on its test period is
registered as challenger, and the random walk serves as champion, saying why.

SYNTHETIC prices: log returns AR(1) with phi +0.6 up to the test period and -0.6 in it (a
regime flip the validation window cannot see), on real XNYS session dates.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from fakes import FakeRegistry, price_frame
from stocky.pipelines.train import TrainConfig, train_ticker

NOW = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)
CONFIG = TrainConfig(
    families=("arima",), test_size=150, validation_size=150, train_window=500, min_train_size=200
)


def _flipping(n: int = 900, test: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    e = rng.normal(0.0, 0.01, n)
    r = np.zeros(n)
    for t in range(1, n):
        phi = 0.6 if t < n - test else -0.6
        r[t] = phi * r[t - 1] + e[t]
    return price_frame(100.0 * np.exp(np.cumsum(r)), end=dt.date(2018, 12, 31))


def test_first_model_losing_on_test_waits_while_naive_serves() -> None:
    registry = FakeRegistry()
    result = train_ticker(
        ticker="FLIP", prices=_flipping(), source="fake", registry=registry, config=CONFIG, now=NOW
    )
    assert result.spec.model_type == "arima" and result.scores.skill < 0
    assert result.alias == "challenger" and result.champion_version is not None
    champion = registry.champion("FLIP")
    assert champion is not None and champion.spec.model_type == "naive"
    assert champion.version == result.champion_version
    assert "lost to naive" in champion.spec.info["order_reason"]
    assert "the random walk serves as champion" in result.order_reason


def test_a_model_that_also_wins_the_test_period_is_champion() -> None:
    registry = FakeRegistry()
    steady = _flipping(test=0)
    result = train_ticker(
        ticker="AR", prices=steady, source="fake", registry=registry, config=CONFIG, now=NOW
    )
    assert result.spec.model_type == "arima" and result.scores.skill > 0
    assert result.alias == "champion" and result.champion_version is None


def test_validation_window_shrinks_to_the_history_a_ticker_has() -> None:
    config = TrainConfig(test_size=252, validation_size=756, min_train_size=250)
    assert config.for_history(5000).validation_size == 756
    assert config.for_history(252 + 500 + 250).validation_size == 500
    assert config.for_history(100).validation_size == 126  # the floor: too short fails later
    small = TrainConfig(test_size=40, validation_size=30, min_train_size=100)
    assert small.for_history(150).validation_size == 30  # never above what was asked
