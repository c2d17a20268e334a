"""GARCH(1,1)-t intervals pinned against arch's own one-step forecast on S&P 500 closes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from arch import arch_model
from scipy import stats

from stocky.core.intervals import check_interval, interval_method
from stocky.core.intervals.garch import GARCH, next_variance, percent_returns
from stocky.errors import BadInput, DataQualityError


@pytest.fixture(scope="module")
def fitted(sp500_close: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    train = sp500_close[-1500:-240]  # 1,260 prices: the default training window
    return train, GARCH.fit(train, window=60)


def _arch_next_variance(returns: np.ndarray, params: dict[str, float]) -> float:
    fixed = arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    res = fixed.fix([params[k] for k in ("mu", "omega", "alpha", "beta", "nu")])
    return float(res.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0])


def test_fit_matches_arch_estimates_and_its_one_step_forecast(fitted) -> None:
    train, params = fitted
    returns = percent_returns(train)
    res = arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t").fit(disp="off")
    assert [params[k] for k in ("mu", "omega", "alpha", "beta", "nu")] == pytest.approx(
        res.params.to_numpy(), rel=1e-6
    )
    assert 0 < params["alpha"] < 1 and 0.5 < params["beta"] < 1 and 2 < params["nu"] < 30
    # the served recursion (numpy only) equals arch's forecast after the training returns
    expected = float(res.forecast(horizon=1, reindex=False).variance.to_numpy()[-1, 0])
    assert next_variance(returns, params) == pytest.approx(expected, rel=1e-9)


def test_served_half_width_on_a_later_window_equals_arch_and_the_t_quantile(
    fitted, sp500_close: np.ndarray
) -> None:
    _, params = fitted
    window = sp500_close[-60:]  # 240 sessions after the training prices end
    variance = _arch_next_variance(percent_returns(window), params)
    nu = params["nu"]
    quantile = stats.t.ppf(0.975, nu) * math.sqrt((nu - 2) / nu)  # unit-variance Student-t
    expected = quantile * math.sqrt(variance) / 100 * window[-1]
    assert GARCH.half_width(window, 0.95, params, model_std=0.0) == pytest.approx(
        expected, rel=1e-9
    )
    wider = GARCH.half_width(window, 0.99, params, model_std=0.0)
    assert wider > expected


def test_path_equals_one_window_at_a_time(fitted, sp500_close: np.ndarray) -> None:
    _, params = fitted
    y = sp500_close[-300:]
    path = GARCH.half_width_path(
        y, start=200, window=60, level=0.95, params=params, model_std=np.zeros(100)
    )
    one = [GARCH.half_width(y[t - 60 : t], 0.95, params, model_std=0.0) for t in (200, 250, 299)]
    assert path[[0, 50, 99]] == pytest.approx(one, rel=1e-12)


def test_parameters_round_trip_through_json(fitted) -> None:
    _, params = fitted
    again = check_interval("garch", json.loads(json.dumps(params)))
    assert again == params


def test_bad_parameters_and_short_history_say_what_to_do(sp500_close: np.ndarray) -> None:
    good = {"mu": 0.05, "omega": 0.02, "alpha": 0.1, "beta": 0.85, "nu": 6.0}
    with pytest.raises(BadInput, match=r"garch interval parameters lack 'nu': retrain"):
        interval_method("garch").check({k: v for k, v in good.items() if k != "nu"})
    with pytest.raises(BadInput, match=r"nu=2.0 is invalid: it must be finite and > 2"):
        GARCH.check(good | {"nu": 2.0})
    with pytest.raises(BadInput, match=r"omega='x' is not a number"):
        GARCH.check(good | {"omega": "x"})
    with pytest.raises(DataQualityError, match="needs 250 returns, got 99: use more history"):
        GARCH.fit(sp500_close[:100], window=60)
    with pytest.raises(BadInput, match=r"prices\[1\] is NaN"):
        GARCH.fit(np.array([1.0, np.nan, 2.0]), window=60)
