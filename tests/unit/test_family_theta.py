"""Dynamic Theta (DSTM/DOTM): fitted by statsforecast, served by stocky's own recursion.

Pinned on real closes and seeded local-level series: (a) the recursion over the training
prices reproduces statsforecast's in-sample fitted values and predict(h=1), both for stocky's
fit (initial smoothed value fixed at the first price) and for statsforecast's own
DynamicOptimizedTheta (initial smoothed value estimated); (b) on 60-price windows the recursion
from statsforecast's start-up reproduces ``forward(y=window)`` exactly, and stocky's start-up
(the window's first price) differs from it by (1 - alpha)^59 times the gap between the two
start-up values. Measured here (max relative difference): < 1e-15 on the real closes
(alpha >= 0.84); seeded local-level series with alpha 0.28 / 0.10 / 0.10 (noise sd 3 / 10 /
30 around a unit random walk): 2.1e-9 / 1.6e-3 / 2.3e-3.
"""

from __future__ import annotations

import numpy as np
import pytest

from stocky.core.families.theta import Theta, ThetaParams, theta_filter
from stocky.errors import BadInput

TRAIN = 1000
WINDOW = 60


def _bokeh_adjusted(ticker: str) -> np.ndarray:
    from bokeh_sampledata import stocks

    return np.asarray(getattr(stocks, ticker)["adj_close"], dtype=float)


@pytest.fixture(scope="module")
def real_series(sp500_close: np.ndarray) -> dict[str, np.ndarray]:
    """1,252 closes each: 1,000 to fit, 252 for windows."""
    return {
        "^GSPC last": sp500_close[-(TRAIN + 252) :],
        "^GSPC 2007-11": sp500_close[2000 : 2000 + TRAIN + 252],
    } | {t: _bokeh_adjusted(t)[-(TRAIN + 252) :] for t in ("AAPL", "MSFT", "IBM", "GOOG")}


def _local_level(noise: float, seed: int = 7) -> np.ndarray:
    """A random walk seen through noise: SES territory, alpha well below 1."""
    rng = np.random.default_rng(seed)
    n = TRAIN + 252
    return 200 + np.cumsum(rng.normal(0, 1, n)) + rng.normal(0, noise, n)


def _their_fit(train: np.ndarray, params: ThetaParams) -> dict:
    """statsforecast's own evaluation of stocky's parameters (nothing re-estimated)."""
    from statsforecast.theta import auto_theta

    return auto_theta(
        train,
        1,
        model=params.model,
        initial_smoothed=float(train[0]),
        alpha=params.alpha,
        theta=params.theta,
    )


def test_hand_computed_forecast_from_a_two_price_window():
    # q = 0.5, k = 0.5; l_1 = 0.5 * 12 + 0.5 * 10 = 11; the line through (1, 10), (2, 12) has
    # slope 2 and intercept 8; mu_2 = 11 + 0.5 * (8 * 0.25 + 2 * 0.875 / 0.5) = 13.75
    model = Theta.from_params({"model": "DSTM", "alpha": 0.5, "theta": 2.0, "sigma": 1.0})
    assert model.predict_one([10.0, 12.0]) == (pytest.approx(13.75, rel=1e-15), 1.0)
    # One price: mu_1 = y0 + k * y0 * q (statsforecast's start-up, A_0 = y0, B_0 = 0)
    assert model.predict_one([10.0])[0] == pytest.approx(12.5, rel=1e-15)
    means, _ = model.one_step_path([10.0, 12.0, 99.0], start=1)
    np.testing.assert_allclose(means, [12.5, 13.75], rtol=1e-15)


def test_fit_chooses_the_lower_statsforecast_mse_and_reproduces_it_in_sample(real_series):
    from statsforecast.theta import auto_theta, forecast_theta

    chosen = set()
    for name, y in real_series.items():
        train = y[:TRAIN]
        model = Theta().fit(train)
        p = model.params_
        theirs = {
            m: auto_theta(train, 1, model=m, initial_smoothed=float(train[0]))
            for m in ("DSTM", "DOTM")
        }
        assert model.mse_ == {m: pytest.approx(d["mse"], rel=1e-12) for m, d in theirs.items()}
        best = min(("DSTM", "DOTM"), key=lambda m: theirs[m]["mse"])
        assert p.model == best and model.label == f"Theta({best})", name
        chosen.add(best)
        fit = theirs[best]
        assert (p.alpha, p.theta) == (fit["par"]["alpha"], fit["par"]["theta"])
        assert p.sigma == pytest.approx(np.std(fit["residuals"][3:], ddof=1), rel=1e-12)
        path = theta_filter(train, p.alpha, p.theta, initial_smoothed=float(train[0]))
        np.testing.assert_allclose(path[:-1], (train - fit["residuals"])[1:], rtol=1e-8)
        predicted = forecast_theta(fit, 1)["mean"][0]
        assert path[-1] == pytest.approx(predicted, rel=1e-8), name
        # Same start-up when fitting and serving: predict_one over the training prices is
        # statsforecast's predict(h=1).
        assert model.predict_one(train)[0] == pytest.approx(predicted, rel=1e-10), name
    assert chosen == {"DSTM", "DOTM"}


def test_recursion_reproduces_statsforecasts_own_dynamic_optimized_theta(real_series):
    from statsforecast.models import DynamicOptimizedTheta

    for name, y in [*real_series.items(), ("local level", _local_level(10.0))]:
        train = y[:TRAIN]
        theirs = DynamicOptimizedTheta().fit(train)
        par = theirs.model_["par"]
        path = theta_filter(
            train, par["alpha"], par["theta"], initial_smoothed=par["initial_smoothed"]
        )
        fitted = theirs.predict_in_sample()["fitted"]
        np.testing.assert_allclose(path[:-1], fitted[1:], rtol=1e-8, err_msg=name)
        assert path[-1] == pytest.approx(theirs.predict(h=1)["mean"][0], rel=1e-8), name


@pytest.mark.parametrize(
    ("series", "bound"),
    [("real", 1e-12), (3.0, 1e-8), (10.0, 3e-3), (30.0, 4e-3)],
)
def test_window_forecasts_against_statsforecast_forward(real_series, series, bound):
    from statsforecast.theta import forecast_theta, forward_theta

    cases = real_series if series == "real" else {f"noise {series}": _local_level(series)}
    worst = 0.0
    for name, y in cases.items():
        train = y[:TRAIN]
        model = Theta().fit(train)
        p = model.params_
        fit = _their_fit(train, p)
        for end in range(TRAIN + WINDOW, len(y) + 1, 4):
            window = y[end - WINDOW : end]
            forward = forecast_theta(forward_theta(fit, window), 1)["mean"][0]
            theirs = theta_filter(window, p.alpha, p.theta, initial_smoothed=float(train[0]))
            assert theirs[-1] == pytest.approx(forward, rel=1e-10), name
            worst = max(worst, abs(model.predict_one(window)[0] - forward) / abs(forward))
    assert worst < bound


def test_one_step_path_is_predict_one_on_every_prefix(real_series):
    y = real_series["AAPL"]
    for params in (
        {"model": "DOTM", "alpha": 0.3, "theta": 3.5, "sigma": 1.0},
        Theta().fit(y[:TRAIN]).to_params(),
    ):
        model = Theta.from_params(params)
        means, stds = model.one_step_path(y[:400], start=1)
        expected = np.array([model.predict_one(y[:t])[0] for t in range(1, 400)])
        np.testing.assert_allclose(means, expected, rtol=1e-11, atol=0)
        assert np.all(stds == model.params_.sigma)


def test_forced_dstm():
    y = _local_level(3.0)[:TRAIN]
    model = Theta("DSTM").fit(y)
    assert model.params_.theta == 2.0 and list(model.mse_) == ["DSTM"]
    assert model.label == "Theta(DSTM)" and model.complexity == 1


def test_parameters_are_validated():
    good = {"model": "DOTM", "alpha": 0.5, "theta": 2.5, "sigma": 1.0}
    assert Theta.from_params(good).params_ == ThetaParams(**good)
    for change, match in (
        ({"model": "STM"}, "model='STM' is unknown"),
        ({"alpha": 0.0}, r"alpha=0\.0 must be in \(0, 1\]"),
        ({"theta": 0.5}, "theta=0.5 must be >= 1"),
        ({"model": "DSTM"}, "DSTM has theta 2"),
        ({"sigma": float("inf")}, "sigma=inf must be finite"),
        ({"alpha": None}, "malformed"),
    ):
        with pytest.raises(BadInput, match=match):
            Theta.from_params(good | change)
    with pytest.raises(BadInput, match="expected"):
        Theta.from_params(good | {"extra": 1})
    with pytest.raises(BadInput, match="all 5"):
        Theta().fit(np.full(40, 5.0))
