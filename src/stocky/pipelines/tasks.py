"""Per-ticker tasks an executor runs in worker processes (`adapters.executor`).

Each task is a plain module-level function of picklable arguments: the ticker first, then the
Settings as JSON and the clock reading chosen by the caller (time is an argument, so a task
rerun after a lost worker does exactly the same work and publishing recognises it). Workers
build their Stack from the Settings (`wiring.worker_stack`, kept per process); replays get a
fresh Stack of their own state folder, closed at the end.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stocky.pipelines.fleet import TrainSummary
    from stocky.pipelines.retrain import RetrainResult

__all__ = ["retrain_task", "train_task"]


def train_task(
    ticker: str, settings_json: str, now: dt.datetime, end: dt.date | None = None
) -> TrainSummary:
    """Train one ticker on its prices up to `end` (pulled first when the store falls short)
    and publish it: `pipelines.fleet.train_one`, the one train task, for callers that only
    have a ticker.

    Raises:
        StockyError: Any step failed (the executor turns it into the Outcome's error).
    """
    from stocky.pipelines.fleet import TrainOptions, TrainTask, train_one
    from stocky.runtime import git_commit

    options = TrainOptions(now=now, end=end, git_commit=git_commit())
    return train_one(TrainTask(ticker), settings_json, options)


def retrain_task(
    ticker: str,
    settings_json: str,
    as_of: dt.date,
    now: dt.datetime,
    triggered_by: str,
    force: bool = False,
) -> RetrainResult:
    """Retrain one ticker as of `as_of` (prices pulled first when the store falls short).

    Raises:
        StockyError: Any step failed.
    """
    from stocky.pipelines.data import load_or_pull
    from stocky.pipelines.retrain import retrain_ticker
    from stocky.runtime import git_commit
    from stocky.wiring import worker_stack

    stack = worker_stack(settings_json)
    frame = load_or_pull(source=stack.source, repo=stack.prices, ticker=ticker, end=as_of, now=now)
    return retrain_ticker(
        ticker=ticker,
        prices=frame,
        registry=stack.registry,
        audit=stack.audit,
        config=stack.retrain,
        as_of=as_of,
        now=now,
        triggered_by=triggered_by,
        force=force,
        git_commit=git_commit(),
        # as in the daily loop: a degraded champion that nothing beats gives way to naive
        fallback_to_naive=triggered_by == "drift" and stack.settings.drift_detector == "assessment",
    )
