"""Drift check: the rule from core/drift.py over the prediction log, baseline from the registry.

Also keeps the seed's Python API: ``detect_drift(training_rmse=1.53)`` -> (drifted, rolling RMSE).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from stocky.adapters.ports import AuditLog, Champion, DriftCheckRow, PredictionLog, Registry
from stocky.core.drift import DriftReport, DriftRule, evaluate_drift
from stocky.core.sessions import TradingCalendar
from stocky.core.tickers import normalize_ticker
from stocky.errors import ModelNotFound

if TYPE_CHECKING:
    from stocky.config import Settings

__all__ = [
    "BASELINE_KEYS",
    "check_drift",
    "detect_drift",
    "sessions_since_last_change",
]

#: Which spec metric is the baseline of each drift metric.
BASELINE_KEYS = {
    "rmse": "walk_forward_rmse",
    "return_rmse": "walk_forward_return_rmse",
    "mape": "walk_forward_mape",
    "mase": "walk_forward_mase",
}


def sessions_since_last_change(
    *, audit: AuditLog, calendar: TradingCalendar, ticker: str, as_of: dt.date
) -> int | None:
    """Sessions after the last retrain (promoted or not) or rollback up to `as_of` (None if none)."""
    for row in audit.promotions(ticker, limit=20):
        if row.as_of is not None:
            changed: dt.date = row.as_of
            if changed >= as_of:
                return 0
            return len(calendar.sessions_in_range(changed, as_of)) - 1
    return None


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
) -> DriftReport:
    """Evaluate the rule for `ticker` up to `as_of` and store the report in drift_checks.

    Args:
        predictions: The prediction log (labeled rows are used).
        audit: Where the report is stored, and where promotions are read for the cooldown.
        registry: Source of the champion's baseline when `baseline` is None.
        calendar: Trading sessions (for the cooldown count).
        ticker: The ticker.
        as_of: Last target session considered.
        rule: The drift rule.
        now: Recorded as checked_at.
        baseline: Overrides the registry baseline (e.g. the seed's training_rmse).
        champion: The champion when the caller holds it; else read from the registry.

    Returns:
        The stored DriftReport.
    """
    labeled = predictions.labeled(ticker, up_to=as_of)
    key = BASELINE_KEYS[rule.metric]
    version: int | None = None
    scale: float | None = None
    if baseline is not None:
        source = "given by the caller"
    else:
        if champion is None:
            champion = registry.champion(ticker)
        if champion is None:
            source = f"no champion for {ticker}"
        else:
            version = champion.version
            value = champion.spec.metrics.get(key)
            baseline = float(value) if value else None
            scale_value = champion.spec.metrics.get("naive_scale")
            scale = float(scale_value) if scale_value else None
            source = f"champion {champion.name} v{champion.version} {key}"
    since = sessions_since_last_change(audit=audit, calendar=calendar, ticker=ticker, as_of=as_of)
    report = evaluate_drift(
        labeled,
        rule=rule,
        baseline=baseline,
        baseline_source=source,
        scale=scale,
        sessions_since_retrain=since,
    )
    audit.add_drift_check(
        DriftCheckRow(
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
            drifted=report.drifted,
            decision=report.decision,
            model_version=version,
            report=report.to_dict(),
        )
    )
    return report


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
