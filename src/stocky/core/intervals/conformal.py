"""``conformal``: split-conformal intervals scaled by the recent volatility.

Calibration: the one-step errors of a walk-forward the model did not see (the validation
window in training; the test period for the served model), each divided by the EWMA
volatility of the prices before it, give the scores ``s_i = |y_i - ŷ_i| / σ_i``. The stored
quantile is the ``k = ⌈(n + 1) level⌉``-th smallest score (the finite-sample correction that
makes the coverage at least `level` for exchangeable scores), and the half-width is
``q × ewma_std(window)``.

Parameters: ``{"level", "q", "n", "scores"}`` (scores sorted, so other levels can be served).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.intervals.base import param_float, validate_level
from stocky.core.volatility import ewma_std, ewma_std_path
from stocky.errors import BadInput, DataQualityError

__all__ = ["CONFORMAL", "conformal_quantile", "leave_one_out_quantiles", "min_scores"]


def min_scores(level: float) -> int:
    """The fewest scores for which ``⌈(n + 1) level⌉ <= n`` (19 at 95%)."""
    return math.ceil(level / (1.0 - level) - 1e-9)


def _rank(n: int, level: float) -> int:
    """k = ⌈(n + 1) level⌉ (1-based), the conformal order statistic."""
    return math.ceil((n + 1) * level - 1e-9)  # 1e-9: (n + 1) * level is often integral


def conformal_quantile(sorted_scores: NDArray[np.float64], level: float) -> float:
    """The ⌈(n + 1) level⌉-th smallest score; the largest when there are too few for `level`."""
    k = _rank(sorted_scores.size, level)
    return float(sorted_scores[min(k, sorted_scores.size) - 1])


def leave_one_out_quantiles(scores: ArrayLike, level: float) -> NDArray[np.float64]:
    """For each score, `conformal_quantile` of the other n - 1 (an out-of-sample check).

    Scoring conformal intervals on the very errors they were calibrated on would hold their
    level by construction; leaving each session out of its own calibration does not.
    """
    arr = np.asarray(scores, dtype=np.float64)
    n = arr.size
    if n < 3:
        raise BadInput(f"{n} scores are too few for a leave-one-out check: pass at least 3")
    order = np.argsort(arr, kind="stable")
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = np.arange(n)
    s = arr[order]
    kk = min(_rank(n - 1, level), n - 1) - 1  # 0-based index among the n - 1 others
    return np.where(kk < ranks, s[kk], s[min(kk + 1, n - 1)])


class _Conformal:
    name = "conformal"

    def fit(
        self,
        prices: ArrayLike,
        *,
        window: int,
        level: float = 0.95,
        errors: ArrayLike | None = None,
        scales: ArrayLike | None = None,
    ) -> dict[str, Any]:
        """Calibrate on out-of-sample `errors` and the EWMA volatility `scales` before each.

        Raises:
            BadInput: No errors or scales, or of different lengths.
            DataQualityError: Fewer usable scores than `min_scores(level)`.
        """
        level = validate_level(level)
        if errors is None or scales is None:
            raise BadInput(
                "conformal intervals are calibrated on walk-forward errors: pass errors= and "
                "scales= (the EWMA volatility before each error)"
            )
        err = np.abs(np.asarray(errors, dtype=np.float64))
        sc = np.asarray(scales, dtype=np.float64)
        if err.shape != sc.shape or err.ndim != 1:
            raise BadInput(
                f"errors {err.shape} and scales {sc.shape} differ: pass one scale per error"
            )
        ok = np.isfinite(err) & np.isfinite(sc) & (sc > 0)
        scores = np.sort(err[ok] / sc[ok])
        need = min_scores(level)
        if scores.size < need:
            raise DataQualityError(
                f"{scores.size} usable errors are too few for a {level:.0%} conformal interval: "
                f"need {need}; use a longer validation window or STOCKY_INTERVAL=ewma"
            )
        return {
            "level": level,
            "q": conformal_quantile(scores, level),
            "n": int(scores.size),
            "scores": [float(v) for v in scores],
        }

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        level = param_float(params, "level", self.name, low=0.0, strict=True)
        validate_level(level)
        q = param_float(params, "q", self.name, low=0.0, strict=False)
        raw = params.get("scores")
        if not isinstance(raw, list) or not raw:
            raise BadInput(
                f"conformal interval parameter scores={raw!r} is not a list of numbers: retrain"
            )
        try:
            scores = np.sort(np.asarray(raw, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise BadInput("conformal interval scores are not numbers: retrain") from exc
        if not np.all(np.isfinite(scores) & (scores >= 0)):
            raise BadInput("conformal interval scores must be finite and >= 0: retrain")
        return {"level": level, "q": q, "n": int(scores.size), "scores": scores.tolist()}

    def quantile(self, params: Mapping[str, Any], level: float) -> float:
        """The stored q at its level; otherwise the conformal quantile of the stored scores."""
        if abs(float(params["level"]) - level) < 1e-12:
            return float(params["q"])
        return conformal_quantile(np.asarray(params["scores"], dtype=np.float64), level)

    def half_width(
        self, window: NDArray[np.float64], level: float, params: Mapping[str, Any], *,
        model_std: float,
    ) -> float:  # fmt: skip
        return self.quantile(params, validate_level(level)) * ewma_std(window)

    def half_width_path(
        self, y: NDArray[np.float64], *, start: int, window: int, level: float,
        params: Mapping[str, Any], model_std: NDArray[np.float64],
    ) -> NDArray[np.float64]:  # fmt: skip
        q = self.quantile(params, validate_level(level))
        return q * ewma_std_path(y, start=start, window=window)


CONFORMAL = _Conformal()
