"""Drift checks of any number of tickers at once, set-based (one ticker is a fleet of one:
`check_drift` calls this).

Four statements for any number of tickers (per chunk of `CHUNK_TICKERS`): every ticker's
labeled rows as one frame, their promotion records, their previous checks; then every
check and the alerts it raises in one transaction. Each check is built by `build_check` from
that ticker's rows only: a ticker checked alone stores what it stores checked with others
(`tests/integration/test_drift_paths.py`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stocky.adapters.ports import AuditLog, Champion, PredictionLog
from stocky.core.assessment import AssessmentConfig
from stocky.core.drift import DriftRule
from stocky.core.drift_rows import split_labeled
from stocky.core.sessions import TradingCalendar
from stocky.errors import StockyError
from stocky.pipelines.alert_causes import AlertConfig
from stocky.pipelines.drift_check import (
    DriftDetector,
    DriftOutcome,
    DriftReads,
    PendingCheck,
    build_check,
)

__all__ = ["FleetChecks", "check_drift_many"]


@dataclass
class FleetChecks:
    """The stored outcome of each ticker checked, and the error of each that could not be."""

    outcomes: dict[str, DriftOutcome] = field(default_factory=dict)
    failed: dict[str, StockyError] = field(default_factory=dict)


def check_drift_many(
    *,
    predictions: PredictionLog,
    audit: AuditLog,
    calendar: TradingCalendar,
    tickers: Sequence[str],
    champions: Mapping[str, Champion],
    as_of: dt.date,
    rule: DriftRule,
    now: dt.datetime,
    baseline: float | None = None,
    detector: DriftDetector = "assessment",
    assessment: AssessmentConfig | None = None,
    alerts: AlertConfig | None = None,
) -> FleetChecks:
    """`check_drift` for every ticker in `tickers`, reading and writing set-based.

    Args:
        predictions: The prediction log (labeled rows are used).
        audit: Where the checks and their alerts are stored; promotions and the previous
            checks are read from it.
        calendar: Trading sessions (cooldowns).
        tickers: The tickers (normalised, each once).
        champions: The champion of each ticker that has one (the others are checked as
            having none).
        as_of: Last target session considered.
        rule: The rolling-error rule.
        now: Recorded as checked_at (and the alerts' time).
        baseline: Overrides the rule's registry baseline (e.g. the seed's training_rmse).
        detector: `assessment` or `rule`.
        assessment: Detector settings of the states.
        alerts: Cooldown and replay mark of the alerts raised.

    Returns:
        FleetChecks: a ticker whose check cannot be built (say, a bad detector setting) is in
        `failed` and nothing is stored for it; the others are stored.

    Raises:
        StoreError: A read failed, or the writes (all or none of them).
    """
    out = FleetChecks()
    labeled = split_labeled(predictions.labeled_table(tickers, up_to=as_of), list(tickers))
    promotions = audit.promotions_many(tickers)
    previous = audit.latest_checks_before(tickers, before=as_of)
    pending: dict[str, PendingCheck] = {}
    for t in tickers:
        reads = DriftReads(labeled[t], champions.get(t), promotions.get(t, []), previous.get(t))
        try:
            pending[t] = build_check(
                reads,
                calendar=calendar,
                ticker=t,
                as_of=as_of,
                rule=rule,
                now=now,
                baseline=baseline,
                detector=detector,
                assessment=assessment,
                alerts=alerts,
            )
        except StockyError as exc:  # reported for its ticker; the others are stored
            out.failed[t] = exc
    ids = audit.add_drift_checks([(p.row, p.alerts) for p in pending.values()])
    for (t, p), check_id in zip(pending.items(), ids, strict=True):
        out.outcomes[t] = dataclasses.replace(p.outcome, check_id=check_id)
    return out
