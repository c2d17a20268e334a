"""One replay on a backend, start to end: the function `stocky replay` (one ticker or many) and
every `stocky study` cell run, so a cell and a replay of the same ticker, dates and policy
report the same retrains, promotions and RMSE.

- `sql`: a state folder of its own (SQLite and an MLflow store, `wiring.replay_settings`),
  kept; its report written there when asked.
- `memory`: the in-memory backend (`wiring.memory_stack`): no database and no MLflow store
  per replay; with `keep_state` the state is exported to the folder (SQLite + report,
  `pipelines.replay_state.export_state`), else nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from stocky.errors import BadInput
from stocky.pipelines.replay import Engine, ReplaySummary, replay

if TYPE_CHECKING:
    from stocky.config import Settings
    from stocky.pipelines.daily import RetrainMode
    from stocky.wiring import Stack

__all__ = ["BACKENDS", "Backend", "ReplayRun", "replay_task", "run_replay"]

Backend = Literal["memory", "sql"]
BACKENDS: tuple[str, ...] = ("memory", "sql")


@dataclass(frozen=True)
class ReplayRun:
    """A finished replay: its summary, and where its state and report went (None: not kept)."""

    summary: ReplaySummary
    state: Path | None
    report: Path | None


def run_replay(
    settings: Settings,
    *,
    ticker: str,
    start: dt.date,
    end: dt.date,
    retrain_mode: RetrainMode,
    backend: Backend,
    folder: Path | None,
    keep_state: bool = False,
    report: bool = False,
    now: dt.datetime | None = None,
    progress: Callable[[int, int, str], None] = lambda _i, _n, _m: None,
    after: Callable[[Stack, ReplaySummary], None] = lambda _s, _r: None,
    engine: Engine = "auto",
) -> ReplayRun:
    """Replay `ticker` on `backend` with `settings` (the live ones plus a policy's overrides).

    Args:
        settings: The settings; their stores are never used (a replay has its own).
        ticker: The ticker (normalised).
        start: First session (the initial champion is trained up to it).
        end: Last session.
        retrain_mode: on-drift, always, monthly or never.
        backend: `memory` or `sql`.
        folder: The replay's state folder: required with `sql` (its database and MLflow
            store), and with `memory` when `keep_state` (the export); it should be empty.
        keep_state: `memory`: export the state into `folder` (SQLite and the report).
        report: Write the HTML report into `folder`/report (`sql`, or `memory` with
            `keep_state`).
        now: The report's time (default: the clock).
        progress: Called with (session index, total, message).
        after: Called with the stack and summary before the stack closes (alert delivery).
        engine: `sessions` (the daily path session by session, every drift check stored),
            `segments` (`pipelines.replay_segments`: the same forecasts, decisions and
            alerts, checks stored where one matters) or `auto`: segments when no state is
            kept (memory without `keep_state`), else sessions.

    Returns:
        The ReplayRun.

    Raises:
        BadInput: An unknown backend, a missing folder, or a bad period.
    """
    from stocky.wiring import build_stack, memory_stack, replay_settings

    if backend not in BACKENDS:
        raise BadInput(f"--backend {backend!r}: use one of {', '.join(BACKENDS)}")
    clock = now or dt.datetime.now(dt.UTC)
    kept = backend == "sql" or keep_state
    chosen: Engine = engine if engine != "auto" else ("sessions" if kept else "auto")
    if backend == "sql":
        if folder is None:
            raise BadInput("a replay on the sql backend needs a state folder: pass one")
        with build_stack(replay_settings(settings, folder)) as stack:
            summary = replay(
                stack=stack,
                ticker=ticker,
                start=start,
                end=end,
                retrain_mode=retrain_mode,
                progress=progress,
                engine=chosen,
            )
            page = None
            if report:
                from stocky.pipelines.fleet_view import report_for_stack
                from stocky.report.write import write_report

                # staleness as of the replay's last session, not today's clock
                built = report_for_stack(stack, tickers=[ticker], now=clock, due=summary.end)
                page = write_report(built, folder / "report")
            after(stack, summary)
        return ReplayRun(summary, folder, page)
    if keep_state and folder is None:
        raise BadInput("--keep-state needs a folder to export the replay's state into")
    with memory_stack(settings) as stack:
        summary = replay(
            stack=stack,
            ticker=ticker,
            start=start,
            end=end,
            retrain_mode=retrain_mode,
            progress=progress,
            engine=chosen,
        )
        after(stack, summary)
        if not keep_state or folder is None:
            return ReplayRun(summary, None, None)
        from stocky.pipelines.replay_state import export_state

        written = export_state(
            stack, tickers=[ticker], folder=folder, now=clock, due=summary.end, report=report
        )
    return ReplayRun(summary, folder, written if report else None)


def replay_task(
    ticker: str,
    settings_json: str,
    start: dt.date,
    end: dt.date,
    retrain_mode: RetrainMode = "on-drift",
    backend: str = "sql",
    folder: str | None = None,
    keep_state: bool = False,
    report: bool = False,
    engine: str = "auto",
) -> ReplaySummary:
    """Replay one ticker (`pipelines.replay_run.run_replay`): on `sql` in `folder` (default
    the Settings' home), on `memory` exporting to `folder` only with `keep_state`.

    Raises:
        StockyError: Any step failed.
    """
    from pathlib import Path

    from stocky.config import Settings

    settings = Settings.model_validate_json(settings_json)
    where = Path(folder) if folder else settings.home
    return run_replay(
        settings,
        ticker=ticker,
        start=start,
        end=end,
        retrain_mode=retrain_mode,
        backend=backend,  # type: ignore[arg-type]
        folder=where,
        keep_state=keep_state,
        report=report,
        engine=engine,  # type: ignore[arg-type]
    ).summary
