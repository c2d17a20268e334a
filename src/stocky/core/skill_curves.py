"""Skill against the naive random walk as it accumulates over a replay, for charts.

The rolling version (skill over the last `window` rows) is `stocky.core.drift.rolling_skill`;
this is its running counterpart: the skill of every row so far, which ends at the headline
skill of the whole period.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from stocky.errors import BadInput

__all__ = ["cumulative_skill"]


def cumulative_skill(actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike) -> np.ndarray:
    """``1 - RMSE / naive RMSE`` of the rows up to and including each row.

    Args:
        actual: Observed values, finite.
        prediction: Forecasts of the same targets, same length.
        naive: Naive forecasts (the previous close), same length.

    Returns:
        One value per row; NaN while naive has been exact on every row so far (an array to
        plot: NaN is a gap, never a value to send).

    Raises:
        BadInput: If the lengths differ.
    """
    a, p, nv = (np.asarray(x, dtype=float) for x in (actual, prediction, naive))
    if not a.shape == p.shape == nv.shape or a.ndim != 1:
        raise BadInput(
            f"actual, prediction and naive have shapes {a.shape}, {p.shape}, {nv.shape}: "
            "pass one value of each per session"
        )
    model = np.cumsum((a - p) ** 2)
    base = np.cumsum((a - nv) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the row counts cancel: sqrt(sum_m / k) / sqrt(sum_n / k) = sqrt(sum_m / sum_n)
        return np.where(base > 0, 1.0 - np.sqrt(model / base), np.nan)
