"""Every registered family through the `Forecaster` contract, on real S&P 500 closes.

Fit and forecast are finite; parameters survive a JSON round trip and forecast the same
numbers; `one_step_path` is `predict_one` on every prefix; bad windows are refused naming the
index; and serving a stored model (import, `from_params`, `predict_one`) imports none of the
fitting libraries (checked in a fresh interpreter).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from stocky.core.families.base import Forecaster
from stocky.core.families.registry import BUILTIN_FAMILIES, family_class, forecaster_from_params
from stocky.errors import BadInput

#: Modules a stored model must not need to forecast.
FITTING_LIBRARIES = ("statsforecast", "statsmodels", "lightgbm", "scipy.stats")
TRAIN = 600
START = 540  # one_step_path start: forecasts of y[540:TRAIN + 100]


def _available(model_type: str) -> bool:
    module = BUILTIN_FAMILIES[model_type].partition(":")[0]
    return importlib.util.find_spec(module) is not None


FAMILIES = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(
            not _available(name), reason=f"family module for {name!r} not built yet"
        ),
    )
    for name in BUILTIN_FAMILIES
]


@pytest.fixture(scope="module")
def prices(sp500_close: np.ndarray) -> np.ndarray:
    return sp500_close[-(TRAIN + 100) :]


@pytest.fixture(scope="module")
def fitted(prices: np.ndarray) -> dict[str, Forecaster]:
    """Each family fitted once on the first TRAIN prices (lazily, by model_type)."""

    class Lazy(dict[str, Forecaster]):
        def __missing__(self, name: str) -> Forecaster:
            model = family_class(name)()
            assert model.fit(prices[:TRAIN]) is model
            self[name] = model
            return model

    return Lazy()


@pytest.mark.parametrize("name", FAMILIES)
def test_fit_and_forecast_are_finite(fitted, prices, name):
    model = fitted[name]
    assert isinstance(model, Forecaster)
    assert type(model).model_type == name and type(model).description
    assert isinstance(model.label, str) and model.label
    assert isinstance(model.complexity, int) and model.complexity >= 0
    mean, std = model.predict_one(prices[TRAIN - 60 : TRAIN])
    assert np.isfinite(mean) and np.isfinite(std) and std > 0
    # A one-step forecast of a daily close lands near the last close.
    assert abs(mean / prices[TRAIN - 1] - 1) < 0.05


@pytest.mark.parametrize("name", FAMILIES)
def test_json_round_trip_forecasts_identically(fitted, prices, name):
    model = fitted[name]
    stored = json.loads(json.dumps(model.to_params()))
    loaded = family_class(name).from_params(stored)
    assert loaded.label == model.label and loaded.complexity == model.complexity
    short = max(7, model.min_window)
    for window in (prices[TRAIN - 60 : TRAIN], prices[-60:], prices[-short:]):
        assert loaded.predict_one(window) == model.predict_one(window)
    for a, b in zip(
        loaded.one_step_path(prices, start=START),
        model.one_step_path(prices, start=START),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    assert loaded.to_params() == stored


@pytest.mark.parametrize("name", FAMILIES)
def test_one_step_path_is_predict_one_on_every_prefix(fitted, prices, name):
    model = fitted[name]
    means, stds = model.one_step_path(prices, start=START)
    assert means.shape == stds.shape == (len(prices) - START,)
    expected = np.array([model.predict_one(prices[:t]) for t in range(START, len(prices))])
    # Exact for the closed-form families; ARIMA's path is statsmodels' Kalman filter and its
    # forecast the Kalman weights, equal to rounding.
    np.testing.assert_allclose(means, expected[:, 0], rtol=1e-9, atol=0)
    np.testing.assert_allclose(stds, expected[:, 1], rtol=1e-9, atol=0)


@pytest.mark.parametrize("name", FAMILIES)
def test_bad_windows_and_unfitted_models_are_refused(fitted, prices, name):
    model = fitted[name]
    window = prices[TRAIN - 60 : TRAIN].copy()
    window[5] = np.nan
    with pytest.raises(BadInput, match=r"recent_prices\[5\] is NaN: send finite prices > 0"):
        model.predict_one(window)
    window[5] = -1.0
    with pytest.raises(BadInput, match=r"recent_prices\[5\] is -1"):
        model.predict_one(window)
    with pytest.raises(BadInput, match=r"y\[3\] is NaN"):
        model.one_step_path(np.r_[prices[:3], np.nan, prices[3:]], start=START)
    with pytest.raises(BadInput, match="start="):
        model.one_step_path(prices, start=0)
    with pytest.raises(BadInput, match="not fitted"):
        family_class(name)().predict_one(window[:4])
    with pytest.raises(BadInput):
        family_class(name).from_params({})


_SERVE = """
import json, sys
from stocky.core.families.registry import forecaster_from_params
name, params, window, libraries = json.loads(sys.stdin.read())
mean, std = forecaster_from_params(name, params).predict_one(window)
print(json.dumps({"mean": mean, "std": std, "loaded": sorted(set(libraries) & set(sys.modules))}))
"""


@pytest.mark.parametrize("name", FAMILIES)
def test_serving_a_stored_model_imports_no_fitting_library(fitted, prices, name):
    model = fitted[name]
    window = prices[-60:]
    payload = json.dumps([name, model.to_params(), window.tolist(), FITTING_LIBRARIES])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", _SERVE],
        input=payload,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    answer = json.loads(out.stdout)
    assert answer["loaded"] == [], f"{name} serving imported {answer['loaded']}"
    assert (answer["mean"], answer["std"]) == model.predict_one(window)
    assert forecaster_from_params(name, model.to_params()).predict_one(window) == (
        answer["mean"],
        answer["std"],
    )
