"""Realized accuracy of logged forecasts once their actuals are known, never raising on the data.

`stocky.core.metrics.score` is strict: it is for evaluating a model, where a naive forecast
that is exact on every target or a NaN in the input is a bug to report. Monitoring is
different: a log may hold one labeled session, a window where the price did not move, or a row
whose bound is missing, and the page or response must still show what can be computed.
`realized` computes what it can and gives None for the rest, never NaN or infinity.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from stocky.core.checks import FloatArray
from stocky.errors import BadInput

__all__ = ["DM_MIN_ROWS", "Realized", "realized"]

#: Fewer rows than this leave `dm_pvalue` None: with n - 1 degrees of freedom the test says
#: nothing on two or three errors.
DM_MIN_ROWS = 3


@dataclass(frozen=True)
class Realized:
    """Accuracy of forecasts against their actuals, next to the naive forecast.

    Every float is finite or None; None means "cannot be computed from these rows".

    Attributes:
        n: Rows used: those where both the actual and the forecast are finite.
        rmse: Root mean squared error of the forecasts.
        mae: Mean absolute error of the forecasts.
        mape: Mean absolute percentage error, in percent; None if an actual is 0.
        naive_rmse: RMSE of the naive forecast; None if a used row lacks a naive value.
        naive_mae: MAE of the naive forecast, on the same condition.
        skill: ``1 - rmse / naive_rmse``; None if naive_rmse is None or 0.
        coverage: Share of actuals inside [lower, upper] (bounds included); None when no
            bounds were given or a used row lacks one.
        dm_pvalue: Two-sided Diebold-Mariano p-value of model vs naive on squared errors;
            None below DM_MIN_ROWS rows or without naive values.
    """

    n: int
    rmse: float | None = None
    mae: float | None = None
    mape: float | None = None
    naive_rmse: float | None = None
    naive_mae: float | None = None
    skill: float | None = None
    coverage: float | None = None
    dm_pvalue: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (JSON-ready: ints, floats and None)."""
        return asdict(self)


def _column(values: ArrayLike, name: str, size: int | None) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{name} is not numeric ({exc}): pass a 1-D sequence of numbers") from exc
    if array.ndim != 1:
        raise BadInput(f"{name} has shape {array.shape}: pass a 1-D sequence of numbers")
    if size is not None and array.size != size:
        raise BadInput(f"{name} has {array.size} values but actual has {size}: pass one per actual")
    return array


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _rms(errors: FloatArray) -> float | None:
    with np.errstate(over="ignore"):  # an overflow becomes None below, not a warning
        return _finite(float(np.sqrt(np.mean(errors**2))))


def _mean_abs(errors: FloatArray) -> float | None:
    with np.errstate(over="ignore"):
        return _finite(float(np.mean(np.abs(errors))))


def realized(
    actual: ArrayLike,
    prediction: ArrayLike,
    naive: ArrayLike | None = None,
    *,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
) -> Realized:
    """Realized accuracy of forecasts, computing what the rows allow and None for the rest.

    Rows where the actual or the forecast is not finite are left out (`n` counts the rest).
    The naive metrics, skill and the Diebold-Mariano p-value need a finite naive value on
    every row used, and coverage needs both finite bounds on every row used: otherwise they
    are None rather than computed on a different set of rows. An interval whose lower bound
    is above its upper covers nothing.

    Args:
        actual: Observed values.
        prediction: Forecasts of the same targets, same length.
        naive: Naive forecasts (the previous close), same length; None leaves the naive
            metrics, skill and dm_pvalue None.
        lower: Lower interval bounds, same length; coverage needs both bounds.
        upper: Upper interval bounds, same length.

    Returns:
        A frozen Realized: `n` 0 and every metric None for empty input; no field is ever NaN
        or infinite.

    Raises:
        BadInput: If an input is not a 1-D numeric sequence or its length differs from
            `actual` (a caller's bug, not a property of the data).
    """
    a = _column(actual, "actual", None)
    p = _column(prediction, "prediction", a.size)
    nv = None if naive is None else _column(naive, "naive", a.size)
    lo = None if lower is None else _column(lower, "lower", a.size)
    hi = None if upper is None else _column(upper, "upper", a.size)
    used = np.isfinite(a) & np.isfinite(p)
    n = int(used.sum())
    if n == 0:
        return Realized(n=0)
    a, p = a[used], p[used]
    err = a - p
    rmse = _rms(err)
    nonzero = bool(np.all(a != 0.0))
    result: dict[str, Any] = {
        "rmse": rmse,
        "mae": _mean_abs(err),
        "mape": _finite(float(np.mean(np.abs(err / a))) * 100) if nonzero else None,
    }
    if nv is not None and bool(np.all(np.isfinite(nv[used]))):
        naive_err = a - nv[used]
        naive_rmse = _rms(naive_err)
        result["naive_rmse"] = naive_rmse
        result["naive_mae"] = _mean_abs(naive_err)
        if rmse is not None and naive_rmse is not None and naive_rmse > 0:
            result["skill"] = _finite(1.0 - rmse / naive_rmse)
        if n >= DM_MIN_ROWS and rmse is not None and naive_rmse is not None:
            # scipy.stats on first use only: the charts import this module for two numbers
            from stocky.core.dm import diebold_mariano

            result["dm_pvalue"] = _finite(diebold_mariano(err, naive_err).pvalue)
    if lo is not None and hi is not None:
        lo, hi = lo[used], hi[used]
        if bool(np.all(np.isfinite(lo) & np.isfinite(hi))):
            result["coverage"] = float(np.mean((a >= lo) & (a <= hi)))
    return Realized(n=n, **result)
