"""Choosing an interval method per ticker: the lowest interval score on the validation window.

Every candidate sizes the intervals of the chosen model's validation walk-forward (its means,
parameters fixed, each forecast from the served window) as it would out of sample: `ewma`
and `garch` fitted on the prices before the validation window, `conformal` calibrated on the
other validation sessions (leave-one-out: calibrating a session on its own error would hold
the level by construction). The lowest mean interval score (`score.interval_scores`) wins;
ties go to the simpler method (the order of `methods`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.families.base import validate_window
from stocky.core.intervals import interval_method
from stocky.core.intervals.base import validate_level
from stocky.core.intervals.conformal import CONFORMAL, leave_one_out_quantiles
from stocky.core.intervals.score import coverage, mean_interval_score
from stocky.core.volatility import ewma_std_path
from stocky.errors import BadInput, StockyError

__all__ = ["IntervalCandidate", "IntervalChoice", "choose_interval"]

#: Mean scores closer than this (relative) are a tie, won by the simpler method.
SCORE_TIE = 1e-9


@dataclass(frozen=True)
class IntervalCandidate:
    """One method's validation figures (NaN with a note when it could not be fitted)."""

    method: str
    score: float
    coverage: float
    width: float
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "interval_score": self.score,
            "coverage": self.coverage,
            "width": self.width,
            "note": self.note,
        }


@dataclass(frozen=True)
class IntervalChoice:
    """The method chosen, why, every candidate's figures, and the validation errors with the
    EWMA volatility before each (what a conformal interval is calibrated on)."""

    method: str
    reason: str
    candidates: tuple[IntervalCandidate, ...]
    errors: NDArray[np.float64] = field(repr=False)
    scales: NDArray[np.float64] = field(repr=False)

    @property
    def chosen(self) -> IntervalCandidate:
        return next(c for c in self.candidates if c.method == self.method)

    def table_records(self) -> list[dict[str, Any]]:
        return [c.to_dict() | {"chosen": c.method == self.method} for c in self.candidates]


def _half_widths(
    name: str,
    span: NDArray[np.float64],
    *,
    start: int,
    model_std: NDArray[np.float64],
    errors: NDArray[np.float64],
    scales: NDArray[np.float64],
    window: int,
    level: float,
) -> NDArray[np.float64]:
    if name == CONFORMAL.name:
        CONFORMAL.fit(span[:start], window=window, level=level, errors=errors, scales=scales)
        ok = scales > 0
        out = np.zeros_like(scales)
        out[ok] = leave_one_out_quantiles(np.abs(errors[ok]) / scales[ok], level) * scales[ok]
        return out
    method = interval_method(name)
    params = method.fit(span[:start], window=window, level=level)
    return method.half_width_path(
        span, start=start, window=window, level=level, params=params, model_std=model_std
    )


def choose_interval(
    span: ArrayLike,
    *,
    start: int,
    means: ArrayLike,
    model_std: ArrayLike,
    methods: Sequence[str],
    window: int,
    level: float = 0.95,
    given: bool = False,
) -> IntervalChoice:
    """Score `methods` on the validation window ``span[start:]`` and choose the lowest.

    Args:
        span: Prices: the training part (``span[:start]``) then the validation window.
        start: Where the validation window begins.
        means: The model's one-step forecasts of ``span[start:]`` (as served).
        model_std: The model's own one-step standard deviations (for "model").
        methods: Candidate method names, simplest first (ties go to the earlier).
        window: Prices behind each served interval (STOCKY_MAX_PRICES).
        level: Interval level.
        given: The method was fixed by the caller (one method; its failure is raised).

    Returns:
        The IntervalChoice.

    Raises:
        BadInput: Mismatched lengths, no methods, or an unknown method; with ``given``, the
            method's own fitting error.
    """
    level = validate_level(level)
    arr = validate_window(span, min_len=3, name="span")
    mean = np.asarray(means, dtype=np.float64)
    std = np.asarray(model_std, dtype=np.float64)
    if not methods:
        raise BadInput("no interval methods to choose from: pass at least one")
    if not (2 <= start < arr.size) or mean.shape != (arr.size - start,) or std.shape != mean.shape:
        raise BadInput(
            f"start={start}, {mean.size} means and {std.size} stds do not fit {arr.size} "
            "prices: pass one mean and std per price from start on"
        )
    actual = arr[start:]
    errors = actual - mean
    scales = ewma_std_path(arr, start=start, window=window)
    rows: list[IntervalCandidate] = []
    for name in methods:
        interval_method(name)  # an unknown name is the caller's error
        try:
            hw = _half_widths(
                name, arr, start=start, model_std=std, errors=errors, scales=scales,
                window=window, level=level,
            )  # fmt: skip
        except StockyError as exc:
            if given:
                raise
            rows.append(IntervalCandidate(name, math.nan, math.nan, math.nan, f"not fitted: {exc}"))
            continue
        lower, upper = mean - hw, mean + hw
        rows.append(
            IntervalCandidate(
                name,
                mean_interval_score(actual, lower, upper, level=level),
                coverage(actual, lower, upper),
                float(np.mean(upper - lower)),
            )
        )
    scored = [r for r in rows if math.isfinite(r.score)]
    if not scored:
        raise BadInput(
            "no interval method could be fitted: "
            + "; ".join(f"{r.method}: {r.note}" for r in rows)
        )
    best = min(scored, key=lambda r: r.score)
    tie = SCORE_TIE * max(abs(best.score), 1e-300)
    best = next(r for r in scored if r.score - best.score <= tie)
    return IntervalChoice(
        best.method, _reason(best, rows, actual.size, level, given), tuple(rows), errors, scales
    )


def _reason(
    best: IntervalCandidate, rows: list[IntervalCandidate], n: int, level: float, given: bool
) -> str:
    figures = f"mean {level:.0%} interval score {best.score:.4g}, coverage {best.coverage:.1%}"
    if given:
        return f"{best.method} intervals as configured ({figures} on the {n}-session validation)"
    others = ", ".join(
        f"{r.method} {r.score:.4g} ({r.coverage:.1%})"
        if math.isfinite(r.score)
        else f"{r.method} not fitted"
        for r in rows
        if r is not best
    )
    return f"{best.method} intervals: the lowest {figures} on the {n}-session validation window" + (
        f" (vs {others})" if others else ""
    )
