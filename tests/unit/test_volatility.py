"""EWMA volatility for intervals, against a hand computation and on real closes."""

from __future__ import annotations

import numpy as np
import pytest

from stocky.core.arima import ArimaForecaster, ArimaOrder, ArimaParams
from stocky.core.backtest import walk_forward
from stocky.core.volatility import ewma_std, ewma_std_path, interval_scale
from stocky.errors import BadInput


def _by_hand(prices: list[float], decay: float) -> float:
    changes = [b - a for a, b in zip(prices, prices[1:], strict=False)]
    n = len(changes)
    weights = [decay ** (n - 1 - i) for i in range(n)]  # the newest change weighs 1
    total = sum(weights)
    return (sum(w * c * c for w, c in zip(weights, changes, strict=True)) / total) ** 0.5


def test_ewma_std_equals_a_hand_computation():
    prices = [100.0, 101.0, 99.5, 100.25, 103.0, 102.0]
    assert ewma_std(prices) == pytest.approx(_by_hand(prices, 0.94), rel=1e-12)
    assert ewma_std(prices, decay=0.5) == pytest.approx(_by_hand(prices, 0.5), rel=1e-12)


def test_equal_changes_give_that_change_and_recent_moves_weigh_more():
    assert ewma_std([10.0, 12.0, 10.0, 12.0]) == pytest.approx(2.0, rel=1e-12)
    calm_then_wild = [100.0] * 20 + [105.0, 99.0]
    wild_then_calm = [100.0, 105.0, 99.0] + [99.0] * 19
    # the same two moves, 19 sessions older: their weight shrinks by 0.94**19
    ratio = ewma_std(calm_then_wild) / ewma_std(wild_then_calm)
    assert ratio == pytest.approx(0.94**-9.5, rel=1e-9)


def test_path_equals_ewma_std_of_each_trailing_window(sp500_close):
    y = sp500_close[-200:]
    path = ewma_std_path(y, start=5, window=60)
    expected = [ewma_std(y[max(0, t - 60) : t]) for t in range(5, len(y))]
    np.testing.assert_allclose(path, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: ewma_std([100.0]), "at least 2 prices"),
        (lambda: ewma_std([100.0, 101.0], decay=1.0), "between 0 and 1"),
        (lambda: ewma_std_path([1.0, 2.0, 3.0], start=1, window=10), "start=1"),
        (lambda: ewma_std_path([1.0, 2.0, 3.0], start=2, window=1), "window=1"),
    ],
)
def test_bad_arguments_say_what_to_do(call, message):
    with pytest.raises(BadInput, match=message):
        call()


def test_forecaster_ewma_interval_keeps_the_mean(sp500_close):
    params = ArimaForecaster(ArimaOrder(1, 1, 1)).fit(sp500_close[-1300:-300]).params_
    assert isinstance(params, ArimaParams)
    window = sp500_close[-60:]
    model = ArimaForecaster.from_params(params).forecast(window)
    ewma = ArimaForecaster.from_params(params, interval="ewma").forecast(window)
    assert ewma.mean == model.mean
    assert ewma.std == pytest.approx(ewma_std(window), rel=1e-12)
    assert ewma.upper - ewma.mean == pytest.approx(1.959964 * ewma.std, rel=1e-6)
    with pytest.raises(BadInput, match="use one of model, ewma"):
        ArimaForecaster.from_params(params, interval="garch")
    wider = ArimaForecaster.from_params(params, interval="ewma", interval_scale=1.1)
    assert wider.forecast(window).std == pytest.approx(1.1 * ewma.std, rel=1e-12)
    with pytest.raises(BadInput, match="interval_scale=0"):
        ArimaForecaster.from_params(params, interval="ewma", interval_scale=0)


def _prices(moves: np.ndarray) -> np.ndarray:
    return 1000.0 + np.concatenate([[0.0], np.cumsum(moves)])


def test_interval_scale_is_near_one_for_normal_moves_and_wider_for_fat_tails():
    rng = np.random.default_rng(7)
    normal = interval_scale(_prices(rng.normal(0, 5, 20000)), window=60)
    # a little over 1 even for normal moves: the EWMA estimate of the std is itself noisy
    assert 1.0 < normal < 1.08
    fat = interval_scale(_prices(5 * rng.standard_t(3, 20000) / np.sqrt(3)), window=60)
    assert fat > normal + 0.05  # same variance, fatter tails: the 95% quantile is further out


def test_interval_scale_by_hand_and_without_enough_history(sp500_close):
    y = sp500_close[-300:]
    ratios = [abs(y[t] - y[t - 1]) / ewma_std(y[t - 60 : t]) for t in range(60, len(y))]
    assert interval_scale(y, window=60) == pytest.approx(
        float(np.quantile(ratios, 0.95)) / 1.959963984540054, rel=1e-9
    )
    assert interval_scale(y[:100], window=60) == 1.0  # 40 moves: too few to calibrate on


def test_ewma_intervals_cover_2008_and_2018_near_95_percent(sp500_frame, sp500_close):
    """The reason for the EWMA default: the ARIMA's constant variance misses calm and wild years."""
    years = sp500_frame.index.year
    for year in (2008, 2018):
        end = int(np.flatnonzero(years == year)[-1]) + 1
        y, test = sp500_close[:end], int((years == year).sum())
        kw = {"order": ArimaOrder(0, 1, 1), "test_size": test, "train_window": 756}
        coverage = {}
        for method in ("model", "ewma"):
            walk = walk_forward(y, interval=method, **kw)
            coverage[method] = float(
                np.mean((walk.actual >= walk.lower) & (walk.actual <= walk.upper))
            )
        assert 0.92 <= coverage["ewma"] <= 0.98, (year, coverage)
        assert abs(coverage["ewma"] - 0.95) < abs(coverage["model"] - 0.95), (year, coverage)
