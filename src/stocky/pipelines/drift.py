"""Drift check: both drift states and the rolling-error rule, stored with their alerts.

Every check stores the rule's report (`core/drift.py`, the seed's rolling error against the
champion's baseline) and the champion's two states (`pipelines/drift_states.py`: *volatility
regime changed*, *model degraded*). `STOCKY_DRIFT_DETECTOR` says which one decides a retrain:
`assessment` (default: only *model degraded*) or `rule` (the rolling-error rule, as before).

Also keeps the seed's Python API: ``detect_drift(training_rmse=1.53)`` -> (drifted, rolling RMSE).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from stocky.adapters.ports import (
    AuditLog,
    Champion,
    PredictionLog,
    Registry,
)
from stocky.core.assessment import AssessmentConfig
from stocky.core.drift import DriftRule, evaluate_drift
from stocky.core.sessions import TradingCalendar
from stocky.core.tickers import normalize_ticker
from stocky.errors import ModelNotFound
from stocky.pipelines.alert_causes import AlertConfig
from stocky.pipelines.drift_check import (
    DriftDetector,
    DriftOutcome,
    sessions_since,
    validate_detector,
)
from stocky.pipelines.drift_fleet import check_drift_many

if TYPE_CHECKING:
    from stocky.config import Settings

__all__ = ["check_drift", "detect_drift", "sessions_since_last_change"]


def sessions_since_last_change(
    *, audit: AuditLog, calendar: TradingCalendar, ticker: str, as_of: dt.date
) -> int | None:
    """Sessions after the last retrain (promoted or not) or rollback up to `as_of` (None if none)."""
    return sessions_since(audit.promotions(ticker, limit=20), calendar=calendar, as_of=as_of)


def check_drift(
    *,
    predictions: PredictionLog,
    audit: AuditLog,
    registry: Registry,
    calendar: TradingCalendar,
    ticker: str,
    as_of: dt.date,
    rule: DriftRule,
    now: dt.datetime,
    baseline: float | None = None,
    champion: Champion | None = None,
    detector: DriftDetector = "assessment",
    assessment: AssessmentConfig | None = None,
    alerts: AlertConfig | None = None,
) -> DriftOutcome:
    """Check `ticker` up to `as_of`; store the check and the alerts it raises together.

    `check_drift_many` for one ticker (the one path), its failure raised.

    Args:
        predictions: The prediction log (labeled rows are used).
        audit: Where the check and its alerts are stored; promotions are read for the
            cooldown and for when the champion took over.
        registry: Source of the champion when `champion` is None.
        calendar: Trading sessions (cooldowns).
        ticker: The ticker.
        as_of: Last target session considered.
        rule: The rolling-error rule (decides with detector `rule`; its window, metric and
            cooldown are reported either way).
        now: Recorded as checked_at (and the alerts' time).
        baseline: Overrides the rule's registry baseline (e.g. the seed's training_rmse).
        champion: The champion when the caller holds it; else read from the registry.
        detector: `assessment` (retrain on *model degraded* only) or `rule`.
        assessment: Detector settings of the states (defaults: the benchmark's).
        alerts: Cooldown and replay mark of the alerts raised.

    Returns:
        The stored DriftOutcome.

    Raises:
        BadInput: An unknown detector.
        StoreError: The check (and so its alerts) could not be stored.
    """
    validate_detector(detector)
    if champion is None:
        champion = registry.champion(ticker)
    checks = check_drift_many(
        predictions=predictions,
        audit=audit,
        calendar=calendar,
        tickers=[ticker],
        champions={ticker: champion} if champion is not None else {},
        as_of=as_of,
        rule=rule,
        now=now,
        baseline=baseline,
        detector=detector,
        assessment=assessment,
        alerts=alerts,
    )
    if ticker in checks.failed:
        raise checks.failed[ticker]
    return checks.outcomes[ticker]


def detect_drift(
    training_rmse: float | None = None,
    window: int = 14,
    threshold_multiplier: float = 1.5,
    consecutive_days: int = 3,
    *,
    ticker: str | None = None,
    settings: Settings | None = None,
) -> tuple[bool, float | None]:
    """The seed's API: is the rolling RMSE above ``threshold_multiplier x training_rmse``?

    Reads the prediction log of the configured database (nothing is written).

    Args:
        training_rmse: Baseline RMSE; None takes the champion's walk-forward RMSE.
        window: Rolling window in target sessions.
        threshold_multiplier: Threshold as a multiple of the baseline.
        consecutive_days: Breaching sessions in a row that make drift.
        ticker: Ticker (default STOCKY_DEFAULT_TICKER).
        settings: Settings (default from the environment).

    Returns:
        (drifted, latest rolling RMSE or None when fewer than `window` sessions are labeled).
    """
    from stocky.config import get_settings
    from stocky.wiring import build_stack

    settings = settings or get_settings()
    symbol = normalize_ticker(ticker or settings.default_ticker)
    rule = DriftRule(
        window=window,
        threshold_multiplier=threshold_multiplier,
        consecutive_days=consecutive_days,
    )
    with build_stack(settings) as stack:
        labeled = stack.predictions.labeled(symbol)
        if training_rmse is None:
            champion = stack.registry.champion(symbol)
            if champion is None:
                raise ModelNotFound(
                    f"no 'champion' model for {symbol}: run `stocky train --ticker {symbol}` "
                    "or pass training_rmse"
                )
            training_rmse = float(champion.spec.metrics["walk_forward_rmse"] or 0) or None
        report = evaluate_drift(
            labeled, rule=rule, baseline=training_rmse, baseline_source="detect_drift"
        )
    return report.drifted, report.latest_value
