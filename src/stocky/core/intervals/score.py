"""The interval (Winkler) score of central intervals, and their coverage.

For a central interval [l, u] at level 1 - α and an outcome y (Gneiting & Raftery 2007):
``(u - l) + (2/α)(l - y)·1{y < l} + (2/α)(y - u)·1{y > u}``. Lower is better: narrow
intervals are rewarded, misses penalised by how far outside they fall.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.intervals.base import validate_level
from stocky.errors import BadInput

__all__ = ["coverage", "interval_scores", "mean_interval_score"]


def interval_scores(
    actual: ArrayLike, lower: ArrayLike, upper: ArrayLike, *, level: float = 0.95
) -> NDArray[np.float64]:
    """The interval score of each session.

    Raises:
        BadInput: Arrays of different lengths, or a bad level.
    """
    alpha = 1.0 - validate_level(level)
    y, lo, up = (np.asarray(a, dtype=np.float64) for a in (actual, lower, upper))
    if not (y.shape == lo.shape == up.shape):
        raise BadInput(
            f"actual {y.shape}, lower {lo.shape} and upper {up.shape} differ: pass one interval "
            "per outcome"
        )
    below = np.maximum(lo - y, 0.0)
    above = np.maximum(y - up, 0.0)
    out: NDArray[np.float64] = (up - lo) + (2.0 / alpha) * (below + above)
    return out


def mean_interval_score(
    actual: ArrayLike, lower: ArrayLike, upper: ArrayLike, *, level: float = 0.95
) -> float:
    """The mean of `interval_scores`."""
    return float(np.mean(interval_scores(actual, lower, upper, level=level)))


def coverage(actual: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of outcomes inside their interval (bounds included)."""
    y, lo, up = (np.asarray(a, dtype=np.float64) for a in (actual, lower, upper))
    return float(np.mean((y >= lo) & (y <= up)))
