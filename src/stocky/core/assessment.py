"""Two drift states from the labeled forecasts: volatility regime changed, or model degraded.

*Model degraded*: the model forecasts worse than the random walk (or than the skill it was
expected to have): retrain, or fall back to the random walk if nothing beats it. Measured by
`cusum_skill`, which a volatility change leaves alone because it inflates the model's and the
naive's errors together.

*Volatility regime changed*: the market's moves grew (the naive forecast's errors, which a
stale model does not change) and the model is no worse than naive: the intervals follow (they
are sized by recent volatility), no retrain. Moves grew when their rolling return RMSE stays
above a multiple of the baseline (when one is known), otherwise when `cusum_standardized` on
naive's errors says they outgrew the intervals.

*Interval score degraded* (reported, no action of its own): the 95% interval score, over the
last close, runs above the champion's validation level (`cusum_interval_score`): the forecast
distribution scores worse than when it was validated, whether its intervals turned too narrow
or too wide, its centre moved off, or the market's moves widened (then volatility changed says
so too, and the intervals follow).

The defaults are the settings chosen in ``bench/bench_drift.py`` (README, "Drift detectors"):
*model degraded* raised 0.00-0.01 false alarms per 1,000 sessions on simulated random walks
and GARCH(1,1) series like the S&P 500's, none after volatility jumps x2 and x3 and none on
17 years of S&P 500 closes, and flagged a champion whose skill fell from +13% to -32% in a
median of 9 sessions. Champions with real skill have noisy skill: 0.4-1.5 false alarms per
1,000 there; small degradations (a few percent of skill) take tens to hundreds of sessions.

Pure: numpy and scipy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.checks import validate_positive
from stocky.core.detectors import (
    Alarms,
    coverage_drop,
    cusum_interval_score,
    cusum_skill,
    cusum_standardized,
    labeled_arrays,
    return_rmse,
)
from stocky.core.dm import diebold_mariano
from stocky.errors import BadInput

__all__ = [
    "AssessmentConfig",
    "DriftAssessment",
    "StatePath",
    "assess_drift",
    "state_path",
    "versus_naive",
]


@dataclass(frozen=True)
class AssessmentConfig:
    """Settings of the detectors behind the two states (defaults from the benchmark)."""

    #: cusum_skill: allowance, threshold, and the skill the champion is expected to keep.
    skill_k: float = 0.15
    skill_h: float = 4.5
    expected_skill: float = 0.0
    #: return_rmse against the baseline: window, multiple, sessions in a row.
    vol_window: int = 20
    vol_multiplier: float = 1.5
    vol_consecutive: int = 3
    #: cusum_standardized on naive's errors (used when no baseline is known).
    z_k: float = 0.5
    z_h: float = 10.0
    #: coverage_drop: window and significance.
    coverage_window: int = 40
    coverage_alpha: float = 0.001
    #: cusum_interval_score: allowance, threshold and cap of the interval-score ratio.
    interval_k: float = 0.25
    interval_h: float = 8.0
    interval_clip: float = 4.0
    #: The interval's level and the cap on |standardised error|.
    level: float = 0.95
    clip: float = 3.0
    #: Fewer labeled sessions than this and no state is raised.
    min_sessions: int = 10

    def __post_init__(self) -> None:
        for name in ("skill_k", "z_k", "interval_k"):
            if not np.isfinite(getattr(self, name)) or getattr(self, name) < 0:
                raise BadInput(f"{name}={getattr(self, name)!r}: pass a finite number >= 0")
        for name in ("skill_h", "z_h", "vol_multiplier", "clip", "interval_h", "interval_clip"):
            validate_positive(getattr(self, name), name)
        for name in ("vol_window", "vol_consecutive", "coverage_window", "min_sessions"):
            if getattr(self, name) < 1:
                raise BadInput(f"{name}={getattr(self, name)!r}: pass a whole number >= 1")
        if not -1.0 < self.expected_skill < 1.0:
            raise BadInput(f"expected_skill={self.expected_skill!r}: pass a skill in (-1, 1)")
        for name in ("level", "coverage_alpha"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise BadInput(f"{name}={getattr(self, name)!r}: pass a number between 0 and 1")


@dataclass(frozen=True, eq=False)
class StatePath:
    """Both states at every session, with the detectors behind them."""

    volatility_changed: NDArray[np.bool_]
    model_degraded: NDArray[np.bool_]
    coverage_broken: NDArray[np.bool_]
    detectors: dict[str, Alarms]
    #: All False without an interval-score baseline.
    interval_degraded: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))


@dataclass(frozen=True)
class DriftAssessment:
    """The states at the latest labeled session, why, and the numbers behind them."""

    volatility_changed: bool
    model_degraded: bool
    coverage_broken: bool
    sessions: int
    reasons: tuple[str, ...]
    statistics: dict[str, float] = field(default_factory=dict)
    interval_degraded: bool = False

    @property
    def action(self) -> str:
        """What to do: retrain, intervals_follow, or nothing."""
        if self.model_degraded:
            return "retrain"
        return "intervals_follow" if self.volatility_changed else "nothing"


def state_path(
    actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike, lower: ArrayLike,
    upper: ArrayLike, *, config: AssessmentConfig, baseline_return_rmse: float | None = None,
    baseline_interval_score: float | None = None,
) -> StatePath:  # fmt: skip
    """The two states (and coverage) at every session, for charts and benchmarks.

    Args:
        actual, prediction, naive, lower, upper: Labeled arrays in session order (see
            `stocky.core.detectors.labeled_arrays`).
        config: Detector settings.
        baseline_return_rmse: The typical one-day move as a return when the champion was
            trained (naive's walk-forward return RMSE; the champion's is within ~1% of it on
            real closes). Without it, volatility rests on the standardised-error CUSUM.
        baseline_interval_score: The champion's validation interval score over the last close
            (mean); without it no interval-score state is raised.

    Returns:
        A StatePath; no state is raised before `config.min_sessions` sessions.
    """
    lab = labeled_arrays(actual, prediction, naive, lower, upper)
    args = (lab.actual, lab.prediction, lab.naive, lab.lower, lab.upper)
    c = config
    detectors = {
        "cusum_skill": cusum_skill(
            *args, k=c.skill_k, h=c.skill_h, expected_skill=c.expected_skill, level=c.level,
            clip=c.clip,
        ),
        "coverage_drop": coverage_drop(
            *args, window=c.coverage_window, alpha=c.coverage_alpha, level=c.level
        ),
    }  # fmt: skip
    # Volatility is read from the naive forecast's errors: the market's moves, whatever the model.
    moves = (lab.actual, lab.naive, lab.naive, lab.lower, lab.upper)
    if baseline_return_rmse is None:
        detectors["cusum_standardized"] = cusum_standardized(
            *moves, k=c.z_k, h=c.z_h, level=c.level, clip=c.clip
        )
        grew = detectors["cusum_standardized"].flags
    else:
        detectors["return_rmse"] = return_rmse(
            *moves, baseline=baseline_return_rmse, window=c.vol_window,
            multiplier=c.vol_multiplier, consecutive=c.vol_consecutive,
        )  # fmt: skip
        grew = detectors["return_rmse"].flags
    ready = np.arange(len(lab)) >= c.min_sessions - 1
    degraded = ready & detectors["cusum_skill"].flags
    interval = np.zeros(len(lab), dtype=bool)
    if baseline_interval_score is not None:
        detectors["cusum_interval_score"] = cusum_interval_score(
            *args, baseline=baseline_interval_score, k=c.interval_k, h=c.interval_h,
            alpha=1.0 - c.level, clip=c.interval_clip,
        )  # fmt: skip
        interval = ready & detectors["cusum_interval_score"].flags
    return StatePath(
        volatility_changed=ready & grew & ~degraded,
        model_degraded=degraded,
        coverage_broken=ready & detectors["coverage_drop"].flags,
        detectors=detectors,
        interval_degraded=interval,
    )


#: A model "significantly" worse or better than naive in the words: DM p below this.
WORDS_ALPHA = 0.05


def versus_naive(actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike) -> str:
    """The model against naive in words that match the numbers: `not significantly worse
    than naive (skill -8.3%, p = 0.21)`, `no worse than naive (skill +0.4%, p = 0.71)`,
    `significantly better than naive (skill +2.1%, p = 0.01)`; skill is `1 - RMSE / naive RMSE`, p the two-sided Diebold-Mariano p-value
    on squared errors."""
    a = np.asarray(actual, dtype=float)
    model_err, naive_err = a - np.asarray(prediction, float), a - np.asarray(naive, float)
    model_rmse = float(np.sqrt(np.mean(model_err**2)))
    naive_rmse = float(np.sqrt(np.mean(naive_err**2)))
    if not naive_rmse > 0 or len(a) < 2:
        return "compared with naive: too few sessions (or naive was exact)"
    skill = 1.0 - model_rmse / naive_rmse
    p = diebold_mariano(model_err, naive_err).pvalue
    significant = p < WORDS_ALPHA
    if skill < 0:
        verdict = "significantly worse" if significant else "not significantly worse"
    else:
        verdict = "significantly better" if significant and skill > 0 else "no worse"
    return f"{verdict} than naive (skill {skill:+.1%}, p = {p:.2f})"


def assess_drift(
    actual: ArrayLike, prediction: ArrayLike, naive: ArrayLike, lower: ArrayLike,
    upper: ArrayLike, *, config: AssessmentConfig | None = None,
    baseline_return_rmse: float | None = None, baseline_interval_score: float | None = None,
) -> DriftAssessment:  # fmt: skip
    """Classify the latest session: volatility regime changed, model degraded, or neither.

    Args:
        actual, prediction, naive, lower, upper: Labeled arrays of one champion, oldest first
            (pass only sessions since it became champion: its CUSUMs start from there).
        config: Detector settings (defaults: `AssessmentConfig()`).
        baseline_return_rmse: The typical one-day move as a return at training, if known
            (see `state_path`).
        baseline_interval_score: The champion's validation interval score over the last
            close, if known (see `state_path`).

    Returns:
        A DriftAssessment; `reasons` says which detector raised each state and with what
        numbers, `statistics` holds every detector's latest statistic (all finite).

    Raises:
        BadInput: Bad arrays or settings (the message names the value and the fix).
    """
    config = config or AssessmentConfig()
    path = state_path(
        actual, prediction, naive, lower, upper, config=config,
        baseline_return_rmse=baseline_return_rmse,
        baseline_interval_score=baseline_interval_score,
    )  # fmt: skip
    n = int(path.model_degraded.size)
    stats = {name: float(a.statistic[-1]) for name, a in path.detectors.items() if n}
    if n < config.min_sessions:
        reason = f"{n} labeled sessions, fewer than {config.min_sessions}: no state yet"
        return DriftAssessment(False, False, False, n, (reason,), stats)
    d = path.detectors
    versus = versus_naive(actual, prediction, naive)
    reasons = []
    degraded, vol, cover = (
        bool(path.model_degraded[-1]),
        bool(path.volatility_changed[-1]),
        bool(path.coverage_broken[-1]),
    )
    if degraded:
        reasons.append(
            f"model degraded: skill CUSUM {stats['cusum_skill']:.3g} > {config.skill_h:g} "
            f"(model errors above naive's, expected skill {config.expected_skill:+.1%})"
        )
    if vol:
        if "return_rmse" in d:
            why = (
                f"moves' return RMSE {stats['return_rmse']:.4g} > {config.vol_multiplier:g} x "
                f"baseline {baseline_return_rmse:.4g} for {config.vol_consecutive}+ sessions"
            )
        else:
            why = f"moves' standardised-error CUSUM {stats['cusum_standardized']:.3g} > {config.z_h:g}"
        reasons.append(f"volatility regime changed: {why} (model {versus})")
    if cover:
        reasons.append(
            f"interval coverage broken: binomial p {stats['coverage_drop']:.2g} < "
            f"{config.coverage_alpha:g} over {config.coverage_window} sessions"
        )
    interval = bool(path.interval_degraded[-1])
    if interval:
        reasons.append(
            f"interval score degraded: CUSUM {stats['cusum_interval_score']:.3g} > "
            f"{config.interval_h:g} (interval score over the last close above the champion's "
            f"validation level {baseline_interval_score:.4g})"
        )
    if not reasons:
        reasons.append(f"no change: errors within the intervals, model {versus}")
    return DriftAssessment(vol, degraded, cover, n, tuple(reasons), stats, interval)
