"""The promotion decision: a pure function of three scores on the same holdout and a policy.

The policy's `metric` says what is compared: ``rmse`` (the point forecast; the default),
``interval_score`` (the 95% interval's Winkler score) or ``crps`` (the CRPS of the normal the
interval describes). The last two need each model's interval on the holdout; naive's, when not
given, is the challenger's interval moved onto the last close (`stocky.core.scores`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from stocky.core.metrics import diebold_mariano
from stocky.core.scores import crps_normal, interval_score, naive_interval, sigma_of_interval
from stocky.errors import BadInput

__all__ = [
    "PROMOTION_METRICS",
    "Decision",
    "HoldoutScore",
    "PromotionMetric",
    "PromotionPolicy",
    "decide",
    "naive_beats_both",
]

PromotionMetric = Literal["rmse", "interval_score", "crps"]
PROMOTION_METRICS: tuple[str, ...] = ("rmse", "interval_score", "crps")
_LABELS = {"rmse": "RMSE", "interval_score": "interval score", "crps": "CRPS"}


@dataclass(frozen=True)
class PromotionPolicy:
    """When a challenger may replace the champion.

    Attributes:
        min_improvement: Relative RMSE gain over the champion required (0.01 = 1% lower).
        naive_tolerance: How much worse than naive the challenger may be (0.01 = 1% higher RMSE).
        dm_alpha: When set, the Diebold-Mariano test of challenger vs champion losses must
            have a p-value below it.
        metric: What is compared: rmse, interval_score or crps (the thresholds apply to it).
    """

    min_improvement: float = 0.0
    naive_tolerance: float = 0.0
    dm_alpha: float | None = None
    metric: PromotionMetric = "rmse"

    def __post_init__(self) -> None:
        if self.min_improvement < 0 or self.naive_tolerance < 0:
            raise BadInput("min_improvement and naive_tolerance must be >= 0: e.g. 0.01 for 1%")
        if self.dm_alpha is not None and not 0 < self.dm_alpha < 1:
            raise BadInput(f"dm_alpha={self.dm_alpha} must be between 0 and 1: e.g. 0.05")
        if self.metric not in PROMOTION_METRICS:
            raise BadInput(
                f"promotion metric {self.metric!r} is unknown: use one of {list(PROMOTION_METRICS)}"
            )


@dataclass(frozen=True)
class HoldoutScore:
    """Forecast errors of one model on the holdout (actual - forecast), and its interval.

    Attributes:
        name: Who is scored (champion, challenger, naive).
        errors: actual - forecast, one per holdout session.
        actual: The holdout's closes (needed with an interval).
        lower: Lower bounds of the 95% interval, price units (None: no interval).
        upper: Upper bounds.
    """

    name: str
    errors: NDArray[np.float64]
    actual: NDArray[np.float64] | None = None
    lower: NDArray[np.float64] | None = None
    upper: NDArray[np.float64] | None = None

    @property
    def rmse(self) -> float:
        return float(np.sqrt(np.mean(self.errors**2)))

    @property
    def has_interval(self) -> bool:
        return self.actual is not None and self.lower is not None and self.upper is not None

    def losses(self, metric: PromotionMetric) -> NDArray[np.float64]:
        """Per-session losses under `metric` (squared errors for rmse).

        Raises:
            BadInput: An interval metric and no interval.
        """
        if metric == "rmse":
            return np.asarray(self.errors, dtype=np.float64) ** 2
        if self.actual is None or self.lower is None or self.upper is None:
            raise BadInput(
                f"{self.name} has no holdout interval, so its {_LABELS[metric]} is unknown: "
                "pass actual, lower and upper, or use STOCKY_PROMOTION_METRIC=rmse"
            )
        if metric == "interval_score":
            return interval_score(self.actual, self.lower, self.upper)
        forecast = self.actual - self.errors
        return crps_normal(self.actual, forecast, sigma_of_interval(self.lower, self.upper))

    def value(self, metric: PromotionMetric) -> float:
        """The holdout's score under `metric`: RMSE, or the mean interval score or CRPS."""
        if metric == "rmse":
            return self.rmse
        return float(np.mean(self.losses(metric)))


@dataclass(frozen=True)
class Decision:
    """Promote or not, and why in one sentence."""

    promote: bool
    reason: str
    champion_rmse: float | None
    challenger_rmse: float
    naive_rmse: float
    dm_pvalue: float | None
    #: The metric compared, and the three holdout values of it (equal to the RMSEs for rmse).
    metric: str = "rmse"
    champion_value: float | None = None
    challenger_value: float | None = None
    naive_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _naive_with_interval(naive: HoldoutScore, challenger: HoldoutScore) -> HoldoutScore:
    """Naive's interval when none was given: the challenger's, moved onto the last close."""
    actual, lo, hi = challenger.actual, challenger.lower, challenger.upper
    if naive.has_interval or actual is None or lo is None or hi is None:
        return naive
    lower, upper = naive_interval(actual - naive.errors, lo, hi, actual - challenger.errors)
    return replace(naive, actual=actual, lower=lower, upper=upper)


def decide(
    champion: HoldoutScore | None,
    challenger: HoldoutScore,
    naive: HoldoutScore,
    policy: PromotionPolicy,
) -> Decision:
    """Decide whether `challenger` replaces `champion`.

    Promote only if the challenger's score under `policy.metric` (RMSE by default) is below
    the champion's by at least `min_improvement` (relative; with 0 it must simply be lower) AND
    it is no worse than naive's by more than `naive_tolerance`, and, when `dm_alpha` is set,
    the Diebold-Mariano p-value against the champion (on that metric's per-session losses) is
    below it. With no champion, only the naive check applies.

    Args:
        champion: The serving model's holdout errors (None when there is none).
        challenger: The new model's errors on the same holdout.
        naive: The naive random walk's errors on the same holdout; with an interval metric
            and no interval of its own, it gets the challenger's half-widths.
        policy: The thresholds and the metric.

    Returns:
        The Decision; `reason` is a sentence a person can read in an audit log.

    Raises:
        BadInput: When the error series differ in length, or an interval metric is asked
            of a score without an interval.
    """
    n = len(challenger.errors)
    for other in (champion, naive):
        if other is not None and len(other.errors) != n:
            raise BadInput(
                f"{other.name} has {len(other.errors)} holdout errors, {challenger.name} {n}: score all on one holdout"
            )
    metric = policy.metric
    label = _LABELS[metric]
    if metric != "rmse":
        naive = _naive_with_interval(naive, challenger)
    ch, nv = challenger.value(metric), naive.value(metric)
    rmses = (challenger.rmse, naive.rmse)

    def made(promote: bool, reason: str, cp: float | None, pvalue: float | None) -> Decision:
        cp_rmse = None if champion is None else champion.rmse
        return Decision(promote, reason, cp_rmse, *rmses, pvalue, metric, cp, ch, nv)

    naive_limit = nv * (1 + policy.naive_tolerance)
    naive_ok = ch <= naive_limit
    naive_text = f"naive {label} {nv:.4f}" + (
        f" (+{policy.naive_tolerance:.1%} tolerance)" if policy.naive_tolerance else ""
    )
    if champion is None:
        if naive_ok:
            return made(
                True, f"no champion yet; challenger {label} {ch:.4f} is within {naive_text}",
                None, None,
            )  # fmt: skip
        return made(
            False, f"no champion yet, but challenger {label} {ch:.4f} is worse than {naive_text}",
            None, None,
        )  # fmt: skip
    cp = champion.value(metric)
    needed = cp * (1 - policy.min_improvement)
    better = ch < cp and ch <= needed
    pvalue = None
    if n >= 3:
        if metric == "rmse":
            pvalue = diebold_mariano(challenger.errors, champion.errors).pvalue
        else:  # DM on the losses themselves: |sqrt(loss)|**2 is the loss
            pvalue = diebold_mariano(
                np.sqrt(challenger.losses(metric)), np.sqrt(champion.losses(metric))
            ).pvalue
    gain = 1 - ch / cp if cp > 0 else 0.0
    summary = f"challenger {label} {ch:.4f} vs champion {cp:.4f} ({gain:+.2%}) and {naive_text}"
    if not better:
        need = f"at least {policy.min_improvement:.1%} lower" if policy.min_improvement else "lower"
        return made(
            False,
            f"rejected: {summary}; the challenger must be {need} than the champion",
            cp,
            pvalue,
        )
    if not naive_ok:
        return made(
            False,
            f"rejected: {summary}; the challenger is worse than naive beyond the tolerance",
            cp,
            pvalue,
        )
    if policy.dm_alpha is not None and (pvalue is None or pvalue >= policy.dm_alpha):
        shown = "n/a" if pvalue is None else f"{pvalue:.3f}"
        return made(
            False,
            f"rejected: {summary}; Diebold-Mariano p={shown} is not below {policy.dm_alpha}",
            cp,
            pvalue,
        )
    return made(True, f"promoted: {summary}", cp, pvalue)


def naive_beats_both(decision: Decision) -> bool:
    """The random-walk fallback rule: the challenger was rejected, and the naive random walk's
    holdout score (under the decision's metric: RMSE by default) is below both the champion's
    and the challenger's.

    A degraded champion that no challenger may replace then gives way to the random walk
    (ARIMA(0,1,0), whose forecast is the naive one) instead of staying in service.

    Args:
        decision: The retrain's decision (all three scored on the same holdout).

    Returns:
        True when the random walk should be promoted instead.
    """
    if decision.promote or decision.champion_rmse is None:
        return False
    if decision.champion_value is not None and decision.challenger_value is not None:
        naive = decision.naive_value if decision.naive_value is not None else decision.naive_rmse
        return naive < decision.champion_value and naive < decision.challenger_value
    naive = decision.naive_rmse
    return naive < decision.champion_rmse and naive < decision.challenger_rmse
