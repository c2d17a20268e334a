"""The random walk with drift, pinned to statsforecast's RandomWalkWithDrift on real closes."""

from __future__ import annotations

import numpy as np
import pytest

from stocky.core.families.drift import Drift
from stocky.errors import BadInput


def _bokeh_adjusted(ticker: str) -> np.ndarray:
    from bokeh_sampledata import stocks

    return np.asarray(getattr(stocks, ticker)["adj_close"], dtype=float)


@pytest.fixture(scope="module")
def real_series(sp500_close: np.ndarray) -> dict[str, np.ndarray]:
    return {"^GSPC": sp500_close[-1000:]} | {
        t: _bokeh_adjusted(t)[-1000:] for t in ("AAPL", "MSFT", "IBM", "GOOG")
    }


def test_hand_computed_drift_sigma_and_forecast():
    # drift = (4 - 1) / 2 = 1.5; residuals of the changes 1 and 2: -0.5, 0.5; sigma^2 = 0.5 / 2
    model = Drift().fit([1.0, 2.0, 4.0])
    assert model.drift_ == 1.5
    assert model.sigma_ == pytest.approx(0.5, rel=1e-15)
    assert model.predict_one([4.0]) == (5.5, model.sigma_)
    assert model.label == "Drift" and model.complexity == 1


def test_matches_statsforecast_random_walk_with_drift(real_series):
    from statsforecast.models import RandomWalkWithDrift

    for name, y in real_series.items():
        ours = Drift().fit(y)
        theirs = RandomWalkWithDrift().fit(y)
        assert ours.drift_ == pytest.approx(theirs.model_["slope"][0], rel=1e-12), name
        assert ours.sigma_ == pytest.approx(theirs.model_["sigma"], rel=1e-12), name
        mean, std = ours.predict_one(y)
        assert mean == pytest.approx(theirs.predict(h=1)["mean"][0], rel=1e-12), name
        means, stds = ours.one_step_path(y, start=1)
        np.testing.assert_allclose(means, theirs.predict_in_sample()["fitted"][1:], rtol=1e-12)
        assert np.all(stds == std)


def test_one_step_path_is_predict_one_on_every_prefix(real_series):
    y = real_series["AAPL"]
    model = Drift().fit(y[:700])
    means, stds = model.one_step_path(y, start=600)
    expected = [model.predict_one(y[:t]) for t in range(600, len(y))]
    assert means.tolist() == [m for m, _ in expected]
    assert stds.tolist() == [s for _, s in expected]


def test_prices_on_a_straight_line_are_refused():
    with pytest.raises(BadInput, match="straight line"):
        Drift().fit(np.arange(10.0, 60.0))


def test_window_start_and_parameters_are_validated():
    model = Drift().fit([1.0, 2.0, 4.0])
    with pytest.raises(BadInput, match=r"recent_prices\[1\] is NaN"):
        model.predict_one([3.0, float("nan")])
    with pytest.raises(BadInput, match="start=0"):
        model.one_step_path([1.0, 2.0], start=0)
    with pytest.raises(BadInput, match="malformed"):
        Drift.from_params({"sigma": 1.0})
    with pytest.raises(BadInput, match=r"sigma=-1\.0"):
        Drift.from_params({"drift": 0.1, "sigma": -1.0})
    with pytest.raises(BadInput, match="not fitted"):
        Drift().predict_one([1.0])
