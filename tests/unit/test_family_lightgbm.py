"""The global LightGBM family on real closes, pinned to lightgbm's own predictions.

The references: ``Booster.predict`` of the fitted booster (for the numpy tree evaluator), and
features computed by hand in plain Python (for the forecast formula).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from stocky.core.families import GlobalForecaster, family_class
from stocky.core.families.lightgbm import LightGBM, feature_names, features, params_digest
from stocky.core.families.lightgbm_trees import TreeEnsemble
from stocky.errors import BadInput

BOKEH = ("AAPL", "MSFT", "IBM", "GOOG")


def _bokeh_adjusted(ticker: str) -> np.ndarray:
    from bokeh_sampledata import stocks

    return np.asarray(getattr(stocks, ticker)["adj_close"], dtype=float)


@pytest.fixture(scope="module")
def universe(sp500_close: np.ndarray) -> dict[str, np.ndarray]:
    """Real closes: the S&P 500 and bokeh's adjusted AAPL, MSFT, IBM and GOOG."""
    return {"^GSPC": sp500_close} | {t: _bokeh_adjusted(t) for t in BOKEH}


@pytest.fixture(scope="module")
def model(universe: dict[str, np.ndarray]) -> LightGBM:
    """One model on every series but the last 252 sessions of each (kept out of sample)."""
    return LightGBM().fit_many([y[:-252] for y in universe.values()])


def _real_feature_rows(universe: dict[str, np.ndarray]) -> np.ndarray:
    rows = []
    for y in universe.values():
        r = np.diff(np.log(y))
        rows.append(features(sliding_window_view(r, 20), lags=10)[0])
    return np.concatenate(rows)


def _hand_features(window: list[float], lags: int = 10) -> tuple[list[float], float]:
    """The documented features, in plain Python: scaled lags, log(s5/s20), mom20."""
    r = [math.log(b / a) for a, b in zip(window[:-1], window[1:], strict=True)]
    s20 = max(math.sqrt(sum(v * v for v in r[-20:]) / 20), 1e-4)
    s5 = max(math.sqrt(sum(v * v for v in r[-5:]) / 5), 1e-4)
    lagged = [r[-i] / s20 for i in range(1, lags + 1)]
    return [*lagged, math.log(s5 / s20), sum(r[-20:]) / (s20 * math.sqrt(20))], s20


def test_fit_many_pools_every_series_into_one_model(model, universe):
    params = model.to_params()
    # one training row per price after the first 21 (the window of 20 returns) of each series
    assert params["train_rows"] == sum(len(y) - 252 - 21 for y in universe.values())
    assert params["train_series"] == 5
    assert params["features"] == feature_names(10) == model.params_["booster"]["feature_names"]
    trees = params["booster"]["tree_info"]
    assert len(trees) == 100
    assert model.complexity == sum(t["num_leaves"] for t in trees)
    assert max(t["num_leaves"] for t in trees) <= 15
    assert sum(t["num_leaves"] > 1 for t in trees) >= 50  # it split on something
    # scaled returns have unit scale: the residuals' RMS is near 1, not near a price change
    assert 0.8 < params["resid_scale"] < 1.5
    assert model.label == "LightGBM(lags=10)" and model.min_window == 21
    assert model.model_type == "lightgbm" and LightGBM.is_global
    assert isinstance(model, GlobalForecaster)
    assert family_class("lightgbm") is LightGBM


def test_numpy_trees_equal_booster_predict_on_real_windows(model, universe):
    x = _real_feature_rows(universe)
    assert len(x) > 15_000
    expected = model.booster_.predict(x)
    got = model.trees_.predict(x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert np.ptp(expected) > 0.05  # different windows reach different leaves
    for i in range(0, len(x), 997):  # the one-row serving path too
        assert abs(model.trees_.predict_row(x[i]) - expected[i]) <= 1e-12


def test_numpy_trees_follow_lightgbm_on_missing_and_zero_values(universe):
    """NaN and zero inputs, and models whose splits carry NaN and Zero missing types."""
    x = _real_feature_rows(universe)[:6000]
    rng = np.random.default_rng(7)
    y = x[:, 0] * 0.1 + rng.normal(size=len(x))
    holes = x.copy()
    holes[rng.random(x.shape) < 0.1] = np.nan
    holes[rng.random(x.shape) < 0.05] = 0.0
    base = {"objective": "regression", "num_leaves": 15, "min_data_in_leaf": 20}
    base |= {"num_threads": 1, "deterministic": True, "verbosity": -1}
    seen = set()
    for train_x, extra in ((x, {}), (holes, {}), (holes, {"zero_as_missing": True})):
        booster = lgb.train(base | extra, lgb.Dataset(train_x, label=y), num_boost_round=30)
        dump = booster.dump_model()
        seen |= {n.get("missing_type") for n in _splits(dump)}
        trees = TreeEnsemble.from_dump(dump, n_features=x.shape[1])
        for rows in (x, holes):
            np.testing.assert_allclose(trees.predict(rows), booster.predict(rows), atol=1e-12)
    assert seen == {"None", "NaN", "Zero"}


def _splits(dump):
    stack = [t["tree_structure"] for t in dump["tree_info"]]
    while stack:
        node = stack.pop()
        if "split_feature" in node:
            yield node
            stack += [node["left_child"], node["right_child"]]


def test_predict_one_is_the_booster_forecast_from_hand_made_features(model, universe):
    for name, y in universe.items():
        for end in (len(y) - 200, len(y)):  # out of sample
            window = list(y[end - 60 : end])
            feats, s20 = _hand_features(window)
            z = float(model.booster_.predict(np.array([feats]))[0])
            mean, std = model.predict_one(window)
            assert mean == pytest.approx(window[-1] * math.exp(z * s20), rel=1e-12), name
            assert std == pytest.approx(window[-1] * model.resid_scale_ * s20, rel=1e-12)
            assert abs(mean / window[-1] - 1) < 0.05  # a daily move, not a wild guess


def test_json_round_trip_forecasts_identically(model, universe):
    text = json.dumps(model.to_params())
    restored = LightGBM.from_params(json.loads(text))
    assert restored.booster_ is None and restored.to_params() == model.to_params()
    assert restored.params_digest() == model.params_digest()
    assert restored.complexity == model.complexity and restored.label == model.label
    y = universe["AAPL"][-400:]
    for end in (21, 60, 250, 400):
        assert restored.predict_one(y[:end]) == model.predict_one(y[:end])
    paths = restored.one_step_path(y, start=30), model.one_step_path(y, start=30)
    for a, b in zip(*paths, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("ticker,start", [("^GSPC", 21), ("IBM", 60), ("GOOG", 250)])
def test_one_step_path_equals_predict_one_over_prefixes(model, universe, ticker, start):
    y = universe[ticker][-400:]
    means, stds = model.one_step_path(y, start=start)
    assert len(means) == len(stds) == len(y) - start
    expected = np.array([model.predict_one(y[:t]) for t in range(start, len(y))])
    np.testing.assert_allclose(means, expected[:, 0], rtol=1e-12)
    np.testing.assert_allclose(stds, expected[:, 1], rtol=1e-12)


def test_serving_from_params_does_not_import_lightgbm(model, universe, tmp_path: Path):
    spec = tmp_path / "lightgbm.json"
    spec.write_text(json.dumps(model.to_params()))
    window = [float(v) for v in universe["MSFT"][-60:]]
    code = (
        "import json, sys\n"
        "from stocky.core.families.registry import forecaster_from_params\n"
        f"m = forecaster_from_params('lightgbm', json.loads(open({str(spec)!r}).read()))\n"
        f"out = m.predict_one({window!r})\n"
        f"m.one_step_path({window!r}, start=30)\n"
        "assert 'lightgbm' not in sys.modules, 'serving imported lightgbm'\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    assert tuple(json.loads(done.stdout)) == model.predict_one(window)


def test_two_fits_give_identical_params_and_digest(universe):
    series = [universe[t][-1000:] for t in BOKEH]
    first, second = LightGBM().fit_many(series), LightGBM().fit_many(series)
    assert first.to_params() == second.to_params()
    canonical = json.dumps(first.to_params(), sort_keys=True, separators=(",", ":"))
    assert first.params_digest() == hashlib.sha256(canonical.encode()).hexdigest()
    assert second.params_digest() == first.params_digest()
    shuffled = dict(reversed(list(first.to_params().items())))  # key order does not count
    assert params_digest(shuffled) == first.params_digest()
    other = LightGBM(lags=5).fit_many(series)
    assert other.params_digest() != first.params_digest() and other.label == "LightGBM(lags=5)"


def test_fit_is_fit_many_of_one_series(universe):
    y = universe["IBM"][-800:]
    assert LightGBM().fit(y).to_params() == LightGBM().fit_many([y]).to_params()


def test_too_short_windows_and_series_are_bad_input(model, universe):
    y = universe["GOOG"]
    with pytest.raises(BadInput, match=r"recent_prices has 20 prices, fewer than 21"):
        model.predict_one(y[-20:])
    with pytest.raises(BadInput, match=r"start=20 .* start at 21 or later"):
        model.one_step_path(y[-100:], start=20)
    with pytest.raises(BadInput, match=r"series\[1\] has 21 prices, fewer than 22"):
        LightGBM().fit_many([y[-300:], y[-21:]])
    with pytest.raises(BadInput, match="no series"):
        LightGBM().fit_many([])
    long_lags = LightGBM(lags=30)
    assert long_lags.min_window == 31  # 30 lagged returns need 31 prices


def test_nan_prices_are_bad_input_naming_the_index(model, universe):
    window = universe["AAPL"][-60:].copy()
    window[5] = np.nan
    with pytest.raises(BadInput, match=r"recent_prices\[5\] is NaN: send finite prices > 0"):
        model.predict_one(window)
    series = universe["MSFT"][-300:].copy()
    series[7] = np.nan
    with pytest.raises(BadInput, match=r"series\[2\]\[7\] is NaN"):
        LightGBM().fit_many([universe["IBM"][-300:], universe["GOOG"][-300:], series])


def test_unfitted_and_malformed_models_say_what_to_do(model):
    with pytest.raises(BadInput, match="not fitted"):
        LightGBM().predict_one([1.0] * 30)
    with pytest.raises(BadInput, match="retrain"):
        LightGBM.from_params({"format": 1})
    with pytest.raises(BadInput, match="malformed"):
        LightGBM.from_params(model.to_params() | {"booster": ["not", "a", "dump"]})
    params = model.to_params()
    root = params["booster"]["tree_info"][0]["tree_structure"]
    assert "split_feature" in root
    root["decision_type"] = "=="
    with pytest.raises(BadInput, match="categorical"):
        LightGBM.from_params(params)
    with pytest.raises(BadInput, match="num_leaves=100"):
        LightGBM(num_leaves=100)
