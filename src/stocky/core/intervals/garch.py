"""``garch``: GARCH(1,1) with Student-t innovations on the daily percent returns.

Fitted by maximum likelihood with `arch` on the training prices' returns
``r_t = 100 (p_t / p_{t-1} - 1)`` (constant mean): parameters ``mu, omega, alpha, beta, nu``
(`garch_fit.fit_garch_t`: arch's estimates, with the constraint jacobians given to SciPy).
Served from those parameters with numpy only (`arch` is imported inside `fit`): the variance
recursion ``σ²_t = ω + α e²_{t-1} + β σ²_{t-1}`` (``e = r - mu``) runs over the served window's
returns from arch's own start value (the backcast: the 0.94-weighted mean of the first
squared residuals, ``σ²_0 = ω + (α + β) backcast``), and the next session's variance is
``ω + α e²_last + β σ²_last``, exactly what ``arch_model(...).fix(params).forecast(horizon=1)``
gives for that window. With β ≈ 0.8-0.9 the start value's weight after 59 returns is below 1%.

Half-width in price: ``t_ν(level) √((ν-2)/ν) × σ_next / 100 × p_last`` (arch's Student-t is
standardised to unit variance). The quantile is `scipy.special.stdtrit` (no scipy.stats).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import stdtrit

from stocky.core.families.base import validate_window
from stocky.core.fitcache import FitCache, digest
from stocky.core.intervals.base import (
    half_width_path_by_window,
    param_float,
    validate_level,
)
from stocky.errors import DataQualityError

__all__ = ["BACKCAST_DECAY", "BACKCAST_SPAN", "GARCH", "MIN_FIT_RETURNS", "next_variance"]

#: Fewer training returns than this and the GARCH fit is refused (the estimates wander).
MIN_FIT_RETURNS = 250
#: arch's backcast: the first `BACKCAST_SPAN` squared residuals weighted by 0.94**i.
BACKCAST_SPAN = 75
BACKCAST_DECAY = 0.94
_KEYS = ("mu", "omega", "alpha", "beta", "nu")


def percent_returns(prices: NDArray[np.float64]) -> NDArray[np.float64]:
    """``100 (p_t / p_{t-1} - 1)``: the returns the GARCH is fitted and served on."""
    out: NDArray[np.float64] = 100.0 * np.diff(prices) / prices[:-1]
    return out


def next_variance(returns: NDArray[np.float64], params: Mapping[str, float]) -> float:
    """The one-step-ahead conditional variance after `returns` (percent², oldest first).

    The recursion from arch's backcast start, as one dot product: ``σ²_n = Σ β^{n-k} u_k``
    with ``u_0 = ω + (α + β) backcast`` and ``u_k = ω + α e²_{k-1}``.
    """
    omega, alpha, beta = params["omega"], params["alpha"], params["beta"]
    e2 = (returns - params["mu"]) ** 2
    n = e2.size
    tau = min(BACKCAST_SPAN, n)
    w = BACKCAST_DECAY ** np.arange(tau, dtype=np.float64)
    backcast = float(w @ e2[:tau]) / float(w.sum())
    u = np.empty(n + 1, dtype=np.float64)
    u[0] = omega + (alpha + beta) * backcast
    u[1:] = omega + alpha * e2
    powers = beta ** np.arange(n, -1, -1, dtype=np.float64)
    return float(powers @ u)


#: GARCH fits by their exact returns (a replay's retrains refit windows they fitted before).
_FITS: FitCache[tuple[Any, int]] = FitCache(256)


class _Garch:
    name = "garch"

    def fit(
        self,
        prices: ArrayLike,
        *,
        window: int,
        level: float = 0.95,
        errors: ArrayLike | None = None,
        scales: ArrayLike | None = None,
    ) -> dict[str, Any]:
        """Fit GARCH(1,1)-t on the percent returns of `prices` with arch.

        Raises:
            BadInput: Bad prices.
            DataQualityError: Fewer than MIN_FIT_RETURNS returns, or arch did not converge
                to usable parameters.
        """
        arr = validate_window(prices, min_len=2, name="prices")
        returns = percent_returns(arr)
        if returns.size < MIN_FIT_RETURNS:
            raise DataQualityError(
                f"a GARCH fit needs {MIN_FIT_RETURNS} returns, got {returns.size}: use more "
                "history or STOCKY_INTERVAL=ewma"
            )
        # fitting only: serving never imports arch
        from stocky.core.intervals.garch_fit import fit_garch_t

        # arch's estimates, cheaper; a window fitted before is read back (`core.fitcache`)
        estimates, flag = _FITS.get_or_fit(digest(returns), lambda: fit_garch_t(returns))
        values = dict(zip(_KEYS, (float(v) for v in estimates), strict=True))
        if flag != 0 or not all(math.isfinite(v) for v in values.values()):
            raise DataQualityError(
                f"the GARCH fit on {returns.size} returns did not converge "
                f"(flag {flag}): use STOCKY_INTERVAL=ewma for this ticker"
            )
        return self.check(values)

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        out = {"mu": param_float(params, "mu", self.name, strict=False)}
        out["omega"] = param_float(params, "omega", self.name, low=0.0, strict=True)
        out["alpha"] = param_float(params, "alpha", self.name, low=0.0, strict=False)
        out["beta"] = param_float(params, "beta", self.name, low=0.0, strict=False)
        out["nu"] = param_float(params, "nu", self.name, low=2.0, strict=True)
        return out

    def half_width(
        self, window: NDArray[np.float64], level: float, params: Mapping[str, Any], *,
        model_std: float,
    ) -> float:  # fmt: skip
        sigma = math.sqrt(next_variance(percent_returns(window), params))
        return _t_quantile(float(params["nu"]), level) * sigma / 100.0 * float(window[-1])

    def half_width_path(
        self, y: NDArray[np.float64], *, start: int, window: int, level: float,
        params: Mapping[str, Any], model_std: NDArray[np.float64],
    ) -> NDArray[np.float64]:  # fmt: skip
        return half_width_path_by_window(
            self, y, start=start, window=window, level=level, params=params, model_std=model_std
        )


def _t_quantile(nu: float, level: float) -> float:
    """The `level` central quantile of arch's unit-variance Student-t with `nu` degrees."""
    p = 0.5 + validate_level(level) / 2
    return float(stdtrit(nu, p)) * math.sqrt((nu - 2.0) / nu)


GARCH = _Garch()
