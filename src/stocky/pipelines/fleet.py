"""Train a universe of tickers on an executor: one task per ticker, failures isolated.

The task (`train_one`) is a module-level function of picklable arguments: a TrainTask, the
Settings as JSON and the TrainOptions. A worker process builds its Stack from the Settings once
(`wiring.worker_stack`) and keeps it for its next tickers; everything a ticker needs (prices,
fitting, the chart, the MLflow run, the registry writes) happens in the worker. What comes back
is a small TrainSummary, or the failure's text: one ticker failing never stops the others.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import pandas as pd

from stocky.adapters.executor import InlineExecutor, Outcome, TickerExecutor
from stocky.adapters.ports import PriceStore, Registry
from stocky.config import settings_payload
from stocky.core.metrics import Scores
from stocky.errors import BadInput, DataUnavailable, StockyError
from stocky.pipelines.data import load_or_pull
from stocky.pipelines.global_models import (
    fit_global_models,
    global_families,
    load_global_models,
    save_global_models,
)
from stocky.pipelines.train import MIN_VALIDATION, TrainConfig, train_ticker

if TYPE_CHECKING:
    from stocky.wiring import Stack

__all__ = [
    "PARTIAL_EXIT",
    "FleetResult",
    "TrainFailure",
    "TrainOptions",
    "TrainSummary",
    "TrainTask",
    "missing_champions",
    "stored_tasks",
    "split_test_size",
    "train_fleet",
    "train_in_stack",
    "train_one",
]

log = logging.getLogger(__name__)

#: Exit code of a fleet run where some tickers trained and some failed.
PARTIAL_EXIT = 12


@dataclass(frozen=True)
class TrainTask:
    """One ticker to train; `stored_source` names the stored rows' source (no pull)."""

    ticker: str
    stored_source: str | None = None


@dataclass(frozen=True)
class TrainOptions:
    """What every ticker of a fleet run shares.

    Attributes:
        now: The clock reading recorded as the training (and fetch) time of the run.
        split_date: Test on the sessions after this date instead of the configured test size.
        pull: Bring stored prices up to date from the source first; False trains on what the
            database holds and never calls the source.
        git_commit: Code version recorded with every run.
        end: Last session used when pulling (None: the latest the source has).
    """

    now: dt.datetime
    split_date: dt.date | None = None
    pull: bool = True
    git_commit: str | None = None
    #: Last session to train on when pulling (None: the latest the source has).
    end: dt.date | None = None
    #: The global families' fits for this universe (`pipelines.global_models`), if any.
    globals_path: str | None = None


@dataclass(frozen=True)
class TrainSummary:
    """What training one ticker produced (small and picklable: it crosses processes)."""

    ticker: str
    source: str
    run_id: str
    version: int
    alias: str
    #: The family and the model's short label ("ARIMA(0,1,1)", "ETS(A,N,N)", "Naive").
    model_type: str
    model: str
    scores: Scores
    order_reason: str
    warnings: tuple[str, ...]
    seconds: float


@dataclass(frozen=True)
class TrainFailure:
    """A ticker that did not train, why, and the exit code its error maps to."""

    ticker: str
    error: str
    exit_code: int


@dataclass(frozen=True)
class FleetResult:
    """Every ticker of a fleet run: trained, failed or skipped, each sorted by ticker."""

    trained: tuple[TrainSummary, ...]
    failed: tuple[TrainFailure, ...]
    skipped: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 when nothing failed; PARTIAL_EXIT when some tickers trained and some failed;
        the first failed ticker's own code when every attempted ticker failed."""
        if not self.failed:
            return 0
        return PARTIAL_EXIT if self.trained else self.failed[0].exit_code


def split_test_size(frame: pd.DataFrame, split_date: dt.date) -> int:
    """Sessions in `frame` after `split_date`: the test size that --split-date means.

    Raises:
        BadInput: Fewer than 20 sessions fall after the date.
    """
    size = int((pd.to_datetime(frame["date"]) > pd.Timestamp(split_date)).sum())
    if size < 20:
        raise BadInput(
            f"only {size} sessions after --split-date {split_date}: choose an earlier date "
            "(need 20+)"
        )
    return size


def train_in_stack(stack: Stack, *, task: TrainTask, options: TrainOptions) -> TrainSummary:
    """Load (or pull) one ticker's prices, train, evaluate and publish it with `stack`.

    Args:
        stack: The collaborators of this process.
        task: The ticker, and the source of its stored rows when not pulling.
        options: Clock reading, split and pull policy shared by the run.

    Returns:
        The TrainSummary of the registered version.

    Raises:
        DataUnavailable: No prices (stored, or from the source when pulling).
        BadInput: Too little data for the configuration or the split date.
        RegistryError: MLflow failed.
    """
    started = time.perf_counter()
    ticker = task.ticker
    if options.pull:
        source = stack.source
        frame = load_or_pull(
            source=source, repo=stack.prices, ticker=ticker, end=options.end, now=options.now
        )
        source_name = source.name
    else:
        frame = stack.prices.load(ticker)
        if frame.empty:
            raise DataUnavailable(
                f"no stored prices for {ticker}: run `stocky data pull --ticker {ticker}` "
                "or train without --no-pull"
            )
        source_name = task.stored_source or "store"
    config: TrainConfig = stack.train
    if options.split_date is not None:
        config = replace(config, test_size=split_test_size(frame, options.split_date))
    result = train_ticker(
        ticker=ticker,
        prices=frame,
        source=source_name,
        registry=stack.registry,
        config=config,
        now=options.now,
        git_commit=options.git_commit,
        audit=stack.audit,  # a first champion reaches running servers through this log
        leaderboard=stack.leaderboard,  # every candidate vs naive, readable right away
        calendar=stack.calendar,  # a row dated on a Saturday is dropped, with a warning
        global_models=load_global_models(options.globals_path) if options.globals_path else None,
    )
    return TrainSummary(
        ticker=ticker,
        source=source_name,
        run_id=result.run_id,
        version=result.version.version,
        alias=result.alias,
        model_type=result.spec.model_type,
        model=result.spec.label,
        scores=result.scores,
        order_reason=result.order_reason,
        warnings=result.warnings,
        seconds=time.perf_counter() - started,
    )


def train_one(task: TrainTask, settings_json: str, options: TrainOptions) -> TrainSummary:
    """The per-ticker task an executor runs: this process's Stack, then `train_in_stack`."""
    from stocky.wiring import worker_stack

    return train_in_stack(worker_stack(settings_json), task=task, options=options)


def missing_champions(registry: Registry, tickers: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split tickers into (to train, skipped) by whether a champion exists.

    One registry listing for the whole universe, not one call per ticker.
    """
    have = registry.alias_map("champion")
    todo: list[str] = []
    skipped: list[str] = []
    for ticker in tickers:
        (skipped if ticker in have else todo).append(ticker)
    return todo, skipped


def train_fleet(
    *,
    stack: Stack,
    tasks: Sequence[TrainTask],
    options: TrainOptions,
    executor: TickerExecutor,
    on_outcome: Callable[[Outcome], None] = lambda _o: None,
    skipped: Sequence[str] = (),
) -> FleetResult:
    """Train every task on `executor` and collect what happened to each ticker.

    Inline, the tasks use `stack` itself; worker processes build their own from its Settings.

    Args:
        stack: This process's collaborators (its Settings are shipped to workers).
        tasks: The tickers to train.
        options: Shared by every ticker.
        executor: Where the tasks run.
        on_outcome: Called as each ticker finishes (progress, live failure lines).
        skipped: Tickers left out before the run (reported as skipped).

    Returns:
        The FleetResult; its `exit_code` says ok, partial or failed.
    """
    tasks, options = _with_global_models(stack, tasks, options)
    if isinstance(executor, InlineExecutor):
        outcomes = executor.map(functools.partial(_inline_task, stack), tasks, options)
    else:
        outcomes = executor.map(train_one, tasks, settings_payload(stack.settings), options)
    trained: list[TrainSummary] = []
    failed: list[TrainFailure] = []
    for outcome in outcomes:
        if outcome.ok:
            trained.append(outcome.value)
        else:
            failed.append(TrainFailure(outcome.item.ticker, str(outcome.error), outcome.exit_code))
        on_outcome(outcome)
    return FleetResult(
        trained=tuple(sorted(trained, key=lambda s: s.ticker)),
        failed=tuple(sorted(failed, key=lambda f: f.ticker)),
        skipped=tuple(sorted(skipped)),
    )


def _with_global_models(
    stack: Stack, tasks: Sequence[TrainTask], options: TrainOptions
) -> tuple[Sequence[TrainTask], TrainOptions]:
    """Fit the configured global families once on the universe of `tasks` (if any).

    Their prices are brought up to date here first (when pulling), so the tasks then train on
    stored prices; the fits go to one file under ``<home>/globals`` that every worker reads.
    """
    config: TrainConfig = stack.train
    if config.order != "auto" or not global_families(config.families) or not tasks:
        return tasks, options
    if options.pull:
        for task in tasks:
            try:
                load_or_pull(
                    source=stack.source,
                    repo=stack.prices,
                    ticker=task.ticker,
                    end=options.end,
                    now=options.now,
                )
            except StockyError as exc:  # that ticker fails in its own task, with this reason
                log.warning("%s: no prices for the global fit (%s)", task.ticker, exc)
        stored = {s.ticker: s.source for s in stack.prices.summary()}
        tasks = [TrainTask(t.ticker, stored.get(t.ticker, stack.source.name)) for t in tasks]
        options = replace(options, pull=False)
    frames = stack.prices.load_many([t.ticker for t in tasks])
    closes = {t: f["close"].to_numpy(dtype=float) for t, f in frames.items() if not f.empty}
    if not closes:  # nothing to fit on: each ticker fails in its own task, with its reason
        return tasks, options
    sizes = {
        t: split_test_size(frames[t], options.split_date)
        if options.split_date is not None
        else config.test_size
        for t in closes
    }
    try:
        params = fit_global_models(
            closes,
            families=config.families,
            test_sizes=sizes,
            validation_size=config.validation_size,
            train_window=config.train_window,
            min_train_size=config.min_train_size,
            min_validation=MIN_VALIDATION,
        )
    except StockyError as exc:  # too little history, or the library cannot load: per ticker
        log.warning("global families fitted per ticker: %s", exc)
        return tasks, options
    path = save_global_models(params, (stack.settings.home / "globals").resolve())
    log.info("fitted %s on %d tickers: %s", ", ".join(params), len(closes), path.name)
    return tasks, replace(options, globals_path=str(path))


def _inline_task(stack: Stack, task: TrainTask, options: TrainOptions) -> TrainSummary:
    return train_in_stack(stack, task=task, options=options)


def stored_tasks(prices: PriceStore, tickers: Sequence[str] | None) -> list[TrainTask]:
    """Tasks for training on stored prices: every stored ticker (None) or the given ones,
    each labelled with its stored rows' source (one summary query)."""
    stored = {s.ticker: s.source for s in prices.summary()}
    wanted = sorted(stored) if tickers is None else list(tickers)
    return [TrainTask(t, stored.get(t)) for t in wanted]
