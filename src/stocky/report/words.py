"""The words on the monitoring pages, chosen to match the numbers beside them.

A verdict never says more than its test: a model whose live skill is negative but whose
detector did not fire is "not significantly worse than naive", with the skill and p-value;
a window is always named next to the figures computed over it.
"""

from __future__ import annotations

from stocky.core.drift import DriftRule

__all__ = [
    "basis_label",
    "detector_text",
    "model_verdict",
    "plural",
    "version_arrow",
]


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 ticker`, `2 tickers`, `1,000 tickers` (`many` for irregular plurals)."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def version_arrow(old: int | None, new: int | None) -> str:
    """`v1 -> v2`; `new -> v1` for a first champion; `v2 -> none` when nothing replaced it."""
    left = f"v{old}" if old is not None else "new"
    right = f"v{new}" if new is not None else "none"
    return f"{left} -> {right}"


def _p(pvalue: float | None) -> str:
    return "p n/a" if pvalue is None else f"p = {pvalue:.2g}"


def _skill(skill: float) -> str:
    """-8.3%, and -0.03% for a skill under 1% (so a tiny loss never reads "-0.0%")."""
    return f"{skill:+.1%}" if abs(skill) >= 0.01 else f"{skill:+.2%}"


def model_verdict(degraded: bool | None, skill: float | None, pvalue: float | None) -> str:
    """What the latest check says about the model, in words that agree with its skill.

    Args:
        degraded: The detector's model-degraded state (None: not recorded).
        skill: Live skill vs naive over the labeled sessions (None: unknown).
        pvalue: Two-sided Diebold-Mariano p-value of the model vs naive over the same sessions.

    Returns:
        "degraded ...", "not significantly worse than naive (skill -8.3%, p = 0.21)",
        "no worse than naive (skill +1.2%, p = 0.4)" or "-" when nothing is recorded.
    """
    numbers = f"skill {_skill(skill)}, {_p(pvalue)}" if skill is not None else _p(pvalue)
    if degraded is None:
        return "-"
    if degraded:
        return f"degraded vs naive ({numbers}): retrain, or serve the random walk"
    if skill is None:
        return "not degraded (no skill measured yet)"
    if skill < 0:
        return f"not significantly worse than naive ({numbers})"
    return f"no worse than naive ({numbers})"


def detector_text(detector: str, rule: DriftRule) -> str:
    """The sentence naming the drift detector in charge of retrains."""
    rolling = (
        f"rolling {rule.metric} over {rule.window} labeled sessions above "
        f"{rule.threshold_multiplier:g} x the baseline for {rule.consecutive_days} sessions "
        "in a row"
    )
    if detector == "rule":
        return f"Drift detector in charge: the rolling-error rule ({rolling})."
    return (
        "Drift detector in charge: the assessment (model degraded: a skill CUSUM of the "
        "model's errors against naive's; a volatility change widens the intervals and never "
        f"retrains). The rolling-error chart shows the rule ({rolling}) for reference only."
    )


def basis_label(basis: str | None, sessions: int | None, window: int) -> str:
    """Which window a fleet row's accuracy uses: live labels or the walk-forward test."""
    if basis == "walk_forward":
        count = f", {plural(sessions, 'test session')}" if sessions else ""
        return f"walk-forward{count} (no live labels yet)"
    if basis == "live":
        shown = sessions if sessions is not None else window
        return f"live, last {plural(shown, 'labeled session')}"
    return "no accuracy yet"
