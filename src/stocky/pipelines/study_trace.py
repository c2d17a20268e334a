"""A study cell's trace: what its drill-down page is drawn from, kept next to its result.

Written by `run_cell` through `run_replay`'s `after` hook, before the stack closes and before
the cell's result file (its "done" marker), so a finished cell always has its trace. Read
through the ports only (`PredictionLog.labeled`, `AuditLog.promotions`, `drift_checks`,
`alert_sessions`), so it is the same on the memory and the sql backend.

- `trace.csv.gz`: the replay's labeled forecasts, oldest target first (the rows its RMSE and
  skill are computed on): target_date, actual, prediction, lower, upper, naive, model_version.
- `decisions.json`: retrain decisions and rollbacks (with versions), drift checks that fired,
  and the alerts queued, each at its session. Strict JSON: no NaN or Infinity.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from stocky.errors import BadInput

if TYPE_CHECKING:
    from stocky.pipelines.replay import ReplaySummary
    from stocky.wiring import Stack

__all__ = [
    "DECISIONS_FILE",
    "TRACE_COLUMNS",
    "TRACE_FILE",
    "CellTrace",
    "read_trace",
    "trace_from_stack",
    "trace_writer",
    "write_trace",
]

TRACE_FILE = "trace.csv.gz"
DECISIONS_FILE = "decisions.json"
TRACE_COLUMNS = (
    "target_date", "actual", "prediction", "lower", "upper", "naive", "model_version",
)  # fmt: skip
_NUMBERS = ("actual", "prediction", "lower", "upper", "naive")
#: Ten significant digits: exact to a tenth of a cent below $10M, a third of the bytes of repr.
_FLOAT_FORMAT = "%.10g"
_DECISION_FIELDS = (
    "action", "from_version", "to_version", "triggered_by", "reason",
    "champion_rmse", "challenger_rmse", "naive_rmse", "dm_pvalue",
)  # fmt: skip


@dataclass(frozen=True)
class CellTrace:
    """One cell's replay as its page draws it.

    Attributes:
        frame: TRACE_COLUMNS, oldest target first (`target_date` as datetime64).
        decisions: Retrain decisions and rollbacks, oldest first: session, action,
            from_version, to_version, triggered_by, reason and the RMSEs compared.
        drift: Drift checks that asked for a retrain, oldest first: session, decision,
            model_version.
        alerts: Alerts queued, by session: session, kind.
    """

    frame: pd.DataFrame
    decisions: list[dict[str, Any]] = field(default_factory=list)
    drift: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def trace_from_stack(stack: Stack, ticker: str) -> CellTrace:
    """The trace of a finished replay of `ticker`, read through the stack's ports.

    Args:
        stack: The replay's stack (memory or sql), still open.
        ticker: The replayed ticker.

    Returns:
        The CellTrace: the labeled rows are those the replay's summary scores (source
        `replay`), so their count is the cell's `labeled`.
    """
    labeled = stack.predictions.labeled(ticker)
    labeled = labeled[labeled["source"] == "replay"]
    frame = labeled.loc[:, list(TRACE_COLUMNS)].reset_index(drop=True)
    frame["target_date"] = pd.to_datetime(frame["target_date"])
    frame["model_version"] = frame["model_version"].astype("int64")
    decisions = [
        {"session": _iso(p.as_of or p.decided_at.date())}
        | {name: _finite(getattr(p, name)) for name in _DECISION_FIELDS}
        for p in reversed(stack.audit.promotions(ticker))  # newest first -> oldest first
    ]
    drift = [
        {"session": _iso(c.as_of), "decision": c.decision, "model_version": c.model_version}
        for c in reversed(stack.audit.drift_checks(ticker))
        if c.drifted
    ]
    alerts = [
        {"session": _iso(session), "kind": kind}
        for session, kind in stack.audit.alert_sessions(ticker)
    ]
    return CellTrace(frame, decisions, drift, alerts)


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write_trace(trace: CellTrace, folder: Path) -> int:
    """Write `trace.csv.gz` and `decisions.json` into `folder`, each atomically.

    The gzip header carries no time, so the same replay writes the same bytes.

    Args:
        trace: The cell's trace.
        folder: The cell's folder (created if missing).

    Returns:
        Bytes written (both files).

    Raises:
        BadInput: A decision carries a value JSON cannot hold.
    """
    folder.mkdir(parents=True, exist_ok=True)
    frame = trace.frame.loc[:, list(TRACE_COLUMNS)].copy()
    frame["target_date"] = pd.to_datetime(frame["target_date"]).dt.strftime("%Y-%m-%d")
    _atomic_write(
        folder / TRACE_FILE,
        lambda tmp: frame.to_csv(
            tmp,
            index=False,
            float_format=_FLOAT_FORMAT,
            compression={"method": "gzip", "mtime": 0},
        ),
    )
    payload = {"decisions": trace.decisions, "drift": trace.drift, "alerts": trace.alerts}
    try:
        text = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise BadInput(f"a cell's decisions cannot be written as JSON ({exc})") from exc
    _atomic_write(folder / DECISIONS_FILE, lambda tmp: tmp.write_text(text))
    return (folder / TRACE_FILE).stat().st_size + (folder / DECISIONS_FILE).stat().st_size


def read_trace(folder: Path) -> CellTrace | None:
    """The trace written into `folder`, or None when the cell has none (a cell finished before
    traces were kept, or one that failed).

    Raises:
        BadInput: A trace file is damaged (names the file).
    """
    rows, decided = folder / TRACE_FILE, folder / DECISIONS_FILE
    if not rows.exists() or not decided.exists():
        return None
    try:
        frame = pd.read_csv(rows, parse_dates=["target_date"])
        payload = json.loads(decided.read_text())
    except (OSError, ValueError, KeyError) as exc:
        raise BadInput(f"{rows.parent}: its trace cannot be read ({exc}); rerun the cell") from exc
    missing = [c for c in TRACE_COLUMNS if c not in frame.columns]
    if missing:
        raise BadInput(f"{rows}: columns {missing} are missing; rerun the cell")
    for column in _NUMBERS:
        frame[column] = frame[column].astype(float)
    return CellTrace(
        frame.loc[:, list(TRACE_COLUMNS)],
        list(payload.get("decisions", [])),
        list(payload.get("drift", [])),
        list(payload.get("alerts", [])),
    )


def trace_writer(folder: Path, ticker: str) -> Callable[[Stack, ReplaySummary], None]:
    """The `after` hook of `run_replay` that writes the cell's trace into `folder`."""

    def after(stack: Stack, _summary: ReplaySummary) -> None:
        write_trace(trace_from_stack(stack, ticker), folder)

    return after
