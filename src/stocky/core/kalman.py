"""Exact one-step forecasts as fixed linear weights over a price window.

For fixed ARIMA parameters the Kalman filter's gains do not depend on the data, so the
one-step forecast from a window of n prices is an affine function of those prices:
``mean = intercept + weights @ window``. We run the filter once per window length on the
identity (every basis vector at once) to get those weights; afterwards a forecast is a dot
product (about a microsecond) instead of a Kalman pass or a refit (tens of milliseconds).

The state space mirrors statsmodels' ARIMA exactly (Harvey form for the ARMA part, d
integration states with approximate-diffuse variance 1e6, stationary initial covariance from
a discrete Lyapunov equation), so results equal statsmodels' forecasts to rounding.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.linalg import solve_discrete_lyapunov

__all__ = ["DIFFUSE_VARIANCE", "LinearForecast", "WeightTable", "linear_forecast", "weight_table"]

#: statsmodels' `approximate_diffuse_variance` for the integration states.
DIFFUSE_VARIANCE = 1e6


@dataclass(frozen=True)
class LinearForecast:
    """One-step forecast of y[n] from y[0..n-1]: ``intercept + weights @ y`` with variance."""

    weights: NDArray[np.float64]
    intercept: float
    variance: float


def _state_space(
    ar: NDArray[np.float64], ma: NDArray[np.float64], d: int, sigma2: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Design Z, transition T, state noise R Q R', and initial covariance P0."""
    p, q = len(ar), len(ma)
    r = max(p, q + 1)
    k = d + r
    transition = np.zeros((k, k))
    # integration block: upper-triangular ones, each also picking up the ARMA output
    transition[:d, :d] = np.triu(np.ones((d, d)))
    transition[:d, d] = 1.0
    arma = transition[d:, d:]
    arma[:p, 0] = ar
    arma[:-1, 1:] = np.eye(r - 1)
    selection = np.zeros(k)
    selection[d] = 1.0
    selection[d + 1 : d + 1 + q] = ma
    design = np.zeros(k)
    design[: d + 1] = 1.0
    noise = np.outer(selection, selection) * sigma2
    p0 = np.zeros((k, k))
    p0[:d, :d] = np.eye(d) * DIFFUSE_VARIANCE
    p0[d:, d:] = solve_discrete_lyapunov(arma, noise[d:, d:])
    return design, transition, noise, p0


@dataclass(frozen=True)
class WeightTable:
    """The one-step forecast weights of every window length 1..n, from one filter pass.

    Row ``m - 1`` of `weights` holds the weights of a window of ``m`` prices in its first
    ``m`` columns (zeros after them): one (n, n) array instead of n small ones.
    """

    weights: NDArray[np.float64]
    intercepts: NDArray[np.float64]
    variances: NDArray[np.float64]

    @property
    def max_length(self) -> int:
        return len(self.intercepts)

    def get(self, m: int) -> LinearForecast:
        """The LinearForecast of a window of `m` prices (1 <= m <= max_length)."""
        if not 1 <= m <= self.max_length:
            raise ValueError(f"window length {m} is outside this table's 1..{self.max_length}")
        return LinearForecast(
            weights=self.weights[m - 1, :m],
            intercept=float(self.intercepts[m - 1]),
            variance=float(self.variances[m - 1]),
        )


def weight_table(
    n: int,
    *,
    ar: NDArray[np.float64],
    ma: NDArray[np.float64],
    d: int,
    sigma2: float,
    mean: float = 0.0,
) -> WeightTable:
    """`linear_forecast` for every window length 1..n at the cost of the longest one.

    After the filter has taken m observations, its state already gives the forecast from a
    window of m prices (later columns are still zero), so one pass of n steps yields all n.

    Args:
        n: Longest window length.
        ar: AR coefficients (statsmodels sign convention).
        ma: MA coefficients (statsmodels sign convention).
        d: Order of integration.
        sigma2: Innovation variance.
        mean: Observation intercept.

    Returns:
        A WeightTable; ``table.get(m)`` equals ``linear_forecast(m, ...)``.

    Raises:
        ValueError: If n is not positive or sigma2 is not positive.
    """
    _check(n, sigma2)
    rows = np.zeros((n, n))
    intercepts = np.zeros(n)
    variances = np.zeros(n)
    for t, (coef, const, cov, design) in enumerate(_filter_steps(n, ar, ma, d, sigma2, mean)):
        rows[t, : t + 1] = (design @ coef)[: t + 1]
        intercepts[t] = mean + float(design @ const)
        variances[t] = float(design @ cov @ design)
    return WeightTable(weights=rows, intercepts=intercepts, variances=variances)


def _check(n: int, sigma2: float) -> None:
    if n < 1:
        raise ValueError(f"window length must be >= 1, got {n}")
    if not sigma2 > 0:
        raise ValueError(f"sigma2 must be > 0, got {sigma2}")


def _filter_steps(
    n: int,
    ar: NDArray[np.float64],
    ma: NDArray[np.float64],
    d: int,
    sigma2: float,
    mean: float,
) -> Iterator[
    tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
]:
    """The filter on the identity: after each observation t, (coef, const, cov, design)."""
    design, transition, noise, cov = _state_space(
        np.asarray(ar, float), np.asarray(ma, float), d, sigma2
    )
    k = len(design)
    # coef[:, j] is the state's coefficient on y[j]; const is the part from the intercept.
    coef = np.zeros((k, n))
    const = np.zeros(k)
    for t in range(n):
        pz = cov @ design
        f = float(design @ pz)
        gain = (transition @ pz) / f
        innov = -(design @ coef)
        innov[t] += 1.0
        innov_const = -mean - float(design @ const)
        coef = transition @ coef + np.outer(gain, innov)
        const = transition @ const + gain * innov_const
        cov = transition @ cov @ transition.T + noise - np.outer(gain, gain) * f
        yield coef, const, cov, design


def linear_forecast(
    n: int,
    *,
    ar: NDArray[np.float64],
    ma: NDArray[np.float64],
    d: int,
    sigma2: float,
    mean: float = 0.0,
) -> LinearForecast:
    """Weights that turn a window of `n` observations into the exact one-step forecast.

    Args:
        n: Window length (number of observations before the forecast).
        ar: AR coefficients phi_1..phi_p (statsmodels sign convention).
        ma: MA coefficients theta_1..theta_q (statsmodels sign convention).
        d: Order of integration.
        sigma2: Innovation variance.
        mean: Observation intercept (the mean of a d=0 model with a constant).

    Returns:
        A LinearForecast; ``intercept + weights @ window`` is the forecast mean.

    Raises:
        ValueError: If n is not positive or sigma2 is not positive.
    """
    _check(n, sigma2)
    *_, (coef, const, cov, design) = _filter_steps(n, ar, ma, d, sigma2, mean)
    weights = design @ coef
    intercept = mean + float(design @ const)
    variance = float(design @ cov @ design)
    return LinearForecast(weights=weights, intercept=intercept, variance=variance)
