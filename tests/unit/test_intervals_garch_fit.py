"""The GARCH(1,1)-t fit with exact constraint jacobians equals arch's own fit, bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from arch import arch_model
from scipy.optimize._numdiff import approx_derivative

from stocky.core.intervals.garch import percent_returns
from stocky.core.intervals.garch_fit import fit_garch_t, forward_difference_steps


def _arch_fit(returns: np.ndarray) -> tuple[np.ndarray, int]:
    model = arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(disp="off", show_warning=False)
    return res.params.to_numpy(), int(res.convergence_flag)


def _windows(sp500_close: np.ndarray) -> list[np.ndarray]:
    """Real S&P 500 windows (calm years, 2008, the longest and the shortest a fit takes)
    and simulated GARCH and i.i.d. returns."""
    real = [
        percent_returns(sp500_close[start : start + size])
        for start, size in ((0, 1261), (1500, 1261), (2200, 1261), (3000, 600), (4000, 252))
    ]
    real.append(percent_returns(sp500_close))
    rng = np.random.default_rng(7)
    iid = rng.standard_t(5, size=1000)
    sigma2, shocks = np.empty(1200), rng.standard_normal(1200)
    sigma2[0], garch = 1.0, np.empty(1200)
    for t in range(1200):
        if t:
            sigma2[t] = 0.05 + 0.1 * garch[t - 1] ** 2 + 0.85 * sigma2[t - 1]
        garch[t] = np.sqrt(sigma2[t]) * shocks[t]
    return [*real, iid, garch + 0.05]


def test_the_estimates_and_flag_equal_arch_fit_bit_for_bit(sp500_close: np.ndarray) -> None:
    for returns in _windows(sp500_close):
        expected, flag = _arch_fit(returns)
        got, got_flag = fit_garch_t(returns)
        assert got_flag == flag
        np.testing.assert_array_equal(got, expected)


def test_a_flag_other_than_zero_comes_through() -> None:
    """A constant series is a degenerate likelihood: whatever arch says, so do we."""
    returns = np.r_[np.zeros(299), 1e-9]
    expected, flag = _arch_fit(returns)
    got, got_flag = fit_garch_t(returns)
    assert flag != 0
    assert got_flag == flag
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    ("x0", "lb", "ub"),
    [
        ([0.05, 0.02, 0.1, 0.85, 8.0], [-np.inf, 0, 0, 0, 2.05], [np.inf] * 4 + [500.0]),
        # at an upper bound the step turns back; with no room either way it shrinks
        ([0.0, 1.0, 1e9, 500.0, 2.05], [-1.0, 0, 0, 0, 2.05], [1.0, 1.0, np.inf, 500.0, 500.0]),
        ([3e-9, -1e-9, 0.5], [0.0, -1e-9, 0.5 - 1e-12], [5e-9, 0.0, 0.5]),
        ([1e100, -2.0, 0.0], [-np.inf] * 3, [np.inf] * 3),
    ],
)
def test_the_steps_are_scipys_forward_differences(
    x0: list[float], lb: list[float], ub: list[float]
) -> None:
    """`approx_derivative` of a separable cubic is ((x+h)^3 - x^3)/h per coordinate: its
    value pins the step h SciPy takes, which must be ours."""
    x, low, high = (np.asarray(v, dtype=float) for v in (x0, lb, ub))

    def cubic(v: np.ndarray) -> float:
        return float(np.sum(v**3))

    expected = approx_derivative(
        cubic, x, method="2-point", abs_step=np.sqrt(np.finfo(float).eps), bounds=(low, high)
    )
    h = forward_difference_steps(x, low, high)
    ours = np.empty_like(x)
    for i in range(x.size):
        stepped = x.copy()
        stepped[i] = x[i] + h[i]
        ours[i] = (cubic(stepped) - cubic(x)) / ((x[i] + h[i]) - x[i])
    np.testing.assert_array_equal(ours, expected)
