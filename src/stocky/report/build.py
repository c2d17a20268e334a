"""Collect the monitoring report's data from the prediction log, the audit trail and the registry.

Nothing is drawn or written here: `stocky.report.html` renders the page, `stocky.report.figures`
the charts and `stocky.report.write` writes both to a folder; `GET /dashboard` serves the same
page with charts rendered on request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import pandas as pd

from stocky.core.drift import DriftRule, Metric, per_session, rolling_metric, rolling_skill
from stocky.core.realized import realized
from stocky.core.scores import distribution_scores
from stocky.core.trained_scores import walk_forward_scores
from stocky.report.model import Report, Summary, TickerReport

if TYPE_CHECKING:
    from stocky.adapters.ports import (
        AuditLog,
        DriftCheck,
        ModelVersionInfo,
        PredictionLog,
        Promotion,
        Registry,
    )

__all__ = ["TRAINING_CHART", "build_report", "known_tickers", "slugify"]

#: The training run's chart (walk-forward forecast vs actual with the band), an artifact.
TRAINING_CHART = "forecast_vs_actual.png"


def slugify(ticker: str) -> str:
    """A file-name-safe ticker: `^GSPC` -> `gspc`, `BRK.B` -> `brk-b`."""
    return re.sub(r"[^a-z0-9]+", "-", ticker.lower()).strip("-") or "ticker"


def known_tickers(*, predictions: PredictionLog, registry: Registry) -> list[str]:
    """Tickers with a registered model or a logged prediction, sorted."""
    return sorted(set(registry.tickers()) | set(predictions.tickers()))


def build_report(
    *,
    predictions: PredictionLog,
    audit: AuditLog,
    registry: Registry,
    tickers: Sequence[str],
    drift_rule: DriftRule,
    now: dt.datetime,
) -> Report:
    """Collect the report's data for `tickers` (nothing is written).

    Args:
        predictions: The prediction log (labeled rows and pending counts).
        audit: Drift checks and promotions.
        registry: Model versions, and the champion's baseline when no drift check exists yet.
        tickers: Tickers to report, in page order.
        drift_rule: Window, multiplier and metric of the rolling-error chart.
        now: Recorded as the report's time.

    Returns:
        The Report; tickers without labeled predictions have `summary` None and no charts.
    """
    slugs: set[str] = set()
    parts = []
    waiting = predictions.pending_counts(tickers)
    for ticker in tickers:
        slug = base = slugify(ticker)
        n = 1
        while slug in slugs:  # two tickers may sanitise alike (BRK.B, BRK-B)
            n += 1
            slug = f"{base}-{n}"
        slugs.add(slug)
        parts.append(
            _ticker_report(
                ticker,
                slug,
                labeled=predictions.labeled(ticker),
                pending=waiting.get(ticker, 0),
                checks=audit.drift_checks(ticker),
                promotions=audit.promotions(ticker),
                versions=registry.versions(ticker),
                rule=drift_rule,
            )
        )
    return Report(generated_at=now, rule=drift_rule, tickers=tuple(parts))


def _ticker_report(
    ticker: str,
    slug: str,
    *,
    labeled: pd.DataFrame,
    pending: int,
    checks: list[DriftCheck],
    promotions: list[Promotion],
    versions: list[ModelVersionInfo],
    rule: DriftRule,
) -> TickerReport:
    # mase needs the training data's naive scale, which the log does not hold: plot rmse then
    metric: Metric = "rmse" if rule.metric == "mase" else rule.metric
    sessions = per_session(labeled) if len(labeled) else labeled
    actual = sessions["actual"].to_numpy(float)
    pred = sessions["prediction"].to_numpy(float)
    last = sessions["naive"].to_numpy(float)
    w = rule.window
    rolling = pd.DataFrame(
        {
            "target_date": sessions["target_date"].to_numpy(),
            "value": rolling_metric(actual, pred, last, window=w, metric=metric),
            "naive_value": rolling_metric(actual, last, last, window=w, metric=metric),
            "skill": rolling_skill(actual, pred, last, window=w),
        }
    )
    start = pd.Timestamp(sessions["target_date"].iloc[0]).date() if len(sessions) else None
    thresholds, note = _thresholds(checks, versions, rule, metric, start)
    alerts = tuple(
        (c.as_of, float(c.latest_value))
        for c in reversed(checks)
        if c.drifted and c.latest_value is not None and c.metric == metric
    )
    champion = next((v for v in versions if "champion" in v.aliases), None)
    changes = tuple(
        (p.as_of or p.decided_at.date(), p.action, f"{p.action} v{p.to_version}")
        for p in reversed(promotions)
        if p.action in ("promote", "rollback")
    )
    return TickerReport(
        ticker=ticker,
        slug=slug,
        sessions=sessions,
        labeled_rows=len(labeled),
        pending=pending,
        metric=metric,
        window=w,
        rolling=rolling,
        thresholds=thresholds,
        threshold_note=note,
        alerts=alerts,
        changes=changes,
        drift_checks=tuple(checks),
        promotions=tuple(promotions),
        versions=tuple(versions),
        summary=_summary(sessions) if len(sessions) else None,
        fingerprint=_fingerprint(labeled, checks, promotions, versions, rule),
        walk_forward=walk_forward_scores(champion.tags) if champion is not None else None,
        training_run=champion.run_id if champion is not None else None,
    )


def _thresholds(
    checks: list[DriftCheck],
    versions: list[ModelVersionInfo],
    rule: DriftRule,
    metric: str,
    start: dt.date | None,
) -> tuple[tuple[tuple[dt.date, float], ...], str]:
    """Threshold steps from the drift checks (the first one drawn from the first session)."""
    steps = [
        (c.as_of, float(c.threshold))
        for c in reversed(checks)
        if c.threshold is not None and c.metric == metric
    ]
    if steps and start is not None and start < steps[0][0]:
        steps[0] = (start, steps[0][1])
    if steps:
        latest = next(c for c in checks if c.threshold is not None and c.metric == metric)
        return tuple(steps), (
            f"threshold {latest.threshold:.4g} = {latest.threshold_multiplier:g} x baseline "
            f"{latest.baseline:.4g} ({latest.baseline_source}), drift check of {latest.as_of}"
        )
    champion = next((v for v in versions if "champion" in v.aliases), None)
    baseline = champion.tags.get("walk_forward_rmse") if champion else None
    if metric == "rmse" and champion is not None and baseline and start is not None:
        value = rule.threshold_multiplier * float(baseline)
        return ((start, value),), (
            f"threshold {value:.4g} = {rule.threshold_multiplier:g} x champion v{champion.version} "
            f"walk-forward RMSE {float(baseline):.4g} (no drift check yet)"
        )
    return (), f"no threshold: no drift check of {metric} and no champion baseline yet"


def _summary(sessions: pd.DataFrame) -> Summary:
    r = realized(
        sessions["actual"],
        sessions["prediction"],
        sessions["naive"],
        lower=sessions["lower"],
        upper=sessions["upper"],
    )
    d = distribution_scores(
        *(sessions[c].to_numpy(float) for c in ("actual", "prediction", "naive", "lower", "upper"))
    )
    dates = pd.to_datetime(sessions["target_date"])
    return Summary(
        sessions=len(sessions),
        first=dates.iloc[0].date(),
        last=dates.iloc[-1].date(),
        rmse=r.rmse,
        naive_rmse=r.naive_rmse,
        skill=r.skill,
        mae=r.mae,
        coverage=r.coverage,
        interval_score=d.interval_score,
        naive_interval_score=d.naive_interval_score,
        crps=d.crps,
        naive_crps=d.naive_crps,
        direction_accuracy=d.direction_accuracy,
        direction_sessions=d.direction_sessions,
        direction_pvalue=d.direction_pvalue,
        dm_pvalue=r.dm_pvalue,
    )


def _fingerprint(
    labeled: pd.DataFrame,
    checks: list[DriftCheck],
    promotions: list[Promotion],
    versions: list[ModelVersionInfo],
    rule: DriftRule,
) -> str:
    """Changes whenever a chart would: labels, checks, promotions, versions or the rule."""
    rows = (
        int(pd.util.hash_pandas_object(labeled[["id", "actual"]], index=False).sum())
        if len(labeled)
        else 0
    )
    payload = [
        len(labeled),
        rows,
        [c.id for c in checks],
        [p.id for p in promotions],
        [(v.version, v.aliases, sorted(v.tags.items())) for v in versions],
        asdict(rule),
    ]
    return hashlib.sha256(json.dumps(payload, default=str).encode()).hexdigest()[:16]
