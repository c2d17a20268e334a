"""The daily pipeline: pull prices -> actuals -> drift -> retrain when asked -> forecast -> report.

One function, collaborators passed in, time an argument: the scheduler, `stocky daily`, and the
replay all run this same code.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from stocky.adapters.ports import AuditLog, Champion, PredictionLog, PriceStore, Registry
from stocky.adapters.prices.base import PriceSource
from stocky.core.assessment import AssessmentConfig
from stocky.core.drift import DriftRule
from stocky.core.sessions import TradingCalendar
from stocky.pipelines.actuals import ActualsResult, attach_actuals
from stocky.pipelines.alert_causes import AlertConfig, labels_late_alerts
from stocky.pipelines.data import pull_prices
from stocky.pipelines.drift import check_drift
from stocky.pipelines.drift_check import DriftDetector, DriftOutcome
from stocky.pipelines.forecast import forecast_record
from stocky.pipelines.retrain import RetrainConfig, RetrainResult, retrain_ticker

__all__ = [
    "RETRAIN_MODES",
    "DailyDeps",
    "RetrainMode",
    "TickerDay",
    "retrain_trigger",
    "run_daily_ticker",
]

if TYPE_CHECKING:
    from stocky.wiring import Stack

log = logging.getLogger(__name__)

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


def _champion(deps: DailyDeps, ticker: str) -> Champion | None:
    if ticker not in deps.champions:
        champion = deps.registry.champion(ticker)
        if champion is None:
            return None
        deps.champions[ticker] = champion
    return deps.champions[ticker]


def forecast_next(
    deps: DailyDeps, *, ticker: str, as_of: dt.date, now: dt.datetime, source: str
) -> tuple[int | None, dt.date | None]:
    """Log the champion's forecast for the session after `as_of` from stored closes (once per day)."""
    champ = _champion(deps, ticker)
    if champ is None:
        return None, None
    exists = deps.predictions.find(ticker=ticker, as_of=as_of, source=source)
    if exists is not None:
        return exists, None
    frame = deps.prices.load(ticker, end=as_of, last=deps.max_prices)
    if frame.empty or frame["date"].iloc[-1].date() != as_of:
        log.info("%s: no close stored for %s; no forecast logged", ticker, as_of)
        return None, None
    target = deps.calendar.next_session(as_of)
    _forecast, record = forecast_record(
        forecaster=champ.spec.forecaster(),
        window=frame["close"].to_numpy(float),
        ticker=ticker,
        model_name=champ.name,
        model_version=champ.version,
        as_of=as_of,
        target=target,
        now=now,
        request_id=f"{source}-{uuid.uuid4().hex[:12]}",
        source=source,
    )
    return deps.predictions.insert(record), target


def run_daily_ticker(
    deps: DailyDeps,
    *,
    ticker: str,
    as_of: dt.date,
    now: dt.datetime,
    retrain_mode: RetrainMode = "on-drift",
    pull: bool = True,
    forecast: bool = True,
    forecast_source: str = "daily",
    triggered_by: str = "schedule",
    progress: Callable[[str], None] = lambda _m: None,
) -> TickerDay:
    """Run the daily steps for one ticker as of one session.

    Args:
        deps: Collaborators.
        ticker: The ticker.
        as_of: The session whose close is the latest usable.
        now: The clock reading (recorded on rows).
        retrain_mode: on-drift (default), always, monthly or never (see `retrain_trigger`).
        pull: Fetch missing prices from the source first.
        forecast: Log the champion's forecast for the next session (source `forecast_source`).
        forecast_source: Source label of that forecast.
        triggered_by: Recorded with a retrain (schedule, replay, ...).
        progress: Called with a short message per step.

    Returns:
        What happened, step by step.
    """
    pulled = 0
    if pull:
        progress(f"{ticker}: pulling prices")
        pulled = pull_prices(
            source=deps.source, repo=deps.prices, ticker=ticker, end=as_of, now=now
        ).rows_added
    progress(f"{ticker}: attaching actuals")
    actuals = attach_actuals(
        predictions=deps.predictions,
        prices=deps.prices,
        source=deps.source,
        ticker=ticker,
        as_of=as_of,
        now=now,
    )
    late = labels_late_alerts(
        prices=deps.prices,
        calendar=deps.calendar,
        ticker=ticker,
        as_of=as_of,
        now=now,
        config=deps.alerts,
    )
    if late:
        deps.audit.add_alerts(late, now=now)
    progress(f"{ticker}: checking drift")
    drift = check_drift(
        predictions=deps.predictions,
        audit=deps.audit,
        registry=deps.registry,
        calendar=deps.calendar,
        ticker=ticker,
        as_of=as_of,
        rule=deps.rule,
        now=now,
        champion=_champion(deps, ticker),
        detector=deps.detector,
        assessment=deps.assessment,
        alerts=deps.alerts,
    )
    result = None
    trigger = retrain_trigger(
        retrain_mode, drifted=drift.drifted, as_of=as_of, calendar=deps.calendar
    )
    if trigger is not None:
        progress(f"{ticker}: retraining ({trigger})")
        result = retrain_ticker(
            ticker=ticker,
            prices=deps.prices.load(ticker, end=as_of),
            registry=deps.registry,
            audit=deps.audit,
            config=deps.retrain,
            as_of=as_of,
            now=now,
            triggered_by=triggered_by if trigger == "schedule" else trigger,
            champion=_champion(deps, ticker),
            # a degraded champion that nothing beats gives way to the random walk
            fallback_to_naive=drift.drifted and drift.detector == "assessment",
            replay=deps.alerts.replay,
        )
        if result.promoted and result.version is not None:
            deps.champions[ticker] = Champion(result.spec, result.version)
    forecast_id = target = None
    if forecast:
        progress(f"{ticker}: forecasting the next session")
        forecast_id, target = forecast_next(
            deps, ticker=ticker, as_of=as_of, now=now, source=forecast_source
        )
    return TickerDay(ticker, as_of, pulled, actuals, drift, result, forecast_id, target)
