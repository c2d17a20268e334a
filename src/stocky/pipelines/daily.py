"""The daily job's shared pieces: its collaborators (`DailyDeps`), what it did for a ticker
(`TickerDay`) and when a ticker retrains (`retrain_trigger`).

The steps themselves are set-based, for any number of tickers (one ticker is a fleet of one):
`pipelines/daily_fleet.py` (pull, actuals, drift, forecasts) and `pipelines/retrain_many.py`
(the whole day, retrains included). The scheduler, `stocky daily`, replays and studies all run
that one path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from stocky.adapters.ports import AuditLog, Champion, PredictionLog, PriceStore, Registry
from stocky.adapters.prices.base import PriceSource
from stocky.core.assessment import AssessmentConfig
from stocky.core.drift import DriftRule
from stocky.core.sessions import TradingCalendar
from stocky.pipelines.actuals import ActualsResult
from stocky.pipelines.alert_causes import AlertConfig
from stocky.pipelines.drift_check import DriftDetector, DriftOutcome
from stocky.pipelines.retrain import RetrainConfig, RetrainResult

__all__ = [
    "RETRAIN_MODES",
    "DailyDeps",
    "RetrainMode",
    "TickerDay",
    "retrain_trigger",
]

if TYPE_CHECKING:
    from stocky.wiring import Stack

#: on-drift: retrain when drift is detected; always: every session; monthly: on the first
#: session of each month, whatever drift says; never.
RetrainMode = Literal["on-drift", "always", "monthly", "never"]
RETRAIN_MODES: tuple[str, ...] = ("on-drift", "always", "monthly", "never")


def retrain_trigger(
    mode: RetrainMode, *, drifted: bool, as_of: dt.date, calendar: TradingCalendar
) -> str | None:
    """Why a ticker retrains as of `as_of` under `mode` (recorded as `triggered_by`), or None.

    Args:
        mode: The retrain mode.
        drifted: Whether today's drift check fired.
        as_of: The session.
        calendar: For `monthly`: the first session of a month is the one whose previous
            session falls in another month.
    """
    if mode == "always":
        return "drift" if drifted else "schedule"
    if mode == "on-drift":
        return "drift" if drifted else None
    if mode == "monthly":
        return "monthly" if calendar.previous_session(as_of).month != as_of.month else None
    return None


@dataclass
class DailyDeps:
    """Collaborators of the daily job."""

    prices: PriceStore
    predictions: PredictionLog
    audit: AuditLog
    registry: Registry
    source: PriceSource
    calendar: TradingCalendar
    rule: DriftRule
    retrain: RetrainConfig
    max_prices: int = 60
    #: What starts a retrain: the drift states' *model degraded*, or the rolling-error rule.
    detector: DriftDetector = "assessment"
    assessment: AssessmentConfig = field(default_factory=AssessmentConfig)
    #: Cooldown, late-label grace and replay mark of the alerts raised.
    alerts: AlertConfig = field(default_factory=AlertConfig)
    #: Champions held in memory (replay); the registry is read when a ticker is missing.
    champions: dict[str, Champion] = field(default_factory=dict)
    #: Tickers the fleet path found without a champion in this run's registry listing.
    no_champion: set[str] = field(default_factory=set)

    @classmethod
    def from_stack(cls, stack: Stack, *, replay: bool = False) -> DailyDeps:
        """The daily job's collaborators from a Stack (`replay`: mark its alerts as a replay's)."""
        from stocky.wiring import alert_config

        return cls(
            prices=stack.prices,
            predictions=stack.predictions,
            audit=stack.audit,
            registry=stack.registry,
            source=stack.source,
            calendar=stack.calendar,
            rule=stack.drift,
            retrain=stack.retrain,
            max_prices=stack.settings.max_prices,
            detector=stack.settings.drift_detector,
            alerts=alert_config(stack.settings, replay=replay),
        )


@dataclass(frozen=True)
class TickerDay:
    """What the daily job did for one ticker."""

    ticker: str
    as_of: dt.date
    rows_pulled: int
    actuals: ActualsResult
    drift: DriftOutcome
    retrain: RetrainResult | None
    forecast_id: int | None
    forecast_target: dt.date | None
