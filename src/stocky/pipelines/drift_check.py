"""One ticker's drift check built from what it reads: both states, the rule's report, the row
to store and the alerts it raises, without touching a store.

`check_drift_many` (pipelines/drift_fleet.py) reads any number of tickers at once and stores
every check together (`check_drift` is it for one ticker); each check is built here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from stocky.adapters.ports import (
    Champion,
    DriftCheck,
    DriftCheckRow,
    Promotion,
    QueuedAlert,
)
from stocky.core import alert_messages as msgs
from stocky.core.assessment import AssessmentConfig
from stocky.core.drift import DriftReport, DriftRule, evaluate_sessions
from stocky.core.drift_rows import LabeledRows
from stocky.core.sessions import TradingCalendar
from stocky.errors import BadInput
from stocky.pipelines.alert_causes import AlertConfig
from stocky.pipelines.drift_states import (
    StateCheck,
    assess_champion,
    degraded_vs_naive_alert,
    state_alerts,
    state_decision,
)

if TYPE_CHECKING:
    from stocky.core.alerts import Alert

__all__ = [
    "BASELINE_KEYS",
    "DETECTORS",
    "DriftDetector",
    "DriftOutcome",
    "DriftReads",
    "PendingCheck",
    "build_check",
    "sessions_since",
    "validate_detector",
]

DriftDetector = Literal["assessment", "rule"]
DETECTORS: tuple[str, ...] = ("assessment", "rule")

#: Which spec metric is the baseline of each drift metric.
BASELINE_KEYS = {
    "rmse": "walk_forward_rmse",
    "return_rmse": "walk_forward_return_rmse",
    "mape": "walk_forward_mape",
    "mase": "walk_forward_mase",
}


@dataclass(frozen=True)
class DriftOutcome:
    """A stored drift check: the decision of the detector in charge, and both states.

    `drifted` is what starts a retrain in `stocky daily --retrain on-drift`: *model degraded*
    with the assessment, the rule's drift with the rule. `rule` is the rule's report in both
    cases (the rolling error the charts draw); `states` the assessment's.
    """

    ticker: str
    as_of: dt.date
    detector: DriftDetector
    decision: str
    drifted: bool
    reason: str
    rule: DriftReport
    states: StateCheck
    check_id: int

    @property
    def volatility_changed(self) -> bool:
        return self.states.assessment.volatility_changed

    @property
    def model_degraded(self) -> bool:
        return self.states.assessment.model_degraded

    @property
    def coverage_broken(self) -> bool:
        return self.states.assessment.coverage_broken

    @property
    def interval_degraded(self) -> bool:
        return self.states.assessment.interval_degraded

    @property
    def baseline(self) -> float | None:
        return self.rule.baseline

    @property
    def baseline_source(self) -> str:
        return self.rule.baseline_source

    @property
    def latest_value(self) -> float | None:
        return self.rule.latest_value

    @property
    def naive_latest_value(self) -> float | None:
        return self.rule.naive_latest_value

    def report_json(self) -> dict[str, Any]:
        """The stored `report`: the rule's report, then the detector, both states and the
        assessment's numbers."""
        return self.rule.to_dict() | {
            "detector": self.detector,
            "decision": self.decision,
            "drifted": self.drifted,
            "reason": self.reason,
            "rule_decision": self.rule.decision,
            "volatility_changed": self.volatility_changed,
            "model_degraded": self.model_degraded,
            "coverage_broken": self.coverage_broken,
            "interval_degraded": self.interval_degraded,
            "assessment": self.states.to_dict(),
        }


def sessions_since(
    promotions: Sequence[Promotion], *, calendar: TradingCalendar, as_of: dt.date
) -> int | None:
    for row in promotions[:20]:
        if row.as_of is not None:
            changed: dt.date = row.as_of
            if changed >= as_of:
                return 0
            return len(calendar.sessions_in_range(changed, as_of)) - 1
    return None


def _rule_report(
    *,
    labeled: LabeledRows,
    rule: DriftRule,
    champion: Champion | None,
    ticker: str,
    baseline: float | None,
    since: int | None,
) -> DriftReport:
    key = BASELINE_KEYS[rule.metric]
    scale: float | None = None
    if baseline is not None:
        source = "given by the caller"
    elif champion is None:
        source = f"no champion for {ticker}"
    else:
        value = champion.spec.metrics.get(key)
        baseline = float(value) if value else None
        scale_value = champion.spec.metrics.get("naive_scale")
        scale = float(scale_value) if scale_value else None
        source = f"champion {champion.name} v{champion.version} {key}"
    sessions = labeled.per_session()
    return evaluate_sessions(
        sessions.session_strings(),
        sessions.actual,
        sessions.prediction,
        sessions.naive,
        rule=rule,
        baseline=baseline,
        baseline_source=source,
        scale=scale,
        sessions_since_retrain=since,
    )


@dataclass(frozen=True)
class DriftReads:
    """What one ticker's drift check reads: the per-ticker path reads it ticker by ticker,
    the fleet path for every ticker at once (`pipelines/daily_fleet.py`)."""

    #: The labeled rows (`labeled_rows` of `PredictionLog.labeled`'s frame).
    labeled: LabeledRows
    champion: Champion | None
    #: The ticker's promotion records, newest first (the first 50 are used).
    promotions: Sequence[Promotion]
    #: The newest stored check for an earlier session (None when there is none).
    previous: DriftCheck | None
    #: Whether the previous session's check was in the volatility state, when the caller
    #: knows it without a stored check (a replay's segments); overrides `previous`.
    previous_volatility: bool | None = None


@dataclass(frozen=True)
class PendingCheck:
    """A drift check built and not stored yet: its row, the alerts it raises, the outcome."""

    outcome: DriftOutcome
    row: DriftCheckRow
    alerts: list[QueuedAlert]


def validate_detector(detector: str) -> None:
    if detector not in DETECTORS:
        raise BadInput(f"drift detector {detector!r} is unknown: use one of {list(DETECTORS)}")


def build_check(
    reads: DriftReads,
    *,
    calendar: TradingCalendar,
    ticker: str,
    as_of: dt.date,
    rule: DriftRule,
    now: dt.datetime,
    baseline: float | None = None,
    detector: DriftDetector = "assessment",
    assessment: AssessmentConfig | None = None,
    alerts: AlertConfig | None = None,
) -> PendingCheck:
    """Build `ticker`'s drift check as of `as_of` from what it read (nothing is read or written).

    Args:
        reads: The labeled rows, champion, promotion records and previous check.
        calendar: Trading sessions (cooldowns).
        ticker: The ticker.
        as_of: Last target session considered.
        rule: The rolling-error rule.
        now: Recorded as checked_at (and the alerts' time).
        baseline: Overrides the rule's registry baseline.
        detector: `assessment` or `rule`.
        assessment: Detector settings of the states.
        alerts: Cooldown and replay mark of the alerts raised.

    Returns:
        The check's row, its alerts and its outcome (`check_id` 0 until stored).

    Raises:
        BadInput: An unknown detector.
    """
    validate_detector(detector)
    alerts = alerts or AlertConfig()
    champion, labeled = reads.champion, reads.labeled
    since = sessions_since(reads.promotions, calendar=calendar, as_of=as_of)
    report = _rule_report(
        labeled=labeled,
        rule=rule,
        champion=champion,
        ticker=ticker,
        baseline=baseline,
        since=since,
    )
    states = assess_champion(
        labeled=labeled, promotions=reads.promotions, champion=champion, config=assessment
    )
    degraded_alert: Alert | None = None
    if detector == "rule":
        decision, drifted, reason = report.decision, report.drifted, report.reason
        if drifted:
            degraded_alert = msgs.model_degraded(
                ticker=ticker,
                session=as_of,
                metric=rule.metric,
                window=rule.window,
                latest=report.latest_value,
                baseline=report.baseline,
                threshold=report.threshold,
                streak=report.breach_streak,
                naive_latest=report.naive_latest_value,
            )
    else:
        in_cooldown = since is not None and since < rule.cooldown_sessions
        decision, drifted, reason = state_decision(
            states, has_champion=champion is not None, in_cooldown=in_cooldown
        )
        if states.assessment.model_degraded and champion is not None:
            degraded_alert = degraded_vs_naive_alert(states, ticker=ticker, session=as_of)
    # volatility_changed needs no action: it is told when the state starts, not while it lasts
    previous = reads.previous
    if reads.previous_volatility is not None:
        went_on = not reads.previous_volatility
    else:
        went_on = previous is None or not previous.report.get("volatility_changed")
    raised = state_alerts(
        states,
        ticker=ticker,
        session=as_of,
        degraded_alert=degraded_alert,
        volatility_onset=went_on,
        calendar=calendar,
        config=alerts,
    )
    outcome = DriftOutcome(ticker, as_of, detector, decision, drifted, reason, report, states, 0)
    row = DriftCheckRow(
        ticker=ticker,
        checked_at=now,
        as_of=as_of,
        metric=rule.metric,
        window=rule.window,
        threshold_multiplier=rule.threshold_multiplier,
        consecutive_days=rule.consecutive_days,
        baseline=report.baseline,
        baseline_source=report.baseline_source,
        threshold=report.threshold,
        latest_value=report.latest_value,
        naive_latest_value=report.naive_latest_value,
        breach_streak=report.breach_streak,
        drifted=drifted,
        decision=decision,
        model_version=champion.version if champion is not None else None,
        report=outcome.report_json(),
    )
    return PendingCheck(outcome, row, raised)
