"""The champion's two drift states, *volatility regime changed* and *model degraded*, from
its own labeled forecasts; the decision they make, and the alerts they raise.

The states come from `stocky.core.assessment.assess_drift`, run on the sessions forecast by
the champion since it took over (after its training ended, or after the promotion or
rollback that made it champion), with its baselines: the walk-forward return RMSE (the
typical one-day move when it was validated), its skill vs naive (what it should keep) and its
walk-forward interval score over the last close (the level its distribution should keep; for
specs without it, that of a calibrated normal interval with the return RMSE as sigma).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import binom

from stocky.core import alert_messages as msgs
from stocky.core.assessment import AssessmentConfig, DriftAssessment, assess_drift
from stocky.core.drift_rows import LabeledRows, labeled_rows
from stocky.core.realized import realized
from stocky.core.scores import distribution_scores, expected_interval_score
from stocky.errors import BadInput
from stocky.pipelines.alert_causes import AlertConfig, queued

if TYPE_CHECKING:
    from stocky.adapters.ports import AuditLog, Champion, Promotion, QueuedAlert
    from stocky.core.alerts import Alert
    from stocky.core.sessions import TradingCalendar

__all__ = [
    "AssessmentInputs",
    "assessment_inputs",
    "STATE_DECISIONS",
    "StateCheck",
    "assess_champion",
    "champion_since",
    "champion_since_in",
    "degraded_vs_naive_alert",
    "state_alerts",
    "state_decision",
]

#: Decisions of the assessment detector (`drift_checks.decision`), most urgent first.
STATE_DECISIONS = (
    "model_degraded",  # retrain (or fall back to the random walk): the daily job does
    "cooldown",  # degraded, but a retrain or rollback ran within the cooldown: wait
    "volatility_changed",  # the market's moves changed: intervals follow, no retrain
    "no_change",
    "insufficient_data",  # too few sessions of this champion yet
    "no_champion",
)


@dataclass(frozen=True)
class StateCheck:
    """The assessment of one champion at one session, and the numbers its alerts quote."""

    assessment: DriftAssessment
    config: AssessmentConfig
    since: dt.date | None
    baseline_return_rmse: float | None
    rmse: float | None
    naive_rmse: float | None
    #: RMS one-day move (as a return) over the last `config.vol_window` sessions.
    volatility: float | None
    #: Share of closes inside the interval over the last `config.coverage_window` sessions.
    coverage: float | None
    #: The champion's validation interval score over the last close, and where it came from.
    baseline_interval_score: float | None = None
    baseline_interval_source: str | None = None
    #: Mean interval score over the last close over the last `config.coverage_window` sessions.
    interval_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (finite numbers or None), stored in the drift check's report."""
        a = self.assessment
        return {
            "since": self.since.isoformat() if self.since else None,
            "sessions": a.sessions,
            "action": a.action,
            "reasons": list(a.reasons),
            "statistics": {k: _finite(v) for k, v in a.statistics.items()},
            "baseline_return_rmse": self.baseline_return_rmse,
            "expected_skill": self.config.expected_skill,
            "rmse": self.rmse,
            "naive_rmse": self.naive_rmse,
            "volatility": self.volatility,
            "coverage": self.coverage,
            "interval_degraded": a.interval_degraded,
            "baseline_interval_score": _finite(self.baseline_interval_score),
            "baseline_interval_source": self.baseline_interval_source,
            "interval_score": _finite(self.interval_score),
        }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _metric(champion: Champion, key: str) -> float | None:
    value = champion.spec.metrics.get(key)
    return float(value) if value is not None and math.isfinite(float(value)) else None


def champion_since(*, audit: AuditLog, champion: Champion) -> dt.date | None:
    """The session after which the champion's forecasts count: the later of its training end
    and the promotion or rollback that made it champion."""
    return champion_since_in(audit.promotions(champion.ticker, limit=50), champion=champion)


def champion_since_in(promotions: Sequence[Promotion], *, champion: Champion) -> dt.date | None:
    """`champion_since` from the ticker's promotion records already read (newest first)."""
    since: dt.date | None = None
    try:
        since = dt.date.fromisoformat(champion.spec.train_end)
    except ValueError:
        since = None  # a spec without a training end: the promotion record decides
    for row in promotions[:50]:
        if row.action in ("promote", "rollback") and row.to_version == champion.version:
            taken = row.as_of or row.decided_at.date()
            since = taken if since is None else max(since, taken)
            break
    return since


@dataclass(frozen=True)
class AssessmentInputs:
    """What a champion's assessment starts from: the detector settings (its expected skill),
    the session after which its forecasts count, and its baselines."""

    config: AssessmentConfig
    since: dt.date | None
    baseline_return_rmse: float | None
    baseline_interval_score: float | None
    baseline_interval_source: str | None


def assessment_inputs(
    *,
    champion: Champion | None,
    promotions: Sequence[Promotion],
    config: AssessmentConfig | None = None,
) -> AssessmentInputs:
    """The inputs of `champion`'s assessment (see `assess_champion`); without a champion,
    `config` as given and no baselines.

    Args:
        champion: The champion, or None.
        promotions: The ticker's promotion records, newest first.
        config: Detector settings; `expected_skill` is replaced by the champion's walk-forward
            skill (floored at 0: a champion validated below naive is held to naive).
    """
    config = config or AssessmentConfig()
    if champion is None:
        return AssessmentInputs(config, None, None, None, None)
    since = champion_since_in(promotions, champion=champion)
    baseline = _metric(champion, "walk_forward_return_rmse")
    interval_baseline = _metric(champion, "walk_forward_return_interval_score")
    interval_source: str | None = "walk_forward_return_interval_score"
    if interval_baseline is None and baseline is not None:
        interval_baseline = expected_interval_score(baseline, alpha=1.0 - config.level)
        interval_source = "calibrated normal with sigma walk_forward_return_rmse"
    if interval_baseline is None or not interval_baseline > 0:
        interval_baseline = interval_source = None
    skill = _metric(champion, "skill") or 0.0
    config = dataclasses.replace(config, expected_skill=min(max(skill, 0.0), 0.5))
    return AssessmentInputs(config, since, baseline, interval_baseline, interval_source)


def assess_champion(
    *,
    labeled: pd.DataFrame | LabeledRows,
    audit: AuditLog | None = None,
    champion: Champion | None,
    config: AssessmentConfig | None = None,
    promotions: Sequence[Promotion] | None = None,
) -> StateCheck:
    """Assess the champion's labeled sessions since it took over.

    Args:
        labeled: The ticker's labeled predictions up to the check's session
            (`PredictionLog.labeled`, or the same rows as LabeledRows).
        audit: Promotion records (when the champion took over), read unless `promotions`
            holds them already.
        champion: The champion; None assesses every labeled session without baselines.
        config: Detector settings; `expected_skill` is replaced by the champion's walk-forward
            skill (floored at 0: a champion validated below naive is held to naive).
        promotions: The ticker's promotion records, newest first (instead of `audit`).

    Raises:
        BadInput: A champion but neither `audit` nor `promotions`.

    Returns:
        The StateCheck.
    """
    if champion is not None and promotions is None:
        if audit is None:
            raise BadInput("assess_champion: pass the audit log or the promotion records")
        promotions = audit.promotions(champion.ticker, limit=50)
    inputs = assessment_inputs(champion=champion, promotions=promotions or (), config=config)
    config, since, baseline = inputs.config, inputs.since, inputs.baseline_return_rmse
    interval_baseline = inputs.baseline_interval_score
    rows = labeled if isinstance(labeled, LabeledRows) else labeled_rows(labeled)
    if champion is not None and len(rows):
        after = None if since is None else np.datetime64(since, "D")
        rows = rows.since(version=champion.version, after=after)
    rows = rows.per_session()
    arrays = [rows.actual, rows.prediction, rows.naive, rows.lower, rows.upper]
    assessment = assess_drift(
        *arrays, config=config, baseline_return_rmse=baseline,
        baseline_interval_score=interval_baseline,
    )  # fmt: skip
    actual, prediction, naive, lower, upper = arrays
    scores = realized(actual, prediction, naive) if len(actual) else None
    moves = (actual - naive) / naive if len(actual) else np.empty(0)
    recent = moves[-config.vol_window :]
    inside = ((actual >= lower) & (actual <= upper))[-config.coverage_window :]
    return StateCheck(
        assessment=assessment,
        config=config,
        since=since,
        baseline_return_rmse=baseline,
        rmse=scores.rmse if scores else None,
        naive_rmse=scores.naive_rmse if scores else None,
        volatility=float(np.sqrt(np.mean(recent**2))) if recent.size else None,
        coverage=float(inside.mean()) if inside.size else None,
        baseline_interval_score=interval_baseline,
        baseline_interval_source=inputs.baseline_interval_source,
        interval_score=distribution_scores(
            *(a[-config.coverage_window :] for a in arrays)
        ).return_interval_score,
    )


def state_decision(
    check: StateCheck, *, has_champion: bool, in_cooldown: bool
) -> tuple[str, bool, str]:
    """The assessment detector's (decision, retrain?, reason) from the states.

    Only *model degraded* asks for a retrain; within the cooldown after a retrain or rollback
    it waits (`cooldown`), so a champion no retrain can beat is not retrained every session.
    """
    a = check.assessment
    reason = "; ".join(a.reasons)
    if not has_champion:
        return "no_champion", False, f"no champion to assess: {reason}"
    if a.sessions < check.config.min_sessions:
        return "insufficient_data", False, reason
    if a.model_degraded:
        if in_cooldown:
            return "cooldown", False, f"{reason} (a retrain or rollback ran within the cooldown)"
        return "model_degraded", True, reason
    if a.volatility_changed:
        return "volatility_changed", False, reason
    return "no_change", False, reason


def _coverage_limit(config: AssessmentConfig) -> float:
    """The coverage below which `coverage_drop` alarms over a full window."""
    w = config.coverage_window
    misses = np.arange(w + 1)
    alarm = binom.sf(misses - 1, w, 1.0 - config.level) < config.coverage_alpha
    first = int(np.argmax(alarm)) if alarm.any() else w + 1  # fewest misses that alarm
    return 1.0 - (first - 1) / w


def state_alerts(
    check: StateCheck,
    *,
    ticker: str,
    session: dt.date,
    degraded_alert: Alert | None,
    volatility_onset: bool,
    calendar: TradingCalendar,
    config: AlertConfig,
) -> list[QueuedAlert]:
    """The alerts of the states: model degraded (`degraded_alert`, which the detector in
    charge built), volatility regime changed (only at its onset: `volatility_onset`, the
    previous check did not have it), and interval coverage broken."""
    a = check.assessment
    found: list[Alert] = [] if degraded_alert is None else [degraded_alert]
    if a.volatility_changed and volatility_onset:
        before = check.baseline_return_rmse
        found.append(
            msgs.volatility_changed(
                ticker=ticker,
                session=session,
                previous_volatility=before if before is not None else math.nan,
                current_volatility=check.volatility if check.volatility is not None else math.nan,
            )
        )
    if a.coverage_broken and check.coverage is not None:
        found.append(
            msgs.coverage_broken(
                ticker=ticker,
                session=session,
                coverage=check.coverage,
                nominal=check.config.level,
                window=check.config.coverage_window,
                lower_limit=_coverage_limit(check.config),
            )
        )
    return [queued(alert, calendar=calendar, config=config) for alert in found]


def degraded_vs_naive_alert(check: StateCheck, *, ticker: str, session: dt.date) -> Alert:
    """The *model degraded* alert of the assessment."""
    return msgs.model_degraded_vs_naive(
        ticker=ticker,
        session=session,
        since=check.since,
        sessions=check.assessment.sessions,
        rmse=check.rmse,
        naive_rmse=check.naive_rmse,
        statistic=check.assessment.statistics.get("cusum_skill", math.nan),
        threshold=check.config.skill_h,
        expected_skill=check.config.expected_skill,
    )
