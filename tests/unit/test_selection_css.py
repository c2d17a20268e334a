"""The faster order search pinned to the computation it replaced, on real closes.

Before: every CSS candidate was minimised by L-BFGS-B with scipy's own finite-difference
gradient, and the random walk's validation RMSE came from fitting and filtering it. Now every
candidate uses the exact gradient (finite differences multiplied the BLAS kernel's last-bit
differences into different optima for mixed ARMA candidates), the ranking rounds AIC before
preferring fewer parameters, and the random walk's RMSE is the naive column of the candidate's
walk. The references below are the old computations, run side by side.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import check_grad, minimize

from stocky.core.arima import RANDOM_WALK, ArimaForecaster, ArimaOrder
from stocky.core.backtest import walk_forward
from stocky.core.selection import (
    _BOUND,
    AIC_TIE,
    CssFit,
    _css_fits,
    _css_params,
    _rank_key,
    _ssr,
    _ssr_and_grad,
    css_aic,
    css_fit,
    rank_orders,
    select_order,
)

#: Points before the validation window in a default training on 1,000 sessions.
FIT_POINTS = 622
CANDIDATES = [(p, q) for p in range(4) for q in range(4)]


def _bokeh_adjusted(ticker: str) -> np.ndarray:
    from bokeh_sampledata import stocks

    return np.asarray(getattr(stocks, ticker)["adj_close"], dtype=float)


@pytest.fixture(scope="module")
def real_windows(sp500_close: np.ndarray) -> dict[str, np.ndarray]:
    """Two FIT_POINTS windows of each real series: S&P 500 and bokeh's adjusted closes."""
    series = {"^GSPC": sp500_close} | {
        t: _bokeh_adjusted(t) for t in ("AAPL", "MSFT", "IBM", "GOOG")
    }
    return {
        f"{name}[{start}:]": close[start : start + FIT_POINTS]
        for name, close in series.items()
        for start in (0, len(close) - FIT_POINTS)
    }


def _scaled_diffs(y: np.ndarray) -> np.ndarray:
    x = np.diff(y)
    return x / x.std()


def _old_css_aic(x: np.ndarray, p: int, q: int) -> float:
    """The replaced computation: scipy's finite-difference gradient inside L-BFGS-B."""
    n, k = len(x) - p, p + q
    if k == 0:
        ssr = float(x @ x)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # its overflow, fixed in the new one
            res = minimize(
                _ssr, np.zeros(k), args=(x, p, q), method="L-BFGS-B", bounds=[(-_BOUND, _BOUND)] * k
            )
        ssr = float(res.fun)
    return float(n * np.log(ssr / n) + 2 * (k + 1))


@pytest.mark.parametrize("p,q", [(1, 0), (3, 0), (0, 1), (0, 3), (1, 1), (2, 2), (3, 3)])
def test_exact_gradient_agrees_with_a_numerical_one(sp500_close, p, q):
    x = _scaled_diffs(sp500_close[-FIT_POINTS:])
    rng = np.random.default_rng(p * 4 + q)
    for _ in range(3):
        theta = rng.uniform(-0.4, 0.4, p + q)
        value, grad = _ssr_and_grad(theta, x, p, q)
        assert value == pytest.approx(_ssr(theta, x, p, q), rel=1e-12)
        err = check_grad(lambda t: _ssr(t, x, p, q), lambda t: _ssr_and_grad(t, x, p, q)[1], theta)
        assert err <= 1e-5 * np.linalg.norm(grad)


def test_aic_table_matches_the_finite_difference_search(real_windows):
    """Pure AR/MA candidates within 1e-6 of the old AIC (measured: 2e-10). Mixed ARMA
    candidates have several optima, and the exact gradient's path may stop in another one than
    finite differences did: measured, 78 of 90 mixed candidates agree within 1e-6, 8 reach a
    lower AIC, 4 a higher one."""
    same = lower = higher = 0
    for name, y in real_windows.items():
        x = _scaled_diffs(y)
        for pq in CANDIDATES:
            new, old = css_aic(x, *pq), _old_css_aic(x, *pq)
            if not (pq[0] and pq[1]):
                assert new == pytest.approx(old, abs=1e-6), (name, pq)
            elif abs(new - old) <= 1e-6:
                same += 1
            else:
                lower += new < old
                higher += new > old
    assert same + lower + higher == 90
    assert same >= 70 and lower >= higher


def test_near_tied_aic_goes_to_fewer_parameters_whichever_is_lower():
    n = 500
    grid = AIC_TIE * n
    simple = CssFit(ArimaOrder(1, 1, 0), 100.0, np.zeros(1), ssr=1.0, n=n)
    for delta in (-1e-9, 0.0, 1e-9):
        richer = CssFit(ArimaOrder(1, 1, 1), 100.0 + delta, np.zeros(2), ssr=1.0, n=n)
        ranked = sorted([richer, simple], key=lambda f: _rank_key(f, grid))
        assert ranked[0] is simple, delta
    # a real difference (ten grid steps) still wins
    richer = CssFit(ArimaOrder(1, 1, 1), 100.0 - 10 * grid, np.zeros(2), ssr=1.0, n=n)
    assert sorted([simple, richer], key=lambda f: _rank_key(f, grid))[0] is richer


def test_ranking_is_by_rounded_aic_then_fewer_parameters(sp500_close):
    fits = _css_fits(sp500_close[-600:], d=1, max_p=3, max_q=3)
    grid = AIC_TIE * 599
    keys = [_rank_key(f, grid) for f in fits]
    assert keys == sorted(keys)
    aics = [f.aic for f in fits]
    # outside a tie group the table is in plain AIC order
    assert all(a <= b + grid for a, b in zip(aics, aics[1:], strict=False))


def test_exploding_candidates_raise_no_overflow_warning():
    """This MSFT window made the old search print 'overflow encountered in divide'."""
    from pmdarima.datasets import load_msft

    close = load_msft()["Close"].to_numpy(dtype=float)[2488 : 2488 + FIT_POINTS]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranked = rank_orders(close, d=1)
    assert len(ranked) == 16 and all(np.isfinite(a) for _, a in ranked)


def test_random_walk_validation_rmse_is_its_walk_forward(real_windows):
    """Wherever the AIC winner was walked over the validation window, the random walk's RMSE
    reported beside it is its own walk-forward. Measured: 6 of the 10 real windows walk (the
    others' winner is the random walk or has a unit root), the same on every BLAS kernel."""
    checked = 0
    for name, y in real_windows.items():
        choice = select_order(y, validation_size=126)
        walked = "validation window" in choice.reason
        assert walked == bool(np.isfinite(choice.validation_naive_rmse)), name
        if not walked:
            continue
        fit_len = len(y) - 126
        rw = walk_forward(y, order=RANDOM_WALK, test_size=126, train_window=fit_len)
        assert choice.validation_naive_rmse == pytest.approx(rw.rmse, rel=1e-12), name
        checked += 1
    assert checked >= 4  # the shortcut was exercised, not skipped


def test_random_walk_validation_rmse_on_a_clear_ar_signal():
    """SYNTHETIC: an AR(1) in the differences is always walked, whatever real data does."""
    rng = np.random.default_rng(5)
    e = rng.normal(0.0, 1.0, FIT_POINTS)
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, len(e)):
        x[t] = 0.5 * x[t - 1] + e[t]
    y = 300.0 + np.cumsum(x)
    choice = select_order(y, validation_size=126)
    assert choice.best_candidate is not None and choice.best_candidate != RANDOM_WALK
    rw = walk_forward(y, order=RANDOM_WALK, test_size=126, train_window=len(y) - 126)
    assert choice.validation_naive_rmse == pytest.approx(rw.rmse, rel=1e-12)
    assert choice.order == choice.best_candidate  # the signal beats the random walk


def test_fit_without_standard_errors_keeps_the_estimates(sp500_close):
    from statsmodels.tsa.arima.model import ARIMA

    y = sp500_close[-800:]
    for order in (ArimaOrder(0, 1, 0), ArimaOrder(1, 1, 1), ArimaOrder(2, 1, 2)):
        fitted = ArimaForecaster(order).fit(y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = ARIMA(y, order=(order.p, order.d, order.q), trend="n").fit()
        assert fitted.params_ is not None
        np.testing.assert_allclose(fitted.params_.as_vector(), ref.params, rtol=1e-8)
        assert fitted.aic_ == pytest.approx(float(ref.aic), rel=1e-10)


def test_css_parameters_are_the_exact_ml_estimates_for_a_clear_ar_signal():
    """SYNTHETIC: an AR(1) in the differences (phi 0.4): both estimators find it."""
    rng = np.random.default_rng(11)
    e = rng.normal(0.0, 1.5, 900)
    x = np.empty_like(e)
    x[0] = e[0]
    for t in range(1, len(e)):
        x[t] = 0.4 * x[t - 1] + e[t]
    y = 500.0 + np.cumsum(x)
    order = ArimaOrder(1, 1, 0)
    fit = css_fit(_scaled_diffs(y), order)
    params = _css_params(fit, y)
    exact = ArimaForecaster(order).fit(y).params_
    assert params is not None and exact is not None
    assert params.ar[0] == pytest.approx(exact.ar[0], abs=0.01)
    assert params.ar[0] == pytest.approx(0.4, abs=0.06)
    assert params.sigma2 == pytest.approx(exact.sigma2, rel=0.01)
    assert params.sigma2 == pytest.approx(1.5**2, rel=0.1)


def test_a_levels_non_stationary_or_non_invertible_css_estimate_is_not_used():
    y = 100.0 + np.cumsum(np.random.default_rng(3).normal(0.0, 1.0, 300))
    for order, coefs in (
        (ArimaOrder(2, 1, 0), [0.99, 0.5]),  # AR roots inside the unit circle
        (ArimaOrder(0, 1, 1), [-0.999999999]),  # MA root on it
    ):
        fit = CssFit(order, 0.0, np.array(coefs), ssr=300.0, n=299)
        assert _css_params(fit, y) is None, order
    ok = CssFit(ArimaOrder(1, 1, 1), 0.0, np.array([0.5, -0.2]), ssr=299.0, n=298)
    params = _css_params(ok, y)
    assert params is not None and (params.ar, params.ma) == ((0.5,), (-0.2,))
    # SSR per point of the unit-scaled differences, back on the price scale
    assert params.sigma2 == pytest.approx(299.0 / 298 * np.diff(y).std() ** 2, rel=1e-12)
    levels = CssFit(ArimaOrder(1, 0, 0), 0.0, np.array([0.5]), ssr=299.0, n=299)
    assert _css_params(levels, y) is None  # d = 0: the exact-ML fit decides


def test_validation_with_css_estimates_agrees_with_exact_ml_for_pure_ar_or_ma(real_windows):
    """The validation walk uses the winner's CSS estimates. Pure AR or MA candidates have one
    optimum, so the exact-ML fit gives nearly the same walk and the same decision (mixed ARMA
    candidates can have several optima, and there the two fits may stop in different ones)."""
    checked = 0
    for name, y in real_windows.items():
        choice = select_order(y, validation_size=126)
        best = choice.best_candidate
        if best is None or best == RANDOM_WALK or (best.p and best.q):
            continue
        fit_len = len(y) - 126
        exact = walk_forward(y, order=best, test_size=126, train_window=fit_len)
        assert choice.validation_rmse == pytest.approx(exact.rmse, rel=2e-3), name
        assert (choice.order == best) == (exact.rmse < exact.naive_rmse), name
        checked += 1
    assert checked >= 2  # pure AR/MA winners were met, not skipped


@pytest.mark.parametrize("start", [250, 500, 1000])
def test_a_winner_with_a_unit_root_estimate_keeps_the_random_walk_as_exact_ml_would(start):
    """Real AAPL windows whose AIC winner's CSS estimates put a root on the unit circle
    (cancelling AR and MA factors). The random walk is kept without an exact-ML fit; that fit,
    walked forward, does not beat the random walk on these windows either."""
    y = _bokeh_adjusted("AAPL")[start : start + 1100][-(1000 - 252) :]
    choice = select_order(y, validation_size=126)
    best = choice.best_candidate
    assert best is not None and best != RANDOM_WALK
    assert choice.order == RANDOM_WALK and "unit circle" in choice.reason
    exact = walk_forward(y, order=best, test_size=126, train_window=len(y) - 126)
    assert exact.rmse >= exact.naive_rmse
