"""Drift detectors over labeled forecasts: which sessions raise an alarm, and on what statistic.

Every detector takes the labeled arrays of one ticker in session order, oldest first:
``actual`` (the close), ``prediction`` (the model's forecast of it), ``naive`` (the previous
close, the random walk's forecast), and ``lower`` / ``upper`` (the forecast's interval), and
returns `Alarms`: the statistic at every session and a flag per session. Nothing here is NaN:
before a window fills, statistics are computed over the sessions seen so far and flags stay
off. ``bench/bench_drift.py`` measures false alarms and delays of each.

Two families, because a volatility change and a stale model look alike in raw errors:

- *errors grew*: `rolling_rmse` (the seed's rule, price units), `return_rmse` (error / last
  close, scale-free) and `cusum_standardized` (one-sided CUSUM on the squared standardised
  error, error / the interval's sigma, so it fires when errors outgrow the interval). They fire
  on a volatility jump and on a degraded model alike.
- *worse than naive*: `skill_drop` (rolling skill against the random walk) and `cusum_skill`
  (CUSUM on the standardised loss differential, model squared error minus naive's). On a
  volatility jump both forecasts' errors grow together and these stay quiet.

`coverage_drop` (too many closes outside the interval, binomial test) says the intervals no
longer hold their level, whatever the cause. `cusum_interval_score` (CUSUM on the 95% interval
score over the last close, as a ratio of the champion's validation level) says the forecast
distribution scores worse than when it was validated: intervals too narrow (misses), too wide,
or off-centre, and a market whose moves widened.

Pure: numpy and scipy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import binom

from stocky.core.checks import validate_positive
from stocky.core.labeled import (
    Alarms,
    FloatArray,
    Labeled,
    cusum,
    labeled_arrays,
    rolling_mean,
    rolling_sum,
    standardized_errors,
    streak,
    validate_window,
)
from stocky.core.scores import interval_score
from stocky.errors import BadInput

__all__ = [
    "Alarms",
    "Labeled",
    "coverage_drop",
    "cusum",
    "cusum_interval_score",
    "cusum_skill",
    "cusum_standardized",
    "labeled_arrays",
    "return_rmse",
    "rolling_rmse",
    "skill_drop",
    "standardized_errors",
]


def _ratio_rule(
    name: str, losses: FloatArray, *, baseline: float, window: int, multiplier: float,
    consecutive: int,
) -> Alarms:  # fmt: skip
    window = validate_window(window)
    consecutive = validate_window(consecutive, "consecutive")
    baseline = validate_positive(baseline, "baseline")
    multiplier = validate_positive(multiplier, "multiplier")
    value = np.sqrt(rolling_mean(losses, window))
    threshold = multiplier * baseline
    full = np.arange(losses.size) >= window - 1
    flags = streak(full & (value > threshold)) >= consecutive
    return Alarms(name, value, flags, threshold)


def rolling_rmse(
    actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike, lower: ArrayLike,
    upper: ArrayLike, *, baseline: float, window: int = 14, multiplier: float = 1.5,
    consecutive: int = 3,
) -> Alarms:  # fmt: skip
    """The seed's rule: rolling RMSE in price units above ``multiplier x baseline``.

    The same rule as `stocky.core.drift.evaluate_drift` with metric ``rmse``, over arrays.

    Args:
        actual, prediction, naive, lower, upper: Labeled arrays (see `labeled_arrays`).
        baseline: The expected RMSE (the champion's walk-forward RMSE), > 0.
        window: Sessions in the rolling RMSE.
        multiplier: A session breaches when the RMSE exceeds multiplier x baseline.
        consecutive: Breaching sessions in a row that make an alarm.

    Returns:
        Alarms with the rolling RMSE as statistic.
    """
    lab = labeled_arrays(actual, prediction, naive, lower, upper)
    losses = (lab.actual - lab.prediction) ** 2
    return _ratio_rule(
        "rolling_rmse", losses, baseline=baseline, window=window, multiplier=multiplier,
        consecutive=consecutive,
    )  # fmt: skip


def return_rmse(
    actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike, lower: ArrayLike,
    upper: ArrayLike, *, baseline: float, window: int = 14, multiplier: float = 1.5,
    consecutive: int = 3,
) -> Alarms:  # fmt: skip
    """Rolling RMSE of the error over the last close (a return) above ``multiplier x baseline``.

    Scale-free: the same baseline holds when the price doubles. Arguments as `rolling_rmse`,
    with `baseline` in return units (the champion's walk-forward return RMSE).
    """
    lab = labeled_arrays(actual, prediction, naive, lower, upper)
    losses = ((lab.actual - lab.prediction) / lab.naive) ** 2
    return _ratio_rule(
        "return_rmse", losses, baseline=baseline, window=window, multiplier=multiplier,
        consecutive=consecutive,
    )  # fmt: skip


def cusum_standardized(
    actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike, lower: ArrayLike,
    upper: ArrayLike, *, k: float = 0.5, h: float = 10.0, level: float = 0.95, clip: float = 3.0,
) -> Alarms:  # fmt: skip
    """CUSUM on ``z**2 - 1``, z the model's standardised error: errors outgrew the interval.

    Args:
        actual, prediction, naive, lower, upper: Labeled arrays.
        k: Allowance per session (in units of z squared).
        h: Alarm threshold.
        level: The interval's level (0.95 for stocky's intervals).
        clip: |z| is capped here first.

    Returns:
        Alarms with the CUSUM as statistic.
    """
    lab = labeled_arrays(actual, prediction, naive, lower, upper)
    z, _ = standardized_errors(lab, level=level, clip=clip)
    s, flags = cusum(z * z - 1.0, k=k, h=h)
    return Alarms("cusum_standardized", s, flags, float(h))


def cusum_skill(
    actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike, lower: ArrayLike,
    upper: ArrayLike, *, k: float = 0.15, h: float = 4.5, expected_skill: float = 0.0,
    level: float = 0.95, clip: float = 3.0,
) -> Alarms:  # fmt: skip
    """CUSUM on the standardised loss differential ``z_model**2 - z_naive**2``: worse than naive.

    The differential is ~0 for a model as good as the random walk, negative for a better one,
    and grows when the model turns worse. Both errors share the interval's sigma, so a
    volatility jump that inflates both leaves it near 0. With ``expected_skill`` s > 0 the
    reference moves to ``(1 - s)**2 - 1`` (naive's z**2 taken as 1): the alarm then means
    "worse than the champion was expected to be".

    Args:
        actual, prediction, naive, lower, upper: Labeled arrays.
        k: Allowance per session.
        h: Alarm threshold.
        expected_skill: The champion's expected skill vs naive (0 = as good as naive).
        level: The interval's level.
        clip: |z| is capped here first.

    Returns:
        Alarms with the CUSUM as statistic.
    """
    if not -1.0 < expected_skill < 1.0:
        raise BadInput(f"expected_skill={expected_skill!r}: pass a skill in (-1, 1), e.g. 0.0")
    lab = labeled_arrays(actual, prediction, naive, lower, upper)
    zm, zn = standardized_errors(lab, level=level, clip=clip)
    reference = (1.0 - expected_skill) ** 2 - 1.0
    s, flags = cusum(zm * zm - zn * zn - reference, k=k, h=h)
    return Alarms("cusum_skill", s, flags, float(h))


def skill_drop(
    actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike, lower: ArrayLike,
    upper: ArrayLike, *, window: int = 20, threshold: float = -0.1, consecutive: int = 1,
) -> Alarms:  # fmt: skip
    """Rolling skill vs naive, ``1 - RMSE_model / RMSE_naive`` over `window`, below `threshold`.

    Where naive's errors over the window are all 0 the skill is 0 if the model's are too and
    -1 otherwise, so the statistic is always finite.

    Args:
        actual, prediction, naive, lower, upper: Labeled arrays.
        window: Sessions in the rolling skill.
        threshold: A session breaches when the skill is below it (e.g. -0.1: 10% worse).
        consecutive: Breaching sessions in a row that make an alarm.

    Returns:
        Alarms with the rolling skill as statistic.
    """
    window = validate_window(window)
    consecutive = validate_window(consecutive, "consecutive")
    if not np.isfinite(threshold):
        raise BadInput(f"threshold={threshold!r}: pass a finite skill, e.g. -0.1")
    lab = labeled_arrays(actual, prediction, naive, lower, upper)
    model = rolling_sum((lab.actual - lab.prediction) ** 2, window)
    base = rolling_sum((lab.actual - lab.naive) ** 2, window)
    safe = np.where(base > 0, base, 1.0)
    skill = np.where(base > 0, 1.0 - np.sqrt(model / safe), np.where(model > 0, -1.0, 0.0))
    full = np.arange(len(lab)) >= window - 1
    flags = streak(full & (skill < threshold)) >= consecutive
    return Alarms("skill_drop", skill, flags, float(threshold))


def coverage_drop(
    actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike, lower: ArrayLike,
    upper: ArrayLike, *, window: int = 40, alpha: float = 0.001, level: float = 0.95,
) -> Alarms:  # fmt: skip
    """Too many closes outside the interval over `window`: a one-sided binomial test.

    The statistic is the p-value of seeing at least the window's misses if each session misses
    with probability ``1 - level``; a session is in alarm when it is below `alpha` (once the
    window is full).

    Args:
        actual, prediction, naive, lower, upper: Labeled arrays.
        window: Sessions in the rolling count.
        alpha: Significance level of the test.
        level: The interval's level.

    Returns:
        Alarms with the p-value as statistic.
    """
    window = validate_window(window)
    if not 0.0 < alpha < 1.0 or not 0.0 < level < 1.0:
        raise BadInput(f"alpha={alpha!r}, level={level!r}: pass both between 0 and 1")
    lab = labeled_arrays(actual, prediction, naive, lower, upper)
    miss = ((lab.actual < lab.lower) | (lab.actual > lab.upper)).astype(np.float64)
    misses = rolling_sum(miss, window)
    seen = np.minimum(np.arange(1, len(lab) + 1), window)
    pvalue = np.asarray(binom.sf(misses - 1.0, seen, 1.0 - level), dtype=np.float64)
    full = np.arange(len(lab)) >= window - 1
    return Alarms("coverage_drop", pvalue, full & (pvalue < alpha), float(alpha))


def cusum_interval_score(
    actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike, lower: ArrayLike,
    upper: ArrayLike, *, baseline: float, k: float = 0.25, h: float = 8.0,
    alpha: float = 0.05, clip: float = 4.0,
) -> Alarms:  # fmt: skip
    """CUSUM on the interval score's ratio to the champion's validation level, minus 1.

    Each session's 95% interval (Winkler) score is divided by the last close (scale-free) and
    by `baseline`, the champion's mean of the same on its walk-forward; the ratio, capped at
    `clip` so that one crash day moves the sum by a bounded step, is ~1 while the distribution
    scores as validated. The one-sided CUSUM of ``ratio - 1 - k`` rises when it scores worse:
    closes outside the interval, an interval wider than it was, or a market whose moves grew.

    Args:
        actual, prediction, naive, lower, upper: Labeled arrays.
        baseline: Mean interval score over the last close on the champion's walk-forward, > 0.
        k: Allowance per session (in units of the ratio).
        h: Alarm threshold.
        alpha: The interval's miss rate (0.05: 95%).
        clip: The ratio is capped here first.

    Returns:
        Alarms with the CUSUM as statistic.
    """
    baseline = validate_positive(baseline, "baseline")
    clip = validate_positive(clip, "clip")
    lab = labeled_arrays(actual, prediction, naive, lower, upper)
    ratio = interval_score(lab.actual, lab.lower, lab.upper, alpha=alpha) / lab.naive / baseline
    s, flags = cusum(np.minimum(ratio, clip) - 1.0, k=k, h=h)
    return Alarms("cusum_interval_score", s, flags, float(h))
