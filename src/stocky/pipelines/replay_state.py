"""Export an in-memory replay's state for drill-down: a SQLite database and its report.

A replay or study cell on the in-memory backend (`wiring.memory_stack`) keeps nothing when its
process ends. Asked to keep its state (`--keep-state`), it writes every price, forecast, label,
drift check, retrain decision and alert into a SQLite database of the ordinary schema (the
one `stocky report`, `stocky serve` and the dashboard read), then the HTML report of its
tickers from that database and the replay's registry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stocky.adapters.ports import ActualUpdate, DriftCheckRow, PredictionRecord, PromotionRow
from stocky.errors import BadInput

if TYPE_CHECKING:
    from stocky.wiring import Stack

__all__ = ["export_state"]

_RECORD_FIELDS = [f.name for f in dataclasses.fields(PredictionRecord)]
_CHECK_FIELDS = [f.name for f in dataclasses.fields(DriftCheckRow)]
_PROMOTION_FIELDS = [f.name for f in dataclasses.fields(PromotionRow)]


def export_state(
    stack: Stack,
    *,
    tickers: Sequence[str],
    folder: Path,
    now: dt.datetime,
    due: dt.date | None = None,
    report: bool = True,
) -> Path:
    """Write `stack`'s stores (in memory) into `folder`/stocky.db, and its report.

    Args:
        stack: The replay's in-memory Stack (`wiring.memory_stack`).
        tickers: The tickers replayed (their prices, rows and report pages).
        folder: The state folder (created; must not hold a database yet).
        now: The report's time.
        due: The session due by `now` (a replay's last session) for the overview.
        report: Also write the HTML report into `folder`/report.

    Returns:
        The report's index page (or the database file when `report` is False).

    Raises:
        BadInput: `stack` has a database of its own, or `folder` already holds one.
        StoreError: The database could not be written.
    """
    from stocky.adapters.memory import MemoryAuditLog, MemoryPredictionLog
    from stocky.wiring import build_stack, replay_settings

    if stack.engine is not None or not isinstance(stack.predictions, MemoryPredictionLog):
        raise BadInput("this replay already keeps its state in a database: nothing to export")
    assert isinstance(stack.audit, MemoryAuditLog)
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "stocky.db"
    if db.exists():
        raise BadInput(f"{db} exists: export into an empty folder")
    settings = replay_settings(stack.settings, folder)
    with build_stack(settings, registry=stack.registry, source=stack.source) as sql:
        for ticker in tickers:
            frame = stack.prices.load(ticker)
            if len(frame):
                sql.prices.upsert(ticker, frame, source="replay", fetched_at=now)
        _predictions(stack.predictions, sql)
        _audit(stack.audit, sql)
        if not report:
            return db
        from stocky.pipelines.fleet_view import report_for_stack
        from stocky.report.write import write_report

        built = report_for_stack(sql, tickers=list(tickers), now=now, due=due)
        return write_report(built, folder / "report")


def _predictions(memory: Any, sql: Stack) -> None:
    rows = list(memory.iter_rows())
    records = [PredictionRecord(**{k: r[k] for k in _RECORD_FIELDS}) for r in rows]
    ids = sql.predictions.insert_many(records)
    labels = [
        ActualUpdate(new_id, float(r["actual"]), r["actual_at"])
        for new_id, r in zip(ids, rows, strict=True)
        if r["actual"] is not None
    ]
    sql.predictions.attach_actuals(labels)


def _audit(memory: Any, sql: Stack) -> None:
    checks = sorted(memory.checks, key=lambda c: c.id)
    sql.audit.add_drift_checks(
        [(DriftCheckRow(**{k: getattr(c, k) for k in _CHECK_FIELDS}), ()) for c in checks]
    )
    for p in sorted(memory.decisions, key=lambda p: p.id):
        sql.audit.add_promotion(PromotionRow(**{k: getattr(p, k) for k in _PROMOTION_FIELDS}))
    for queued in memory.alerts:  # the ones the replay stored, in order, at its clock
        at = dt.datetime.combine(queued.alert.session, dt.time(22, 0), tzinfo=dt.UTC)
        sql.audit.add_alerts([dataclasses.replace(queued, cooldown_since=None)], now=at)
