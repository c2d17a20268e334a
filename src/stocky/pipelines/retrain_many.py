"""Retrain many tickers on an executor, and the daily job over many tickers.

Each retrain is a task (`pipelines.tasks.retrain_task`) on a local process pool or a Dask
cluster; workers receive Settings, never live objects. Outcomes come back per ticker, so one
ticker's failure is reported and never stops the rest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stocky.config import settings_payload
from stocky.core.words import count
from stocky.errors import StockyError
from stocky.pipelines.daily import DailyDeps, RetrainMode, TickerDay, retrain_trigger
from stocky.pipelines.daily_fleet import forecast_fleet, run_daily_fleet
from stocky.pipelines.tasks import retrain_task

if TYPE_CHECKING:
    from stocky.adapters.executor import Outcome, TickerExecutor
    from stocky.config import Settings
    from stocky.pipelines.retrain import RetrainResult
    from stocky.wiring import Stack

__all__ = ["DailyOutcome", "retrain_in_process", "retrain_many", "run_daily_many"]

log = logging.getLogger(__name__)


def retrain_many(
    *,
    executor: TickerExecutor,
    settings: Settings,
    triggers: Mapping[str, str],
    as_of: dt.date,
    now: dt.datetime,
    force: bool = False,
    task: Callable[..., RetrainResult] = retrain_task,
) -> dict[str, Outcome]:
    """Retrain every ticker of `triggers` as of `as_of`, one task each, on `executor`.

    Args:
        executor: Where the tasks run.
        settings: Shipped to the workers (as JSON); their retrain config and stores are used.
        triggers: Ticker -> why it retrains (recorded as `triggered_by`).
        as_of: The last session whose close may be used.
        now: The clock reading recorded on every decision.
        force: Promote even when the policy rejects.
        task: The per-ticker task (tests pass one bound to in-memory fakes).

    Returns:
        Ticker -> Outcome (its value a RetrainResult, or the error), in `triggers` order.
    """
    if not triggers:
        return {}
    if len(triggers) == 1 and executor.name == "local":
        # one retrain: a worker process would only add its start-up (imports) to the wait
        from stocky.adapters.executor import InlineExecutor

        executor = InlineExecutor()
    payload = settings_payload(settings)
    done: dict[str, Outcome] = {}
    for reason, tickers in _by_reason(triggers).items():
        for outcome in executor.map(task, tickers, payload, as_of, now, reason, force):
            done[outcome.item] = outcome
    return {t: done[t] for t in triggers}


def retrain_in_process(
    stack: Stack, deps: DailyDeps, *, replay: bool = False
) -> Callable[..., RetrainResult]:
    """A retrain task for `run_daily_many` bound to `stack`'s own stores, run in this process.

    `retrain_task` rebuilds a Stack from Settings in a worker; a stack in memory (a replay, a
    study cell, a test) cannot be rebuilt, so its retrains run here, on it, with the champion
    `deps` holds. `replay`: the decisions and alerts are marked as a replay's, and a scheduled
    retrain is recorded as triggered by `replay`.
    """
    from stocky.pipelines.retrain import retrain_ticker

    def task(
        ticker: str, _settings_json: str, as_of: dt.date, now: dt.datetime, why: str, force: bool
    ) -> RetrainResult:
        return retrain_ticker(
            ticker=ticker,
            prices=stack.prices.load(ticker, end=as_of),
            registry=stack.registry,
            audit=stack.audit,
            config=stack.retrain,
            as_of=as_of,
            now=now,
            triggered_by="replay" if replay and why == "schedule" else why,
            force=force,
            champion=deps.champions.get(ticker),
            # as in `retrain_task`: a degraded champion that nothing beats gives way to naive
            fallback_to_naive=why == "drift" and deps.detector == "assessment",
            replay=replay,
        )

    return task


def _by_reason(triggers: Mapping[str, str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for ticker, reason in triggers.items():
        groups.setdefault(reason, []).append(ticker)
    return groups


@dataclass(frozen=True)
class DailyOutcome:
    """One ticker's daily run, or why it failed."""

    ticker: str
    day: TickerDay | None
    error: str | None = None
    exit_code: int = 0


def run_daily_many(
    deps: DailyDeps,
    *,
    executor: TickerExecutor,
    settings: Settings,
    tickers: list[str],
    as_of: dt.date,
    now: dt.datetime,
    retrain_mode: RetrainMode,
    forecast: bool,
    progress: Callable[[str], None] = lambda _m: None,
    task: Callable[..., RetrainResult] = retrain_task,
    pull: bool = True,
    forecast_source: str = "daily",
) -> list[DailyOutcome]:
    """The daily job for many tickers: pull, actuals and drift for all tickers at once here
    (`pipelines/daily_fleet.py`); the retrains that are due as tasks on `executor`; then every
    champion's forecast, written together.

    Args:
        deps: This process's collaborators.
        executor: Where retrains run.
        settings: Shipped to retrain workers.
        tickers: The tickers, in report order.
        as_of: The session.
        now: The clock reading.
        retrain_mode: on-drift, always, monthly or never.
        forecast: Log each champion's forecast for the next session.
        progress: Called with a short message per step.
        task: The per-ticker retrain task (see `retrain_many`).
        pull: Fetch missing prices from the source first (a replay has them all stored).
        forecast_source: Source label of the forecasts logged (`daily`, `replay`).

    Returns:
        One DailyOutcome per ticker, in `tickers` order.
    """
    fleet = run_daily_fleet(
        deps, tickers=tickers, as_of=as_of, now=now, pull=pull, progress=progress
    )
    days: dict[str, TickerDay] = fleet.days
    failed = {
        sym: DailyOutcome(sym, None, str(exc), exc.exit_code) for sym, exc in fleet.failed.items()
    }
    triggers = {
        sym: reason
        for sym, day in days.items()
        if (
            reason := retrain_trigger(
                retrain_mode, drifted=day.drift.drifted, as_of=as_of, calendar=deps.calendar
            )
        )
    }
    # a rerun of the session (after a kill, or by hand) retrains nothing already decided: a
    # second retrain would register and maybe promote again (v2 -> v3 -> v4 in one session)
    decided = deps.audit.decided_on(list(triggers), as_of=as_of) if triggers else set()
    if decided:
        progress(f"{count(len(decided), 'ticker')} already retrained for {as_of}: not again")
        triggers = {sym: reason for sym, reason in triggers.items() if sym not in decided}
    if triggers:
        progress(f"retraining {count(len(triggers), 'ticker')} on the {executor.name} executor")
    for sym, outcome in retrain_many(
        executor=executor, settings=settings, triggers=triggers, as_of=as_of, now=now, task=task
    ).items():
        if not outcome.ok:
            failed[sym] = DailyOutcome(sym, days.pop(sym), outcome.error, outcome.exit_code)
            continue
        days[sym] = dataclasses.replace(days[sym], retrain=outcome.value)
        deps.champions.pop(sym, None)  # a promotion happened in another process
        deps.no_champion.discard(sym)
    if forecast:
        progress(f"forecasting the next session for {count(len(days), 'ticker')}")
        done = forecast_fleet(
            deps, tickers=list(days), as_of=as_of, now=now, source=forecast_source
        )
        logged: dict[str, tuple[int | None, dt.date | None] | StockyError] = {
            **done.logged,
            **done.failed,
        }
        for sym, result in logged.items():
            if isinstance(result, StockyError):
                failed[sym] = DailyOutcome(sym, days.pop(sym), str(result), result.exit_code)
                continue
            forecast_id, target = result
            days[sym] = dataclasses.replace(
                days[sym], forecast_id=forecast_id, forecast_target=target
            )
    return [failed.get(sym) or DailyOutcome(sym, days[sym]) for sym in tickers]
