"""Forecast accuracy: point errors, skill against the naive forecast, Diebold-Mariano.

Every model measured on daily closes lands within about a percent of the naive random walk,
so the numbers that matter are relative ones: `skill` (1 - RMSE ratio), `mase` (MAE over the
in-sample naive MAE) and the Diebold-Mariano test of equal accuracy. `score` bundles them.

All functions take anything array-like, work on 1-D float arrays and raise
`stocky.errors.BadInput` on empty, non-finite or mismatched input.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from stocky.errors import BadInput

__all__ = [
    "DieboldMariano",
    "Scores",
    "coverage",
    "diebold_mariano",
    "mae",
    "mape",
    "mase",
    "naive_scale",
    "rmse",
    "score",
    "skill",
]

FloatArray = NDArray[np.float64]


class DieboldMariano(NamedTuple):
    """Result of a two-sided Diebold-Mariano test (HLN-corrected, Student-t p-value)."""

    statistic: float
    pvalue: float


@dataclass(frozen=True)
class Scores:
    """Accuracy of one forecast series next to the naive forecast of the same targets.

    Attributes:
        n: Number of forecast/actual pairs.
        mae: Mean absolute error of the model.
        rmse: Root mean squared error of the model.
        mape: Mean absolute percentage error of the model, in percent.
        mase: Model MAE over the in-sample naive scale; None when no scale was given.
        naive_mae: Mean absolute error of the naive forecast.
        naive_rmse: Root mean squared error of the naive forecast.
        naive_mape: Mean absolute percentage error of the naive forecast, in percent.
        skill: ``1 - rmse / naive_rmse``; positive means the model beats naive.
        dm_stat: Diebold-Mariano statistic on squared errors (negative: model better).
        dm_pvalue: Two-sided p-value of the Diebold-Mariano test.
        coverage: Share of actuals inside [lower, upper]; None when no interval was given.
    """

    n: int
    mae: float
    rmse: float
    mape: float
    mase: float | None
    naive_mae: float
    naive_rmse: float
    naive_mape: float
    skill: float
    dm_stat: float
    dm_pvalue: float
    coverage: float | None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (JSON-ready: ints, floats and None)."""
        return asdict(self)


# --------------------------------------------------------------------------- validation


def _validate_array(values: ArrayLike, name: str) -> FloatArray:
    """Convert to a non-empty, finite, 1-D float array or raise BadInput naming `name`."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{name} is not numeric ({exc}): pass a 1-D sequence of numbers") from exc
    if array.ndim != 1:
        raise BadInput(f"{name} has shape {array.shape}: pass a 1-D sequence of numbers")
    if array.size == 0:
        raise BadInput(f"{name} is empty: pass at least one value")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        first = int(bad[0])
        raise BadInput(
            f"{name}[{first}] is {array[first]} ({bad.size} non-finite value(s)): "
            "pass finite numbers only"
        )
    return array


def _validate_pair(
    first: ArrayLike, second: ArrayLike, first_name: str, second_name: str
) -> tuple[FloatArray, FloatArray]:
    """Validate two arrays and check they have the same length."""
    a = _validate_array(first, first_name)
    b = _validate_array(second, second_name)
    if a.size != b.size:
        raise BadInput(
            f"{first_name} and {second_name} differ in length ({a.size} vs {b.size}): "
            "pass arrays of equal length"
        )
    return a, b


def _validate_nonzero(actual: FloatArray, name: str) -> None:
    """MAPE divides by the actuals, so none of them may be zero."""
    zeros = np.flatnonzero(actual == 0.0)
    if zeros.size:
        raise BadInput(
            f"{name}[{int(zeros[0])}] is 0 ({zeros.size} zero(s)), so MAPE is undefined: "
            "use mae/rmse/mase for series that can be zero"
        )


def _validate_positive(value: float, name: str, *, allow_zero: bool = False) -> float:
    """A finite scalar > 0 (or >= 0 with `allow_zero`)."""
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{name}={value!r} is not a number: pass a finite number") from exc
    too_small = number < 0.0 if allow_zero else number <= 0.0
    if not math.isfinite(number) or too_small:
        bound = ">= 0" if allow_zero else "> 0"
        raise BadInput(f"{name}={value!r} is invalid: pass a finite number {bound}")
    return number


def _validate_interval(lower: FloatArray, upper: FloatArray) -> None:
    """Each lower bound must not exceed its upper bound."""
    crossed = np.flatnonzero(lower > upper)
    if crossed.size:
        i = int(crossed[0])
        raise BadInput(
            f"lower[{i}]={lower[i]} exceeds upper[{i}]={upper[i]} "
            f"({crossed.size} crossed interval(s)): pass lower <= upper"
        )


def _validate_dm_options(n: int, h: int, power: float) -> None:
    """Horizon and loss power must make the HLN-corrected statistic well defined."""
    if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
        raise BadInput(f"h={h!r} is invalid: pass the forecast horizon as an integer >= 1")
    _validate_positive(power, "power")
    if n < 2:
        raise BadInput(
            f"Diebold-Mariano needs at least 2 errors, got {n}: pass a longer error series"
        )
    if h >= n:
        raise BadInput(f"h={h} is not below the number of errors ({n}): pass h < {n}")


# --------------------------------------------------------------------------- point errors


def mae(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Mean absolute error.

    Args:
        actual: Observed values.
        predicted: Forecasts of the same targets, same length.

    Returns:
        ``mean(|actual - predicted|)``.

    Raises:
        BadInput: If an input is empty, non-finite, not 1-D, or the lengths differ.
    """
    a, p = _validate_pair(actual, predicted, "actual", "predicted")
    return float(np.mean(np.abs(a - p)))


def rmse(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Root mean squared error.

    Args:
        actual: Observed values.
        predicted: Forecasts of the same targets, same length.

    Returns:
        ``sqrt(mean((actual - predicted)**2))``.

    Raises:
        BadInput: If an input is empty, non-finite, not 1-D, or the lengths differ.
    """
    a, p = _validate_pair(actual, predicted, "actual", "predicted")
    return float(np.sqrt(np.mean((a - p) ** 2)))


def mape(actual: ArrayLike, predicted: ArrayLike) -> float:
    """Mean absolute percentage error, in percent.

    Args:
        actual: Observed values; none may be zero.
        predicted: Forecasts of the same targets, same length.

    Returns:
        ``100 * mean(|actual - predicted| / |actual|)``.

    Raises:
        BadInput: If an input is empty, non-finite, not 1-D, the lengths differ, or any
            actual is zero.
    """
    a, p = _validate_pair(actual, predicted, "actual", "predicted")
    _validate_nonzero(a, "actual")
    return float(100.0 * np.mean(np.abs((a - p) / a)))


def naive_scale(train_series: ArrayLike) -> float:
    """In-sample mean absolute error of the lag-1 naive forecast (the MASE denominator).

    Args:
        train_series: The training series in time order, at least 2 values.

    Returns:
        ``mean(|y[t] - y[t-1]|)`` over t = 1..n-1.

    Raises:
        BadInput: If the series is empty, non-finite, shorter than 2, or constant (the
            scale would be 0 and MASE undefined).
    """
    y = _validate_array(train_series, "train_series")
    if y.size < 2:
        raise BadInput(
            f"train_series has {y.size} value(s): pass at least 2 to compute a naive scale"
        )
    scale = float(np.mean(np.abs(np.diff(y))))
    if scale == 0.0:
        raise BadInput(
            "train_series is constant, so the naive scale is 0 and MASE is undefined: "
            "pass a series that changes"
        )
    return scale


def mase(actual: ArrayLike, predicted: ArrayLike, *, scale: float) -> float:
    """Mean absolute scaled error (Hyndman & Koehler, 2006).

    Args:
        actual: Observed values.
        predicted: Forecasts of the same targets, same length.
        scale: In-sample naive MAE of the training series, from `naive_scale`.

    Returns:
        ``mae(actual, predicted) / scale``; below 1 beats the in-sample naive forecast.

    Raises:
        BadInput: If the arrays are invalid or `scale` is not a finite number > 0.
    """
    denominator = _validate_positive(scale, "scale")
    return mae(actual, predicted) / denominator


def skill(model_rmse: float, naive_rmse: float) -> float:
    """Skill score against the naive forecast: ``1 - model_rmse / naive_rmse``.

    Args:
        model_rmse: RMSE of the model, finite and >= 0.
        naive_rmse: RMSE of the naive forecast on the same targets, finite and > 0.

    Returns:
        Positive when the model beats naive, 0 when equal, negative when worse.

    Raises:
        BadInput: If either RMSE is out of range.
    """
    model = _validate_positive(model_rmse, "model_rmse", allow_zero=True)
    naive = _validate_positive(naive_rmse, "naive_rmse")
    return 1.0 - model / naive


def coverage(actual: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of actuals inside their closed prediction interval [lower, upper].

    Args:
        actual: Observed values.
        lower: Lower interval bounds, same length.
        upper: Upper interval bounds, same length, each >= its lower bound.

    Returns:
        Fraction in [0, 1]; a value exactly on a bound counts as covered.

    Raises:
        BadInput: If an input is invalid, the lengths differ, or some lower > upper.
    """
    a, lo = _validate_pair(actual, lower, "actual", "lower")
    _, hi = _validate_pair(actual, upper, "actual", "upper")
    _validate_interval(lo, hi)
    return float(np.mean((a >= lo) & (a <= hi)))


# --------------------------------------------------------------------------- Diebold-Mariano


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
    e1, e2 = _validate_pair(errors_model, errors_benchmark, "errors_model", "errors_benchmark")
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


# --------------------------------------------------------------------------- bundle


def score(
    actual: ArrayLike,
    predicted: ArrayLike,
    naive: ArrayLike,
    *,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
    scale: float | None = None,
) -> Scores:
    """Every metric for one forecast series, next to the naive forecast of the same targets.

    Args:
        actual: Observed values (non-zero, for MAPE), at least 2.
        predicted: Model forecasts, same length.
        naive: Naive forecasts (e.g. the previous close), same length.
        lower: Lower prediction-interval bounds; give both `lower` and `upper` or neither.
        upper: Upper prediction-interval bounds.
        scale: In-sample naive MAE for MASE (see `naive_scale`); None leaves `mase` None.

    Returns:
        A frozen Scores; the Diebold-Mariano test is on squared errors with h = 1.

    Raises:
        BadInput: If any input is invalid, lengths differ, only one interval bound is
            given, or a metric is undefined for the data (see the individual functions).
    """
    a, p = _validate_pair(actual, predicted, "actual", "predicted")
    _, nv = _validate_pair(actual, naive, "actual", "naive")
    if (lower is None) != (upper is None):
        missing = "upper" if upper is None else "lower"
        raise BadInput(f"{missing} is missing: pass both lower and upper, or neither")
    model_rmse = rmse(a, p)
    naive_rmse = rmse(a, nv)
    if naive_rmse == 0.0:
        raise BadInput(
            "the naive forecast is exact on every target (naive RMSE 0), so skill is "
            "undefined: check that `naive` holds the previous values, not the actuals"
        )
    dm = diebold_mariano(a - p, a - nv)
    return Scores(
        n=int(a.size),
        mae=mae(a, p),
        rmse=model_rmse,
        mape=mape(a, p),
        mase=None if scale is None else mase(a, p, scale=scale),
        naive_mae=mae(a, nv),
        naive_rmse=naive_rmse,
        naive_mape=mape(a, nv),
        skill=skill(model_rmse, naive_rmse),
        dm_stat=dm.statistic,
        dm_pvalue=dm.pvalue,
        coverage=None if lower is None or upper is None else coverage(a, lower, upper),
    )
