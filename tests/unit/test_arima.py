"""The fast fixed-parameter forecast equals statsmodels' own forecast for the same parameters."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from statsmodels.tsa.arima.model import ARIMA

from stocky.core.arima import ArimaForecaster, ArimaOrder, ArimaParams, validate_window
from stocky.errors import BadInput

ORDERS = [
    (0, 1, 0),
    (1, 1, 0),
    (0, 1, 1),
    (1, 1, 1),
    (2, 1, 2),
    (3, 1, 1),
    (1, 0, 1),
    (2, 0, 0),
    (1, 2, 1),
]


def _reference(params: ArimaParams, window: np.ndarray) -> tuple[float, float]:
    o = params.order
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ARIMA(window, order=(o.p, o.d, o.q), trend=params.trend).filter(params.as_vector())
        f = res.get_forecast(1)
    return float(f.predicted_mean[0]), float(f.var_pred_mean[0])


@pytest.fixture(scope="module")
def fitted(sp500_close: np.ndarray) -> dict[tuple[int, int, int], ArimaForecaster]:
    train = sp500_close[-1500:-400]
    return {o: ArimaForecaster(ArimaOrder(*o)).fit(train) for o in ORDERS}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("n,tol", [(10, 1e-4), (30, 1e-6), (60, 1e-6)])
def test_fast_forecast_equals_statsmodels(fitted, sp500_close, order, n, tol):
    model = fitted[order]
    assert model.params_ is not None
    worst_mean = worst_var = 0.0
    for start in range(len(sp500_close) - 400, len(sp500_close) - n, 29):
        window = sp500_close[start : start + n]
        fast = model.forecast(window)
        ref_mean, ref_var = _reference(model.params_, window)
        worst_mean = max(worst_mean, abs(fast.mean - ref_mean) / abs(ref_mean))
        worst_var = max(worst_var, abs(fast.std**2 - ref_var) / ref_var)
    assert worst_mean < tol
    assert worst_var < 1e-6


def test_interval_is_mean_plus_minus_1_96_std(fitted, sp500_close):
    f = fitted[(2, 1, 2)].forecast(sp500_close[-60:])
    assert f.lower < f.mean < f.upper
    assert f.upper - f.mean == pytest.approx(1.959964 * f.std, rel=1e-6)
    assert f.mean - f.lower == pytest.approx(f.upper - f.mean, rel=1e-12)


def test_random_walk_forecast_is_last_price(sp500_close):
    model = ArimaForecaster(ArimaOrder(0, 1, 0)).fit(sp500_close[-500:])
    window = sp500_close[-40:]
    assert model.forecast(window).mean == pytest.approx(window[-1], rel=1e-12)
    # sigma2 of a random walk is the mean squared daily change (hand computation)
    diffs = np.diff(sp500_close[-500:])
    assert model.params_ is not None
    assert model.params_.sigma2 == pytest.approx(np.mean(diffs**2), rel=0.02)


def test_ar1_on_levels_hand_computation():
    # AR(1) with mean mu: forecast = mu + phi * (y_last - mu), variance sigma2 after enough data.
    params = ArimaParams(
        order=ArimaOrder(1, 0, 0), trend="c", const=100.0, ar=(0.5,), ma=(), sigma2=4.0
    )
    f = ArimaForecaster.from_params(params).forecast([101.0, 103.0, 98.0, 104.0])
    assert f.mean == pytest.approx(100.0 + 0.5 * 4.0)
    assert f.std == pytest.approx(2.0)


def test_params_round_trip_through_dict(fitted):
    params = fitted[(2, 1, 2)].params_
    assert params is not None
    again = ArimaParams.from_dict(params.to_dict())
    assert again == params


def test_forecast_before_fit_says_what_to_do():
    with pytest.raises(BadInput, match="call fit"):
        ArimaForecaster(ArimaOrder(1, 1, 1)).forecast([1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    "window,message",
    [
        ([1.0, float("nan"), 2.0], r"recent_prices\[1\] is NaN"),
        ([1.0, 2.0, float("inf")], r"recent_prices\[2\] is infinite"),
        ([1.0, -2.0, 3.0], r"recent_prices\[1\] is -2"),
        ([1.0, 0.0, 3.0], r"recent_prices\[1\] is 0"),
        ([[1.0, 2.0]], "flat list"),
        (["a", "b"], "list of numbers"),
    ],
)
def test_validate_window_names_index_and_fix(window, message):
    with pytest.raises(BadInput, match=message):
        validate_window(window)


@pytest.mark.parametrize(
    "text,expected", [("2,1,2", (2, 1, 2)), ("(0, 1, 0)", (0, 1, 0)), (" 1,1,0 ", (1, 1, 0))]
)
def test_order_parse(text, expected):
    assert ArimaOrder.parse(text) == ArimaOrder(*expected)
    assert str(ArimaOrder(*expected)) == f"({expected[0]}, {expected[1]}, {expected[2]})"


@pytest.mark.parametrize("text", ["2,1", "a,b,c", "1,1,1,1", "2;1;2x", "9,1,0", "1,3,0"])
def test_order_parse_rejects(text):
    with pytest.raises(BadInput):
        ArimaOrder.parse(text)


def test_bad_params_rejected():
    with pytest.raises(BadInput, match="sigma2"):
        ArimaParams(order=ArimaOrder(0, 1, 0), trend="n", const=0.0, ar=(), ma=(), sigma2=0.0)
    with pytest.raises(BadInput, match="do not fit order"):
        ArimaParams(order=ArimaOrder(1, 1, 0), trend="n", const=0.0, ar=(), ma=(), sigma2=1.0)
    with pytest.raises(BadInput, match="needs d=0"):
        ArimaParams(order=ArimaOrder(0, 1, 0), trend="c", const=1.0, ar=(), ma=(), sigma2=1.0)


@pytest.mark.parametrize("order", ORDERS)
def test_one_pass_table_equals_each_length(fitted, order):
    from stocky.core.kalman import linear_forecast, weight_table

    p = fitted[order].params_
    assert p is not None
    kw = {"ar": np.array(p.ar), "ma": np.array(p.ma), "d": p.order.d, "sigma2": p.sigma2}
    table = weight_table(60, mean=p.const, **kw)
    for m in (1, p.order.d + 1, 10, 37, 60):
        one = linear_forecast(m, mean=p.const, **kw)
        row = table.get(m)
        np.testing.assert_allclose(row.weights, one.weights, rtol=1e-12, atol=1e-12)
        assert row.intercept == pytest.approx(one.intercept, rel=1e-12, abs=1e-12)
        assert row.variance == pytest.approx(one.variance, rel=1e-12)
    with pytest.raises(ValueError, match="outside"):
        table.get(61)


def test_prepared_forecaster_matches_statsmodels_and_refits_drop_the_table(fitted, sp500_close):
    model = ArimaForecaster.from_params(fitted[(2, 1, 2)].params_).prepare(range(10, 61))
    assert model.params_ is not None
    for n in (10, 45, 60):
        window = sp500_close[-n:]
        ref_mean, ref_var = _reference(model.params_, window)
        got = model.forecast(window)
        assert got.mean == pytest.approx(ref_mean, rel=1e-4 if n == 10 else 1e-6)
        assert got.std**2 == pytest.approx(ref_var, rel=1e-6)
    # a window longer than the table falls back to the per-length weights
    assert model.forecast(sp500_close[-80:]).mean == pytest.approx(
        _reference(model.params_, sp500_close[-80:])[0], rel=1e-6
    )
    before = model.forecast(sp500_close[-60:]).mean
    model.fit(sp500_close[-900:-300])
    after = model.forecast(sp500_close[-60:]).mean
    assert after == pytest.approx(_reference(model.params_, sp500_close[-60:])[0], rel=1e-6)
    assert after != before


def test_a_fit_statsmodels_gives_up_on_is_a_data_quality_error(monkeypatch) -> None:
    import numpy as np
    import pytest
    from statsmodels.tsa.arima.model import ARIMA

    from stocky.core.arima import ArimaForecaster, ArimaOrder
    from stocky.errors import DataQualityError

    def singular(*_a, **_k):
        raise np.linalg.LinAlgError("Schur decomposition solver error.")

    monkeypatch.setattr(ARIMA, "fit", singular)
    y = 100 + np.cumsum(np.random.default_rng(0).normal(size=80))
    with pytest.raises(DataQualityError, match=r"could not be fitted.*--order"):
        ArimaForecaster(ArimaOrder(1, 1, 1)).fit(y)


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99, 0.999])
def test_interval_quantile_is_scipy_stats_norm_ppf(fitted, sp500_close, level):
    """The quantile comes from scipy.special.ndtri (norm.ppf's kernel, without scipy.stats)."""
    from scipy.stats import norm

    f = fitted[(1, 1, 1)].forecast(sp500_close[-60:], level=level)
    assert (f.upper - f.mean) / f.std == pytest.approx(norm.ppf(0.5 + level / 2), rel=1e-12)
