"""ETS(A,N/A/Ad,N): fitted by statsforecast's AutoETS, served by stocky's own recursion.

Pinned on real closes: (a) the recursion run over the training prices from statsforecast's
fitted initial states reproduces its in-sample fitted values, final states and predict(h=1);
(b) on 60-price windows after the training period, the same recursion from statsforecast's
start-up reproduces ``forward(y=window, h=1)`` exactly, and stocky's start-up (level at the
window's first price, trend at the fitted final trend) stays close to it. Measured here (max
relative difference over ~60 windows each): ETS(A,N,N) 2e-16; ETS(A,Ad,N) 1e-5 (S&P 500,
beta 3e-4) and 1.2e-9 (AAPL, beta 0.07); ETS(A,A,N) 5e-5 (S&P 500) and 2.1e-4 (AAPL). The
difference is statsforecast's start-up, not ours: forward() starts the window's level at the
training series' first level (years earlier), and with an undamped trend the first, huge error
moves the trend for good (beta times hundreds of points).
"""

from __future__ import annotations

import numpy as np
import pytest

from stocky.core.families.ets import Ets, EtsParams, ets_filter
from stocky.errors import BadInput

TRAIN = 1000
WINDOW = 60


def _bokeh_adjusted(ticker: str) -> np.ndarray:
    from bokeh_sampledata import stocks

    return np.asarray(getattr(stocks, ticker)["adj_close"], dtype=float)


@pytest.fixture(scope="module")
def cases(sp500_close: np.ndarray) -> dict[str, tuple[np.ndarray, str]]:
    """Real series of 1,252 closes and the trend AutoETS picks on their first 1,000."""
    aapl = _bokeh_adjusted("AAPL")
    return {
        "^GSPC last": (sp500_close[-(TRAIN + 252) :], "N"),
        "^GSPC 2003-07": (sp500_close[1000 : 1000 + TRAIN + 252], "A"),
        "AAPL 2000-04": (aapl[: TRAIN + 252], "Ad"),
    }


def _statsforecast(train: np.ndarray, trend: str | None):
    from statsforecast.models import AutoETS

    if trend is None:
        return AutoETS(model="AZN", damped=None).fit(train)
    return AutoETS(model="ANN" if trend == "N" else "AAN", damped=trend == "Ad").fit(train)


def _params(trend: str, alpha: float, beta: float = 0.0, phi: float = 1.0, slope: float = 0.0):
    return EtsParams(trend, alpha, beta, phi, 0.0, slope, 1.0, 0.0, slope)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # l0 = 10; f = 10; l1 = 10 + 0.5 * 2 = 11
        (_params("N", 0.5), 11.0),
        # f = 10 + 1; e = 1; l = 11.5; b = 1 + 0.25 = 1.25; next = 12.75
        (_params("A", 0.5, 0.25, slope=1.0), 12.75),
        # f = 10 + 0.5; e = 1.5; l = 11.25; b = 0.5 + 0.375 = 0.875; next = 11.25 + 0.4375
        (_params("Ad", 0.5, 0.25, 0.5, slope=1.0), 11.6875),
    ],
)
def test_hand_computed_forecast_from_a_two_price_window(params, expected):
    model = Ets.from_params(params.to_dict())
    assert model.predict_one([10.0, 12.0]) == (pytest.approx(expected, rel=1e-15), 1.0)
    means, _ = model.one_step_path([10.0, 12.0, 99.0], start=2)
    assert means[0] == pytest.approx(expected, rel=1e-15)


def test_trend_is_chosen_as_statsforecast_chooses_it(cases):
    for name, (y, trend) in cases.items():
        model = Ets().fit(y[:TRAIN])
        theirs = _statsforecast(y[:TRAIN], None)
        assert model.params_.trend == trend, name
        assert model.label == theirs.model_["method"]
        assert model.label == {"N": "ETS(A,N,N)", "A": "ETS(A,A,N)", "Ad": "ETS(A,Ad,N)"}[trend]
        assert model.complexity == {"N": 2, "A": 4, "Ad": 5}[trend]
        assert model.aicc_ == pytest.approx(theirs.model_["aicc"], rel=1e-12)


@pytest.mark.parametrize("trend", ["N", "A", "Ad"])
def test_recursion_reproduces_statsforecast_in_sample(cases, trend):
    for name, (y, _) in cases.items():
        train = y[:TRAIN]
        model = Ets(trend).fit(train)
        theirs = _statsforecast(train, trend).model_
        p = model.params_
        assert p.alpha == theirs["par"][0]
        assert p.sigma == pytest.approx(np.sqrt(theirs["sigma2"]), rel=1e-15)
        fitted, level, slope = ets_filter(train, p, level=p.initial_level, slope=p.initial_slope)
        np.testing.assert_allclose(fitted, theirs["fitted"], rtol=1e-8, atol=0, err_msg=name)
        np.testing.assert_allclose([level, slope], [p.level, p.slope], rtol=1e-8, err_msg=name)
        predicted = _statsforecast(train, trend).predict(h=1)["mean"][0]
        assert level + p.phi * slope == pytest.approx(predicted, rel=1e-8), name


@pytest.mark.parametrize(
    ("trend", "bound"), [("N", 1e-12), ("Ad", 2e-5), ("A", 5e-4), (None, 5e-4)]
)
def test_window_forecasts_against_statsforecast_forward(cases, trend, bound):
    worst = 0.0
    for name, (y, _) in cases.items():
        train = y[:TRAIN]
        model = Ets(trend).fit(train)
        theirs = _statsforecast(train, trend)
        p = model.params_
        for end in range(TRAIN + WINDOW, len(y) + 1, 4):
            window = y[end - WINDOW : end]
            forward = theirs.forward(y=window, h=1)["mean"][0]
            # Their start-up: the recursion reproduces forward() exactly.
            _, level, slope = ets_filter(window, p, level=p.initial_level, slope=p.initial_slope)
            assert level + p.phi * slope == pytest.approx(forward, rel=1e-10), name
            # Ours: level at window[0], trend at the fitted final trend.
            worst = max(worst, abs(model.predict_one(window)[0] - forward) / forward)
    assert worst < bound


def test_one_step_path_is_predict_one_on_every_prefix(cases):
    y, _ = cases["AAPL 2000-04"]
    for trend in ("N", "A", "Ad"):
        model = Ets(trend).fit(y[:TRAIN])
        means, stds = model.one_step_path(y, start=1)
        assert len(means) == len(y) - 1
        expected = np.array([model.predict_one(y[:t])[0] for t in range(1, len(y))])
        np.testing.assert_allclose(means, expected, rtol=1e-12, atol=0)
        assert np.all(stds == model.params_.sigma)


def test_serving_start_up_on_the_training_prices_is_the_fit_for_alpha_near_one(cases):
    # With alpha = 0.9999 the start-up is forgotten at once: predict_one over the whole
    # training series is statsforecast's predict(h=1).
    y, _ = cases["^GSPC last"]
    model = Ets("N").fit(y[:TRAIN])
    predicted = _statsforecast(y[:TRAIN], "N").predict(h=1)["mean"][0]
    assert model.predict_one(y[:TRAIN])[0] == pytest.approx(predicted, rel=1e-12)


def test_parameters_are_validated():
    good = _params("Ad", 0.5, 0.25, 0.9, slope=1.0).to_dict()
    assert Ets.from_params(good).params_ == EtsParams.from_dict(good)
    for change, match in (
        ({"trend": "M"}, "trend='M' is unknown"),
        ({"alpha": 1.5}, r"alpha=1\.5 must be in \(0, 1\]"),
        ({"phi": 0.0}, "phi=0.0"),
        ({"sigma": 0.0}, "sigma=0.0 must be > 0"),
        ({"level": float("nan")}, "level=nan must be finite"),
        ({"trend": "A"}, "undamped but phi=0.9"),
        ({"alpha": "x"}, "malformed"),
    ):
        with pytest.raises(BadInput, match=match):
            Ets.from_params(good | change)
    with pytest.raises(BadInput, match="expected"):
        Ets.from_params({k: v for k, v in good.items() if k != "slope"})
    with pytest.raises(BadInput, match="without trend"):
        Ets.from_params(good | {"trend": "N", "phi": 1.0})
    with pytest.raises(BadInput, match="trend='X'"):
        Ets("X")


def test_constant_prices_are_refused():
    with pytest.raises(BadInput, match="all 5"):
        Ets().fit(np.full(40, 5.0))
