"""Drift check: the rule from core/drift.py over the prediction log, baseline from the registry.

Also keeps the seed's Python API: ``detect_drift(training_rmse=1.53)`` -> (drifted, rolling RMSE).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from stocky.adapters.store.audit import AuditRepository, DriftCheckRow
from stocky.adapters.store.predictions import PredictionRepository
from stocky.core.drift import DriftReport, DriftRule, evaluate_drift
from stocky.core.sessions import TradingCalendar
from stocky.core.spec import ModelSpec
from stocky.errors import ModelNotFound

if TYPE_CHECKING:
    from stocky.adapters.registry import ModelRegistry, ModelVersionInfo
    from stocky.config import Settings

__all__ = [
    "BASELINE_KEYS",
    "check_drift",
    "detect_drift",
    "rule_from_settings",
    "sessions_since_last_change",
]

#: Which spec metric is the baseline of each drift metric.
BASELINE_KEYS = {
    "rmse": "walk_forward_rmse",
    "return_rmse": "walk_forward_return_rmse",
    "mape": "walk_forward_mape",
    "mase": "walk_forward_mase",
}


def rule_from_settings(settings: Settings) -> DriftRule:
    """The drift rule configured by STOCKY_DRIFT_*."""
    return DriftRule(
        window=settings.drift_window,
        threshold_multiplier=settings.drift_threshold_multiplier,
        consecutive_days=settings.drift_consecutive_days,
        metric=settings.drift_metric,
        cooldown_sessions=settings.drift_cooldown_sessions,
    )


def sessions_since_last_change(
    *, audit: AuditRepository, calendar: TradingCalendar, ticker: str, as_of: dt.date
) -> int | None:
    """Sessions after the last retrain (promoted or not) or rollback up to `as_of` (None if none)."""
    for row in audit.promotions(ticker, limit=20):
        if row["as_of"] is not None:
            changed: dt.date = row["as_of"]
            if changed >= as_of:
                return 0
            return len(calendar.sessions_in_range(changed, as_of)) - 1
    return None


def check_drift(
    *,
    predictions: PredictionRepository,
    audit: AuditRepository,
    registry: ModelRegistry,
    calendar: TradingCalendar,
    ticker: str,
    as_of: dt.date,
    rule: DriftRule,
    now: dt.datetime,
    baseline: float | None = None,
    champion: tuple[ModelSpec, ModelVersionInfo] | None = None,
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
        champion: The champion (spec, version) when the caller holds it; else read from the registry.

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
        spec: ModelSpec | None
        info: ModelVersionInfo | None
        if champion is not None:
            spec, info = champion
        else:
            try:
                spec, info = registry.load_spec(ticker)
            except ModelNotFound:
                spec, info = None, None
        if spec is None or info is None:
            source = f"no champion for {ticker}"
        else:
            version = info.version
            value = spec.metrics.get(key)
            baseline = float(value) if value else None
            scale_value = spec.metrics.get("naive_scale")
            scale = float(scale_value) if scale_value else None
            source = f"champion {info.name} v{info.version} {key}"
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
    from stocky.adapters.store import create_schema, make_engine
    from stocky.config import get_settings

    settings = settings or get_settings()
    symbol = (ticker or settings.default_ticker).upper()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    try:
        labeled = PredictionRepository(engine).labeled(symbol)
        rule = DriftRule(
            window=window,
            threshold_multiplier=threshold_multiplier,
            consecutive_days=consecutive_days,
        )
        if training_rmse is None:
            from stocky.adapters.registry import ModelRegistry

            registry = ModelRegistry(
                tracking_uri=settings.tracking_uri,
                experiment=settings.mlflow_experiment,
                artifact_root=settings.artifact_root,
            )
            spec, _info = registry.load_spec(symbol)
            training_rmse = float(spec.metrics["walk_forward_rmse"] or 0) or None
        report = evaluate_drift(
            labeled, rule=rule, baseline=training_rmse, baseline_source="detect_drift"
        )
    finally:
        engine.dispose()
    return report.drifted, report.latest_value
