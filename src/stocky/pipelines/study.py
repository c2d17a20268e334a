"""The policy study: replay the whole loop for every (ticker x policy) cell of a grid.

A policy is a set of Settings overrides (drift threshold, window, metric, promotion rule...)
plus a retrain mode (on-drift, monthly, never, always). Every cell replays one ticker under one
policy as its own task -- the replay `stocky replay` runs (`pipelines.replay_run`) -- on the
in-memory backend by default (no database, no MLflow store per cell; `keep_state` exports a
cell's SQLite and report) or in a state folder of its own (`sql`), on whatever executor it is
given. A finished cell writes its trace (for its drill-down page), then
`result.json` atomically as its very last step, so rerunning a study skips finished cells and
redoes only the unfinished ones. Replays never deliver alerts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stocky.config import settings_payload
from stocky.errors import BadInput

if TYPE_CHECKING:
    from stocky.adapters.executor import TickerExecutor
    from stocky.config import Settings

__all__ = [
    "GRID_KEYS",
    "CellResult",
    "Policy",
    "StudyRun",
    "parse_grid",
    "result_folder",
    "run_cell",
    "run_study",
]

RESULT_FILE = "result.json"


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError("must be > 0")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be >= 1")
    return value


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"use one of {', '.join(allowed)}")
        return text

    return parse


#: Grid key -> (Settings field, or "retrain" for the retrain mode; value parser).
GRID_KEYS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "retrain": ("retrain", _choice("on-drift", "monthly", "never", "always")),
    "drift.detector": ("drift_detector", _choice("assessment", "rule")),
    "drift.threshold": ("drift_threshold_multiplier", _positive_float),
    "drift.window": ("drift_window", _positive_int),
    "drift.consecutive": ("drift_consecutive_days", _positive_int),
    "drift.metric": ("drift_metric", _choice("rmse", "return_rmse", "mape", "mase")),
    "drift.cooldown": ("drift_cooldown_sessions", int),
    "promotion.min_improvement": ("min_improvement", float),
    "promotion.naive_tolerance": ("naive_tolerance", float),
    "promotion.dm_alpha": ("dm_alpha", _positive_float),
    "holdout": ("holdout_size", _positive_int),
    "order": ("order", str),
}


@dataclass(frozen=True)
class Policy:
    """One point of the grid: its name, the Settings overrides and the retrain mode."""

    name: str
    overrides: tuple[tuple[str, Any], ...]
    retrain: str = "on-drift"


#: Keys of the rolling-error rule: they change what starts a retrain only with drift.detector=rule.
RULE_KEYS = ("drift.threshold", "drift.window", "drift.consecutive", "drift.metric")


def parse_grid(specs: Sequence[str], *, detector: str = "assessment") -> list[Policy]:
    """Every combination of `key=v1,v2,...` specs, in the order given.

    Args:
        specs: e.g. ["drift.threshold=1.25,1.5", "retrain=on-drift,monthly,never"].
        detector: The configured drift detector (STOCKY_DRIFT_DETECTOR): with `assessment`,
            varying the rule's keys would change nothing, so they are refused unless the grid
            sets `drift.detector` too.

    Returns:
        The policies (one, with no overrides, when `specs` is empty).

    Raises:
        BadInput: Unknown key, repeated key, or a value the key does not accept.
    """
    axes: list[tuple[str, list[tuple[str, Any]]]] = []
    for spec in specs:
        key, sep, values = spec.partition("=")
        key = key.strip()
        if not sep or not values.strip():
            raise BadInput(f"--grid {spec!r}: write key=value1,value2 (e.g. drift.window=14,21)")
        if key not in GRID_KEYS:
            raise BadInput(
                f"--grid {spec!r}: unknown key {key!r}; use one of {', '.join(GRID_KEYS)}"
            )
        if any(key == k for k, _ in axes):
            raise BadInput(f"--grid {key} given twice: put all its values in one --grid")
        parse = GRID_KEYS[key][1]
        parsed = []
        for raw in (v.strip() for v in values.split(",")):
            try:
                parsed.append((raw, parse(raw)))
            except ValueError as exc:
                raise BadInput(f"--grid {key}: value {raw!r} is invalid ({exc})") from exc
        axes.append((key, parsed))
    keys = {k for k, _ in axes}
    idle = [k for k in RULE_KEYS if k in keys]
    if idle and detector != "rule" and "drift.detector" not in keys:
        raise BadInput(
            f"--grid {', '.join(idle)}: the rolling-error rule starts no retrain with the "
            f"{detector!r} drift detector (it retrains on model degraded): add "
            "--grid drift.detector=rule (or set STOCKY_DRIFT_DETECTOR=rule)"
        )
    policies = []
    for combo in itertools.product(*(values for _, values in axes)):
        named = [(key, raw, value) for (key, _), (raw, value) in zip(axes, combo, strict=True)]
        retrain = next((v for k, _r, v in named if k == "retrain"), "on-drift")
        overrides = tuple((GRID_KEYS[k][0], v) for k, _r, v in named if k != "retrain")
        name = " ".join(f"{k}={r}" for k, r, _v in named) or "default"
        policies.append(Policy(name, overrides, retrain))
    return policies


@dataclass(frozen=True)
class CellResult:
    """One (ticker, policy) replay's outcome; `error` set when it failed."""

    ticker: str
    policy: str
    retrain_mode: str
    sessions: int = 0
    labeled: int = 0
    rmse: float | None = None
    naive_rmse: float | None = None
    skill: float | None = None
    drift_alerts: int = 0
    retrains: int = 0
    promotions: int = 0
    rollbacks: int = 0
    compute_seconds: float = 0.0
    error: str | None = None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def cell_folder(root: Path, ticker: str, policy: Policy) -> Path:
    """The folder of one cell: <root>/cells/<ticker slug>/<short hash of the policy>."""
    return result_folder(root, ticker, policy.name, policy.retrain)


def result_folder(root: Path, ticker: str, policy: str, retrain: str) -> Path:
    """`cell_folder` from what a CellResult holds (its policy's name and retrain mode)."""
    import hashlib

    from stocky.core.tickers import ticker_slug

    digest = hashlib.sha256(f"{policy}|{retrain}".encode()).hexdigest()[:12]
    return root / "cells" / ticker_slug(ticker) / digest


def run_cell(
    ticker: str,
    policy: Policy,
    settings_json: str,
    root: str,
    start: dt.date,
    end: dt.date,
    backend: str = "memory",
    keep_state: bool = False,
    engine: str = "auto",
) -> CellResult:
    """Replay one cell (`pipelines.replay_run.run_replay`, what `stocky replay` runs) and
    write its result file last (atomically).

    A finished cell (its result file exists) is read back, not replayed again; a partial one
    (a crash, a lost worker) is wiped and replayed. Every cell writes its trace
    (`pipelines.study_trace`: labeled forecasts and decisions, for its drill-down page) and
    then its result file. On the `memory` backend nothing else is written unless `keep_state`
    (then the cell's SQLite and report); on `sql` the cell keeps its state folder (a database
    and an MLflow store).

    Raises:
        StockyError: The replay failed (no result file is written).
    """
    from stocky.config import Settings
    from stocky.pipelines.replay_run import run_replay
    from stocky.pipelines.study_trace import trace_writer
    from stocky.wiring import settings_with

    folder = cell_folder(Path(root), ticker, policy)
    done = folder / RESULT_FILE
    if done.exists():
        return CellResult(**json.loads(done.read_text()))
    state = folder / "state"
    if state.exists():
        shutil.rmtree(state)
    keeps = backend == "sql" or keep_state
    if keeps:
        state.mkdir(parents=True)
    else:
        folder.mkdir(parents=True, exist_ok=True)
    base = Settings.model_validate_json(settings_json)
    settings = settings_with(base, **dict(policy.overrides))
    # a replay never notifies anyone, whatever the live settings say
    settings = settings.model_copy(update={"alert_urls": None, "webhook_url": None})
    t0 = time.perf_counter()
    run = run_replay(
        settings,
        ticker=ticker,
        start=start,
        end=end,
        retrain_mode=policy.retrain,  # type: ignore[arg-type]
        backend=backend,  # type: ignore[arg-type]
        folder=state if keeps else None,
        keep_state=keep_state,
        report=keep_state,
        engine=engine,  # type: ignore[arg-type]
        # the drill-down page's trace, written before the result file marks the cell done
        after=trace_writer(folder, ticker),
    )
    s = run.summary
    result = CellResult(
        ticker=ticker,
        policy=policy.name,
        retrain_mode=policy.retrain,
        sessions=s.sessions,
        labeled=s.labeled,
        rmse=_finite(s.rmse),
        naive_rmse=_finite(s.naive_rmse),
        skill=_finite(s.skill),
        drift_alerts=s.drift_alerts,
        retrains=s.retrains,
        promotions=s.promotions,
        rollbacks=s.rollbacks,
        compute_seconds=round(time.perf_counter() - t0, 3),
    )
    tmp = folder / f".{RESULT_FILE}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(dataclasses.asdict(result), indent=2))
    os.replace(tmp, done)  # the cell counts as finished only once this lands
    return result


@dataclass(frozen=True)
class StudyRun:
    """Every cell's result (failed cells carry their error) and how many were skipped."""

    cells: list[CellResult]
    skipped: int
    ran: int


def run_study(
    *,
    executor: TickerExecutor,
    settings: Settings,
    tickers: Sequence[str],
    policies: Sequence[Policy],
    start: dt.date,
    end: dt.date,
    root: Path,
    on_cell: Callable[[CellResult], None] = lambda _c: None,
    backend: str = "memory",
    keep_state: bool = False,
    engine: str = "auto",
) -> StudyRun:
    """Run every unfinished (ticker x policy) cell on `executor`; read finished ones back.

    Args:
        executor: Where cells run (each cell is one task).
        settings: The base settings; each cell applies its policy and a private state folder.
        tickers: The tickers.
        policies: From `parse_grid`.
        start: First replayed session (the initial champion is trained up to it).
        end: Last replayed session.
        root: The study folder (shared by every worker: a local or network path).
        on_cell: Called with each cell's result as it finishes.
        backend: Where each cell's replay keeps its state: `memory` (default) or `sql`.
        keep_state: `memory`: export each cell's state (SQLite + report) into its folder.
        engine: How each replay is computed (`pipelines.replay.replay`): `auto` (segments
            when no state is kept), `segments` or `sessions`.

    Returns:
        The StudyRun, cells in (ticker, policy) order.

    Raises:
        BadInput: The period is empty.
    """
    if end <= start:
        raise BadInput(f"--end {end} is not after --start {start}: give a later end")
    cells = [(t, p) for t in tickers for p in policies]
    results: dict[tuple[str, str], CellResult] = {}
    pending: list[tuple[str, Policy]] = []
    for ticker, policy in cells:
        done = cell_folder(root, ticker, policy) / RESULT_FILE
        if done.exists():
            results[(ticker, policy.name)] = CellResult(**json.loads(done.read_text()))
        else:
            pending.append((ticker, policy))
    skipped = len(results)
    payload = settings_payload(settings)
    for outcome in executor.map(
        _cell_task, pending, payload, str(root), start, end, backend, keep_state, engine
    ):
        ticker, policy = outcome.item
        cell = (
            outcome.value
            if outcome.ok
            else CellResult(ticker, policy.name, policy.retrain, error=outcome.error)
        )
        results[(ticker, policy.name)] = cell
        on_cell(cell)
    ordered = [results[(t, p.name)] for t, p in cells]
    return StudyRun(ordered, skipped=skipped, ran=len(pending))


def _cell_task(
    cell: tuple[str, Policy],
    settings_json: str,
    root: str,
    start: dt.date,
    end: dt.date,
    backend: str = "memory",
    keep_state: bool = False,
    engine: str = "auto",
) -> CellResult:
    ticker, policy = cell
    return run_cell(ticker, policy, settings_json, root, start, end, backend, keep_state, engine)


def result_rows(cells: Iterable[CellResult]) -> list[dict[str, Any]]:
    """Plain dict rows of the cell results (for tables)."""
    return [dataclasses.asdict(c) for c in cells]
