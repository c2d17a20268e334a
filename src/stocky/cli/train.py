"""`stocky train`: fit, walk forward against naive, log to MLflow, register; one ticker or a
universe, in worker processes."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from stocky.cli._common import handle_errors, open_stack
from stocky.core.words import count
from stocky.errors import BadInput

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from stocky.adapters.executor import ExecutorKind
    from stocky.pipelines.fleet import FleetResult, TrainSummary, TrainTask
    from stocky.wiring import Stack


__all__ = ["train"]

#: Tickers whose order-choice reasons and warnings are printed one line each; above this the
#: lines are counted (they are in every run's params and metrics.json).
_DETAIL_LINES = 20
#: The per-ticker table is printed for this many trained tickers or fewer (or with --table);
#: the totals always are.
TABLE_TICKERS = 20
#: The DM p-value below which a model "significantly" beats naive in the totals.
DM_ALPHA = 0.05


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return "-" if value is None else format(value, spec)


@handle_errors
def train(
    ticker: Annotated[
        list[str] | None,
        typer.Option(
            "--ticker", "-t", help="Ticker to train (repeatable). Default: STOCKY_DEFAULT_TICKER."
        ),
    ] = None,
    all_tickers: Annotated[
        bool,
        typer.Option(
            "--all",
            help="Train every ticker the price source lists (with --no-pull: every stored one).",
        ),
    ] = False,
    order: Annotated[
        str | None,
        typer.Option(
            help="'auto' (the families compete, naive kept unless one beats it significantly) "
            "or an ARIMA order 'p,d,q' (the seed used 0,1,0)."
        ),
    ] = None,
    families: Annotated[
        str | None,
        typer.Option(
            help="Comma list of model families that compete (default STOCKY_FAMILIES; "
            "`stocky families` lists them; naive always competes)."
        ),
    ] = None,
    split_date: Annotated[
        str | None,
        typer.Option(help="Test on sessions after this date (YYYY-MM-DD) instead of --test-size."),
    ] = None,
    test_size: Annotated[
        int | None, typer.Option(help="Walk-forward test sessions (default STOCKY_TEST_SIZE).")
    ] = None,
    refit_every: Annotated[
        int | None, typer.Option(help="Refit every K test sessions; 0 keeps parameters fixed.")
    ] = None,
    train_window: Annotated[
        int | None, typer.Option(help="Sessions to fit on; 0 means all history.")
    ] = None,
    if_missing: Annotated[
        bool,
        typer.Option(
            "--if-missing",
            help="Skip tickers that already have a champion (resumes an interrupted run).",
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            help="Worker processes (default STOCKY_JOBS, else the CPU count); 1 trains here, "
            "one ticker after another.",
        ),
    ] = None,
    executor: Annotated[
        str | None,
        typer.Option(
            help="local (process pool on this machine) or dask (STOCKY_DASK_ADDRESS, or a "
            "LocalCluster). Default STOCKY_EXECUTOR."
        ),
    ] = None,
    pull: Annotated[
        bool,
        typer.Option(
            "--pull/--no-pull",
            help="Bring stored prices up to date from the source first (default), or train "
            "on the stored prices only.",
        ),
    ] = True,
    table: Annotated[
        bool,
        typer.Option(
            "--table",
            help=f"Print the per-ticker table whatever the number of tickers (it is printed "
            f"for {TABLE_TICKERS} or fewer; the totals always are).",
        ),
    ] = False,
) -> None:
    """Train a model per ticker (the families compete), compare it with the naive random walk, and register it in MLflow.

    Exit codes: 0 every ticker trained (or was skipped); 12 some trained and some failed
    (the summary lists each failure and why); when every ticker failed, the first one's code.
    """
    if split_date is not None and test_size is not None:
        raise BadInput("--split-date and --test-size both given: use one of them")
    if jobs is not None and jobs < 1:
        raise BadInput(f"--jobs {jobs}: give 1 or more worker processes")
    cut = _parse_split_date(split_date)
    kind = _executor_kind(executor)
    with open_stack(
        order=order,
        families=families,
        test_size=test_size,
        train_window=train_window,
        refit_every=refit_every,
    ) as stack:
        result = _train(
            stack,
            ticker=ticker,
            all_tickers=all_tickers,
            split_date=cut,
            if_missing=if_missing,
            jobs=jobs,
            kind=kind,
            pull=pull,
            table=table,
        )
    if result.exit_code:
        raise typer.Exit(code=result.exit_code)


def _parse_split_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"--split-date {text!r} is not YYYY-MM-DD: write e.g. 2018-01-02") from exc


def _executor_kind(text: str | None) -> ExecutorKind | None:
    if text is None:
        return None
    if text not in ("local", "dask"):
        raise BadInput(f"--executor {text!r}: use local or dask")
    return "local" if text == "local" else "dask"


def _tasks(
    stack: Stack, *, ticker: list[str] | None, all_tickers: bool, pull: bool
) -> list[TrainTask]:
    from stocky.core.tickers import normalize_tickers
    from stocky.pipelines.fleet import TrainTask, stored_tasks

    chosen = None if all_tickers else normalize_tickers(ticker or [stack.settings.default_ticker])
    if not pull:
        tasks = stored_tasks(stack.prices, chosen)
        if not tasks:
            raise BadInput(
                "no prices are stored: run `stocky data pull` or train without --no-pull"
            )
        return tasks
    if chosen is None:
        source = stack.source
        chosen = source.tickers()
        if not chosen:
            raise BadInput(
                f"source {source.name!r} cannot list tickers: pass --ticker instead of --all"
            )
    return [TrainTask(t) for t in chosen]


def _train(
    stack: Stack,
    *,
    ticker: list[str] | None,
    all_tickers: bool,
    split_date: date | None,
    if_missing: bool,
    jobs: int | None,
    kind: ExecutorKind | None,
    pull: bool,
    table: bool = False,
) -> FleetResult:
    from stocky.adapters.executor import Outcome
    from stocky.adapters.prices import rejected_by
    from stocky.pipelines.fleet import (
        FleetResult,
        TrainFailure,
        TrainOptions,
        missing_champions,
        train_fleet,
    )
    from stocky.runtime import git_commit
    from stocky.wiring import make_executor

    console = Console(width=None if sys.stdout.isatty() else 110)
    tasks = _tasks(stack, ticker=ticker, all_tickers=all_tickers, pull=pull)
    skipped: list[str] = []
    if if_missing:
        todo, skipped = missing_champions(stack.registry, [t.ticker for t in tasks])
        keep = set(todo)
        tasks = [t for t in tasks if t.ticker in keep]
        if skipped:
            console.print(
                f"a champion exists, skipped (--if-missing): {_names(skipped)}", highlight=False
            )
    # rows of the file that belong to no ticker (`A/B`) fail on their own, the rest train
    rejected = tuple(
        TrainFailure(name, str(exc), exc.exit_code)
        for name, exc in (rejected_by(stack.source).items() if all_tickers and pull else ())
    )
    if not tasks:
        for f in rejected:
            print(f"error: {f.ticker}: {f.error}", file=sys.stderr)
        return FleetResult(trained=(), failed=rejected, skipped=tuple(skipped))
    _prepare_registry(stack)
    wanted = jobs if jobs is not None else (stack.settings.jobs or os.cpu_count() or 1)
    executor = make_executor(stack.settings, kind=kind, jobs=max(1, min(wanted, len(tasks))))
    options = TrainOptions(
        now=datetime.now(UTC), split_date=split_date, pull=pull, git_commit=git_commit()
    )
    started = time.perf_counter()
    try:
        with _progress(console) as bar:
            task_id = bar.add_task(
                f"training ({executor.name}, {count(executor.workers, 'worker')})"
            )
            bar.update(task_id, total=len(tasks))

            def advance(outcome: Outcome) -> None:
                if not outcome.ok:
                    bar.console.print(
                        f"[red]failed[/red] {outcome.item.ticker}: {outcome.error}",
                        highlight=False,
                    )
                bar.advance(task_id)

            result = train_fleet(
                stack=stack,
                tasks=tasks,
                options=options,
                executor=executor,
                on_outcome=advance,
                skipped=skipped,
            )
    finally:
        executor.close()
    if rejected:
        result = dataclasses.replace(result, failed=rejected + result.failed)
    _report(
        console,
        result,
        seconds=time.perf_counter() - started,
        workers=executor.workers,
        table=table or len(result.trained) <= TABLE_TICKERS,
    )
    return result


#: A run still RUNNING this long after it started belongs to a killed process (logging one
#: takes seconds): the next train ends it as KILLED.
STALE_RUN = timedelta(minutes=30)


def _prepare_registry(stack: Stack) -> None:
    """Create the MLflow tables and experiment here, once: workers starting together would
    race to create them (the loser's first ticker would fail). End the runs a killed train
    left RUNNING."""
    experiment_id = getattr(stack.registry, "experiment_id", None)
    if callable(experiment_id):
        experiment_id()
    end_stale_runs = getattr(stack.registry, "end_stale_runs", None)
    if callable(end_stale_runs):
        ended = end_stale_runs(now=datetime.now(UTC), older_than=STALE_RUN)
        if ended:
            log.warning(
                "ended %s MLflow run(s) left RUNNING by a killed train as KILLED", len(ended)
            )


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
    )


def _names(tickers: list[str], limit: int = 10) -> str:
    shown = ", ".join(tickers[:limit])
    return shown + (f" and {len(tickers) - limit} more" if len(tickers) > limit else "")


def _report(
    console: Console, result: FleetResult, *, seconds: float, workers: int, table: bool = True
) -> None:
    if result.trained and table:
        console.print(_summary(result.trained))
    detailed = result.trained[:_DETAIL_LINES] if table else ()
    for r in detailed:
        console.print(f"{r.ticker} ({r.source} prices): {r.order_reason}", highlight=False)
        for w in r.warnings:
            console.print(f"[yellow]warning[/yellow] {r.ticker}: {w}", highlight=False)
    rest = result.trained[len(detailed) :]
    if rest:
        warned = sum(1 for r in rest if r.warnings)
        console.print(
            f"... {count(len(rest), 'more ticker')}, {warned} with data warnings: see each "
            "run's params and metrics.json in MLflow"
            + ("" if table else "; --table prints the per-ticker table"),
            highlight=False,
        )
    if result.trained:
        for line in totals(result.trained):
            console.print(line, highlight=False)
    if result.failed:
        failed = Table(title=f"{count(len(result.failed), 'ticker')} failed")
        failed.add_column("ticker", no_wrap=True)
        failed.add_column("exit", justify="right")
        failed.add_column("reason")
        for f in result.failed:
            failed.add_row(f.ticker, str(f.exit_code), f.error)
        console.print(failed)
    attempted = len(result.trained) + len(result.failed)
    per = f", {seconds / attempted:.3f} s per ticker" if attempted else ""
    console.print(
        f"trained {len(result.trained)}, failed {len(result.failed)}, skipped "
        f"{len(result.skipped)} in {seconds:.1f} s{per} ({count(workers, 'worker')})",
        highlight=False,
    )
    for f in result.failed:
        print(f"error: {f.ticker}: {f.error}", file=sys.stderr)


def totals(results: tuple[TrainSummary, ...]) -> list[str]:
    """The fleet's walk-forward totals against naive: how many beat it (and significantly),
    the median skill and its spread, and the model families chosen."""
    skills = sorted(s for r in results if (s := r.scores.skill) is not None)
    better = [r for r in results if (r.scores.skill or 0.0) > 0]
    significant = [
        r for r in better if r.scores.dm_pvalue is not None and r.scores.dm_pvalue < DM_ALPHA
    ]
    lines = [
        f"walk-forward vs naive over {count(len(results), 'ticker')}: {len(better)} beat naive "
        f"({len(significant)} significantly, DM p < {DM_ALPHA:g}), "
        f"{len(results) - len(better)} do not"
    ]
    if skills:
        lines.append(
            f"skill vs naive: median {_median(skills):+.2%} (min {skills[0]:+.2%}, max "
            f"{skills[-1]:+.2%})"
        )
    families = Counter(r.model_type for r in results)
    chosen = ", ".join(f"{name} {n}" for name, n in sorted(families.items(), key=_by_count))
    lines.append(f"models chosen: {chosen}")
    return lines


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def _median(values: list[float]) -> float:
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def _summary(results: tuple[TrainSummary, ...]) -> Table:
    table = Table(title="walk-forward test vs the naive random walk")
    for col in ("ticker", "model", "ver", "alias", "RMSE", "naive", "skill", "DM p", "cov95"):
        table.add_column(
            col, justify="left" if col in ("ticker", "alias") else "right", no_wrap=True
        )
    for r in results:
        s = r.scores
        table.add_row(
            r.ticker,
            r.model,
            str(r.version),
            r.alias,
            _fmt(s.rmse),
            _fmt(s.naive_rmse),
            _fmt(s.skill, "+.2%"),
            _fmt(s.dm_pvalue, ".3f"),
            _fmt(s.coverage, ".1%"),
        )
    return table
