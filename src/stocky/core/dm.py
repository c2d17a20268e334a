"""The Diebold-Mariano test of equal forecast accuracy, with the Harvey-Leybourne-Newbold correction."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

from stocky.core.checks import validate_pair, validate_positive
from stocky.errors import BadInput

__all__ = ["DieboldMariano", "diebold_mariano"]


class DieboldMariano(NamedTuple):
    """Result of a two-sided Diebold-Mariano test (HLN-corrected, Student-t p-value)."""

    statistic: float
    pvalue: float


def _validate_dm_options(n: int, h: int, power: float) -> None:
    """Horizon and loss power must make the HLN-corrected statistic well defined."""
    if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
        raise BadInput(f"h={h!r} is invalid: pass the forecast horizon as an integer >= 1")
    validate_positive(power, "power")
    if n < 2:
        raise BadInput(
            f"Diebold-Mariano needs at least 2 errors, got {n}: pass a longer error series"
        )
    if h >= n:
        raise BadInput(f"h={h} is not below the number of errors ({n}): pass h < {n}")


def diebold_mariano(
    errors_model: ArrayLike,
    errors_benchmark: ArrayLike,
    *,
    h: int = 1,
    power: float = 2,
) -> DieboldMariano:
    """Two-sided Diebold-Mariano test of equal forecast accuracy.

    With loss differential ``d_t = |e1_t|**power - |e2_t|**power``, mean ``dbar`` and
    autocovariances ``g_k = (1/n) * sum_{t>k} (d_t - dbar)(d_{t-k} - dbar)``, the statistic is
    ``dbar / sqrt((g_0 + 2 * sum_{k=1}^{h-1} g_k) / n)``, multiplied by the Harvey, Leybourne &
    Newbold (1997) correction ``sqrt((n + 1 - 2h + h(h-1)/n) / n)`` and compared with a
    Student-t distribution with n - 1 degrees of freedom.

    Degenerate cases, instead of dividing by zero:

    * the two loss series agree to rounding (relative 1e-9; e.g. a random walk scored
      against naive, whose forecasts differ only in the last bits): statistic 0.0,
      p-value 1.0 -- there is no evidence of a difference;
    * the long-run variance is not positive while ``d`` is not all zero: if h > 1 the
      variance falls back to ``g_0 / n`` (the h = 1 estimate, as Diebold & Mariano suggest
      for a negative estimate); if ``d`` is a non-zero constant, the statistic is +-inf and
      the p-value 0.0 (one forecast is better at every step).

    Args:
        errors_model: Forecast errors of the model (actual - forecast).
        errors_benchmark: Errors of the benchmark (e.g. naive) on the same targets.
        h: Forecast horizon; h - 1 autocovariances enter the long-run variance.
        power: Loss exponent (2: squared error, 1: absolute error).

    Returns:
        DieboldMariano(statistic, pvalue). A negative statistic means the model has the
        smaller loss.

    Raises:
        BadInput: If the errors are invalid or of different length, fewer than 2, h is not
            an integer in [1, n), or power is not > 0.
    """
    e1, e2 = validate_pair(errors_model, errors_benchmark, "errors_model", "errors_benchmark")
    n = e1.size
    _validate_dm_options(n, h, power)
    loss1, loss2 = np.abs(e1) ** power, np.abs(e2) ** power
    d = loss1 - loss2
    tiny = 1e-12 * float(max(np.max(loss1), np.max(loss2)))
    if np.allclose(loss1, loss2, rtol=1e-9, atol=tiny):
        return DieboldMariano(statistic=0.0, pvalue=1.0)
    dbar = float(np.mean(d))
    centred = d - dbar
    gammas = [float(np.dot(centred[k:], centred[: n - k])) / n for k in range(h)]
    variance = (gammas[0] + 2.0 * sum(gammas[1:])) / n
    if variance <= 0.0:
        variance = gammas[0] / n
    if variance <= 0.0:
        return DieboldMariano(statistic=math.copysign(math.inf, dbar), pvalue=0.0)
    correction = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    statistic = correction * dbar / math.sqrt(variance)
    pvalue = float(2.0 * stats.t.sf(abs(statistic), df=n - 1))
    return DieboldMariano(statistic=float(statistic), pvalue=pvalue)
