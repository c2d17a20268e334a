"""Forecast accuracy: point errors, skill against the naive forecast, Diebold-Mariano.

Every model measured on daily closes lands within about a percent of the naive random walk,
so the numbers that matter are relative ones: `skill` (1 - RMSE ratio), `mase` (MAE over the
in-sample naive MAE) and the Diebold-Mariano test of equal accuracy (`stocky.core.dm`,
re-exported here). `score` bundles them.

All functions take anything array-like, work on 1-D float arrays and raise
`stocky.errors.BadInput` on empty, non-finite or mismatched input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from stocky.core.checks import (
    validate_array,
    validate_interval,
    validate_nonzero,
    validate_pair,
    validate_positive,
)
from stocky.core.dm import DieboldMariano, diebold_mariano
from stocky.core.scores import binomial_pvalue, direction, distribution_scores
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

    The distribution scores (`stocky.core.scores`) are None when no interval was given;
    naive's are the random walk's with the model's half-width:

    Attributes:
        interval_score: Mean 95% interval (Winkler) score, price units.
        naive_interval_score: Naive's.
        interval_skill: ``1 - interval_score / naive_interval_score``.
        pinball_lower: Mean pinball loss of the lower bound as the 2.5% quantile.
        pinball_upper: Mean pinball loss of the upper bound as the 97.5% quantile.
        naive_pinball_lower: Naive's.
        naive_pinball_upper: Naive's.
        crps: Mean CRPS of the normal served (sigma = half-width / z(0.975)).
        naive_crps: Naive's.
        naive_coverage: Share of actuals inside naive's interval.
        return_interval_score: Mean interval score over the last close (the interval-score
            drift baseline).
        direction_accuracy: Share of sessions whose forecast move had the actual move's sign
            (ties left out); None when no session counts.
        direction_sessions: Sessions counted for it.
        direction_pvalue: Two-sided binomial p-value of direction_accuracy against 50%.
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
    interval_score: float | None = None
    naive_interval_score: float | None = None
    interval_skill: float | None = None
    pinball_lower: float | None = None
    pinball_upper: float | None = None
    naive_pinball_lower: float | None = None
    naive_pinball_upper: float | None = None
    crps: float | None = None
    naive_crps: float | None = None
    naive_coverage: float | None = None
    return_interval_score: float | None = None
    direction_accuracy: float | None = None
    direction_sessions: int = 0
    direction_pvalue: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain dict (JSON-ready: ints, floats and None)."""
        return asdict(self)


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
    a, p = validate_pair(actual, predicted, "actual", "predicted")
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
    a, p = validate_pair(actual, predicted, "actual", "predicted")
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
    a, p = validate_pair(actual, predicted, "actual", "predicted")
    validate_nonzero(a, "actual")
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
    y = validate_array(train_series, "train_series")
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
    denominator = validate_positive(scale, "scale")
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
    model = validate_positive(model_rmse, "model_rmse", allow_zero=True)
    naive = validate_positive(naive_rmse, "naive_rmse")
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
    a, lo = validate_pair(actual, lower, "actual", "lower")
    _, hi = validate_pair(actual, upper, "actual", "upper")
    validate_interval(lo, hi)
    return float(np.mean((a >= lo) & (a <= hi)))


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
        A frozen Scores; the Diebold-Mariano test is on squared errors with h = 1; the
        direction accuracy is always there, the distribution scores when an interval is.

    Raises:
        BadInput: If any input is invalid, lengths differ, only one interval bound is
            given, or a metric is undefined for the data (see the individual functions).
    """
    a, p = validate_pair(actual, predicted, "actual", "predicted")
    _, nv = validate_pair(actual, naive, "actual", "naive")
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
    extra: dict[str, Any] = {}
    if lower is not None and upper is not None:
        _, lo = validate_pair(actual, lower, "actual", "lower")
        _, hi = validate_pair(actual, upper, "actual", "upper")
        validate_interval(lo, hi)
        d = distribution_scores(a, p, nv, lo, hi)
        extra = {k: v for k, v in d.to_dict().items() if k not in ("sessions", "coverage")}
    else:
        hits, counted = direction(a, p, nv)
        extra = {
            "direction_accuracy": hits / counted if counted else None,
            "direction_sessions": counted,
            "direction_pvalue": binomial_pvalue(hits, counted),
        }
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
        **extra,
    )
