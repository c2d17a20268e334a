"""Every candidate (family x interval method) scored on one stage, next to the random walk.

A stage is the validation window the choice was made on, or the test period after it. Each
family's forecasts of the stage (as served, computed once) are given; each interval method
sizes them as it would out of sample, the way the chosen model's intervals are sized:

- a method fitted on prices (`ewma`, `garch`, `model`) is fitted once per stage on the
  prices before it (`history`); its half-widths depend on the prices alone (the interval
  method contract: only `model` reads the family's own sigma), so they too are computed once
  per stage and shared by every family: GARCH is fitted and run twice per ticker, not twice
  per family;
- `conformal` is calibrated per family on its own errors: on the validation window
  leave-one-out over the other validation sessions (`stocky.core.intervals.auto`), on the
  test period on the family's validation errors (`stocky.pipelines.intervals`).

Each candidate then gets `stocky.core.metrics.score` (naive: the last close with the
candidate's half-widths) and the one-sided Diebold-Mariano p-value of "better than naive".

Pure: numpy, and the core's metric and interval modules.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.choose import one_sided_pvalue
from stocky.core.dm import DieboldMariano
from stocky.core.families.base import validate_window
from stocky.core.intervals import interval_method
from stocky.core.intervals.conformal import CONFORMAL, leave_one_out_quantiles
from stocky.core.intervals.model import MODEL
from stocky.core.metrics import Scores, score
from stocky.core.volatility import ewma_std_path
from stocky.errors import BadInput, StockyError

__all__ = ["CandidateScores", "Path", "stage_scores"]

#: A family's one-step forecasts of a stage and its own standard deviations.
Path = tuple[NDArray[np.float64], NDArray[np.float64]]


@dataclass(frozen=True)
class CandidateScores:
    """One candidate's scores on a stage (None with a note when it could not be scored)."""

    model_type: str
    interval: str
    scores: Scores | None
    #: One-sided DM p-value of "better than naive" (None for naive and unscored candidates).
    dm_pvalue: float | None = None
    note: str = ""


def _half_widths(
    name: str,
    y: NDArray[np.float64],
    *,
    start: int,
    std: NDArray[np.float64],
    errors: NDArray[np.float64],
    scales: NDArray[np.float64],
    fitted: Mapping[str, Any],
    calibration: Path | None,
    window: int,
    level: float,
) -> NDArray[np.float64]:
    if name == CONFORMAL.name:
        if calibration is None:  # leave-one-out on the stage's own errors (validation)
            CONFORMAL.fit([], window=window, level=level, errors=errors, scales=scales)
            ok = scales > 0
            out = np.zeros_like(scales)
            out[ok] = leave_one_out_quantiles(np.abs(errors[ok]) / scales[ok], level) * scales[ok]
            return out
        params = CONFORMAL.fit([], window=window, level=level, errors=calibration[0],
                               scales=calibration[1])  # fmt: skip
    else:
        params = dict(fitted)
    return interval_method(name).half_width_path(
        y, start=start, window=window, level=level, params=params, model_std=std
    )


def stage_scores(
    y: ArrayLike,
    *,
    start: int,
    paths: Mapping[str, Path],
    methods: Sequence[str],
    history: ArrayLike,
    window: int,
    level: float = 0.95,
    calibration: Mapping[str, Path] | None = None,
    scale: float | None = None,
) -> list[CandidateScores]:
    """Score every family of `paths` under every interval method on ``y[start:]``.

    Args:
        y: Prices, oldest first; the stage is ``y[start:]`` (forecast from what precedes).
        start: Where the stage begins.
        paths: model_type -> (means, stds) of ``y[start:]`` as served.
        methods: Interval method names.
        history: The prices the price-fitted methods are fitted on (before the stage).
        window: Prices behind each served interval (STOCKY_MAX_PRICES).
        level: Interval level.
        calibration: model_type -> (errors, scales) a family's conformal interval is
            calibrated on (its validation errors and the EWMA volatility before each); None:
            leave-one-out on the stage itself.
        scale: In-sample naive MAE for MASE (None leaves it out).

    Returns:
        One CandidateScores per (family, method), families in the order of `paths`.

    Raises:
        BadInput: Bad prices, a start outside them, a path of the wrong length, or an
            unknown method.
    """
    arr = validate_window(y, min_len=3, name="y")
    if not 2 <= start < arr.size:
        raise BadInput(f"start={start} must leave 2 prices before and 1 after: y has {arr.size}")
    for name in methods:
        interval_method(name)  # an unknown name is the caller's error
    actual, naive = arr[start:], arr[start - 1 : -1]
    scales = ewma_std_path(arr, start=start, window=window)
    fitted: dict[str, dict[str, Any] | str] = {}
    for name in methods:
        if name == CONFORMAL.name:
            continue
        try:
            fitted[name] = interval_method(name).fit(history, window=window, level=level)
        except StockyError as exc:
            fitted[name] = f"not fitted: {exc}"
    shared: dict[str, NDArray[np.float64]] = {}  # half-widths that ignore the family's sigma
    out: list[CandidateScores] = []
    for family, (means, stds) in paths.items():
        mean = np.asarray(means, dtype=np.float64)
        std = np.asarray(stds, dtype=np.float64)
        if mean.shape != actual.shape or std.shape != actual.shape:
            raise BadInput(
                f"paths[{family!r}] has {mean.size} means and {std.size} stds for "
                f"{actual.size} sessions: pass one of each per session from start on"
            )
        errors = actual - mean
        for name in methods:
            params = fitted.get(name, {})
            if name == CONFORMAL.name and calibration is not None and family not in calibration:
                params = "not scored: no validation errors to calibrate on"
            if isinstance(params, str):
                out.append(CandidateScores(family, name, None, note=params))
                continue
            try:
                half = shared.get(name)
                if half is None:
                    half = _half_widths(
                        name, arr, start=start, std=std, errors=errors, scales=scales,
                        fitted=params,
                        calibration=None if calibration is None else calibration.get(family),
                        window=window, level=level,
                    )  # fmt: skip
                    if name not in (CONFORMAL.name, MODEL.name):
                        shared[name] = half
                scores = score(actual, mean, naive, lower=mean - half, upper=mean + half,
                               scale=scale)  # fmt: skip
            except StockyError as exc:
                out.append(CandidateScores(family, name, None, note=f"not scored: {exc}"))
                continue
            p = None
            if family != "naive":
                dm = DieboldMariano(scores.dm_stat, scores.dm_pvalue)
                p = one_sided_pvalue(dm, scores.n)
                p = p if math.isfinite(p) else None
            out.append(CandidateScores(family, name, scores, p))
    return out
