"""`stocky train`: fit, walk forward against naive, log to MLflow, register."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from stocky.cli._common import handle_errors, open_stack
from stocky.errors import BadInput

if TYPE_CHECKING:
    import pandas as pd

    from stocky.pipelines.train import TrainResult
    from stocky.wiring import Stack


__all__ = ["train"]


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
        bool, typer.Option("--all", help="Train every ticker the price source lists.")
    ] = False,
    order: Annotated[
        str | None,
        typer.Option(
            help="ARIMA order 'p,d,q' (the seed used 0,1,0) or 'auto' (AIC + validation check)."
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
        bool, typer.Option("--if-missing", help="Skip tickers that already have a champion model.")
    ] = False,
) -> None:
    """Train ARIMA models, compare them with the naive random walk, and register them in MLflow."""
    if split_date is not None and test_size is not None:
        raise BadInput("--split-date and --test-size both given: use one of them")
    with open_stack(
        order=order, test_size=test_size, train_window=train_window, refit_every=refit_every
    ) as stack:
        _train(
            stack,
            ticker=ticker,
            all_tickers=all_tickers,
            split_date=split_date,
            if_missing=if_missing,
        )


def _train(
    stack: Stack,
    *,
    ticker: list[str] | None,
    all_tickers: bool,
    split_date: str | None,
    if_missing: bool,
) -> None:
    from dataclasses import replace

    from stocky.core.tickers import normalize_tickers
    from stocky.pipelines.data import load_or_pull
    from stocky.pipelines.train import train_ticker
    from stocky.runtime import git_commit

    settings, source, registry = stack.settings, stack.source, stack.registry
    if all_tickers:
        tickers = source.tickers()
        if not tickers:
            raise BadInput(
                f"source {source.name!r} cannot list tickers: pass --ticker instead of --all"
            )
    else:
        tickers = normalize_tickers(ticker or [settings.default_ticker])
    console = Console(width=None if sys.stdout.isatty() else 110)
    results = []
    commit = git_commit()
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("starting", total=len(tickers))
        for sym in tickers:
            if if_missing and registry.alias_version(sym, "champion") is not None:
                console.print(f"{sym}: a champion exists, skipped (--if-missing)")
                bar.advance(task)
                continue
            now = datetime.now(UTC)
            bar.update(task, description=f"{sym}: loading prices")
            frame = load_or_pull(source=source, repo=stack.prices, ticker=sym, now=now)
            config = stack.train
            if split_date is not None:
                config = replace(config, test_size=_test_size_after(frame, split_date))
            result = train_ticker(
                ticker=sym,
                prices=frame,
                source=source.name,
                registry=registry,
                config=config,
                now=now,
                git_commit=commit,
                progress=_reporter(bar, task, sym),
                audit=stack.audit,  # a first champion reaches running servers via this log
            )
            results.append(result)
            bar.advance(task)
    if results:
        console.print(_summary(results))
    for r in results:
        console.print(f"{r.ticker} ({r.source} prices): {r.order_reason}")
        for w in r.warnings:
            console.print(f"[yellow]warning[/yellow] {r.ticker}: {w}")


def _reporter(bar: Progress, task: TaskID, ticker: str) -> Callable[[str], None]:
    def report(message: str) -> None:
        bar.update(task, description=f"{ticker}: {message}")

    return report


def _test_size_after(frame: pd.DataFrame, split_date: str) -> int:
    import pandas as pd

    try:
        cut = date.fromisoformat(split_date)
    except ValueError as exc:
        raise BadInput(
            f"--split-date {split_date!r} is not YYYY-MM-DD: write e.g. 2018-01-02"
        ) from exc
    dates = pd.to_datetime(frame["date"])
    size = int((dates > pd.Timestamp(cut)).sum())
    if size < 20:
        raise BadInput(
            f"only {size} sessions after --split-date {split_date}: choose an earlier date (need 20+)"
        )
    return size


def _summary(results: list[TrainResult]) -> Table:
    table = Table(title="walk-forward test vs the naive random walk")
    for col in ("ticker", "order", "ver", "alias", "RMSE", "naive", "skill", "DM p", "cov95"):
        table.add_column(
            col, justify="left" if col in ("ticker", "alias") else "right", no_wrap=True
        )
    for r in results:
        s = r.scores
        table.add_row(
            r.ticker,
            str(r.spec.params.order),
            str(r.version.version),
            r.alias,
            _fmt(s.rmse),
            _fmt(s.naive_rmse),
            _fmt(s.skill, "+.2%"),
            _fmt(s.dm_pvalue, ".3f"),
            _fmt(s.coverage, ".1%"),
        )
    return table
