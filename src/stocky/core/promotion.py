"""The promotion decision: a pure function of three scores on the same holdout and a policy."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stocky.core.metrics import diebold_mariano
from stocky.errors import BadInput

__all__ = ["Decision", "HoldoutScore", "PromotionPolicy", "decide", "naive_beats_both"]


@dataclass(frozen=True)
class PromotionPolicy:
    """When a challenger may replace the champion.

    Attributes:
        min_improvement: Relative RMSE gain over the champion required (0.01 = 1% lower).
        naive_tolerance: How much worse than naive the challenger may be (0.01 = 1% higher RMSE).
        dm_alpha: When set, the Diebold-Mariano test of challenger vs champion errors must
            have a p-value below it.
    """

    min_improvement: float = 0.0
    naive_tolerance: float = 0.0
    dm_alpha: float | None = None

    def __post_init__(self) -> None:
        if self.min_improvement < 0 or self.naive_tolerance < 0:
            raise BadInput("min_improvement and naive_tolerance must be >= 0: e.g. 0.01 for 1%")
        if self.dm_alpha is not None and not 0 < self.dm_alpha < 1:
            raise BadInput(f"dm_alpha={self.dm_alpha} must be between 0 and 1: e.g. 0.05")


@dataclass(frozen=True)
class HoldoutScore:
    """Forecast errors of one model on the holdout (actual - forecast)."""

    name: str
    errors: NDArray[np.float64]

    @property
    def rmse(self) -> float:
        return float(np.sqrt(np.mean(self.errors**2)))


@dataclass(frozen=True)
class Decision:
    """Promote or not, and why in one sentence."""

    promote: bool
    reason: str
    champion_rmse: float | None
    challenger_rmse: float
    naive_rmse: float
    dm_pvalue: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def decide(
    champion: HoldoutScore | None,
    challenger: HoldoutScore,
    naive: HoldoutScore,
    policy: PromotionPolicy,
) -> Decision:
    """Decide whether `challenger` replaces `champion`.

    Promote only if the challenger's RMSE is below the champion's by at least
    `min_improvement` (relative; with 0 it must simply be lower) AND it is no worse than naive's
    by more than `naive_tolerance`, and, when `dm_alpha` is set, the Diebold-Mariano p-value
    against the champion is below it. With no champion, only the naive check applies.

    Args:
        champion: The serving model's holdout errors (None when there is none).
        challenger: The new model's errors on the same holdout.
        naive: The naive random walk's errors on the same holdout.
        policy: The thresholds.

    Returns:
        The Decision; `reason` is a sentence a person can read in an audit log.

    Raises:
        BadInput: When the error series differ in length.
    """
    n = len(challenger.errors)
    for other in (champion, naive):
        if other is not None and len(other.errors) != n:
            raise BadInput(
                f"{other.name} has {len(other.errors)} holdout errors, {challenger.name} {n}: score all on one holdout"
            )
    ch, nv = challenger.rmse, naive.rmse
    naive_limit = nv * (1 + policy.naive_tolerance)
    naive_ok = ch <= naive_limit
    naive_text = f"naive RMSE {nv:.4f}" + (
        f" (+{policy.naive_tolerance:.1%} tolerance)" if policy.naive_tolerance else ""
    )
    if champion is None:
        if naive_ok:
            return Decision(
                True,
                f"no champion yet; challenger RMSE {ch:.4f} is within {naive_text}",
                None,
                ch,
                nv,
                None,
            )
        return Decision(
            False,
            f"no champion yet, but challenger RMSE {ch:.4f} is worse than {naive_text}",
            None,
            ch,
            nv,
            None,
        )
    cp = champion.rmse
    needed = cp * (1 - policy.min_improvement)
    better = ch < cp and ch <= needed
    pvalue = diebold_mariano(challenger.errors, champion.errors).pvalue if n >= 3 else None
    gain = 1 - ch / cp if cp > 0 else 0.0
    summary = f"challenger RMSE {ch:.4f} vs champion {cp:.4f} ({gain:+.2%}) and {naive_text}"
    if not better:
        need = f"at least {policy.min_improvement:.1%} lower" if policy.min_improvement else "lower"
        return Decision(
            False,
            f"rejected: {summary}; the challenger must be {need} than the champion",
            cp,
            ch,
            nv,
            pvalue,
        )
    if not naive_ok:
        return Decision(
            False,
            f"rejected: {summary}; the challenger is worse than naive beyond the tolerance",
            cp,
            ch,
            nv,
            pvalue,
        )
    if policy.dm_alpha is not None and (pvalue is None or pvalue >= policy.dm_alpha):
        shown = "n/a" if pvalue is None else f"{pvalue:.3f}"
        return Decision(
            False,
            f"rejected: {summary}; Diebold-Mariano p={shown} is not below {policy.dm_alpha}",
            cp,
            ch,
            nv,
            pvalue,
        )
    return Decision(True, f"promoted: {summary}", cp, ch, nv, pvalue)


def naive_beats_both(decision: Decision) -> bool:
    """The random-walk fallback rule: the challenger was rejected, and the naive random walk's
    holdout RMSE is below both the champion's and the challenger's.

    A degraded champion that no challenger may replace then gives way to the random walk
    (ARIMA(0,1,0), whose forecast is the naive one) instead of staying in service.

    Args:
        decision: The retrain's decision (all three scored on the same holdout).

    Returns:
        True when the random walk should be promoted instead.
    """
    if decision.promote or decision.champion_rmse is None:
        return False
    naive = decision.naive_rmse
    return naive < decision.champion_rmse and naive < decision.challenger_rmse
