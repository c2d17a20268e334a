"""`stocky study`: replay the loop for every (ticker x policy) cell of a grid, on the executor."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from stocky.cli._common import handle_errors, settings_for_cli
from stocky.errors import BadInput

__all__ = ["study"]


def _date(text: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"{flag} {text!r} is not YYYY-MM-DD: write e.g. 2016-01-04") from exc


@handle_errors
def study(
    start: Annotated[str, typer.Option(help="First replayed session (YYYY-MM-DD).")],
    end: Annotated[str, typer.Option(help="Last replayed session (YYYY-MM-DD).")],
    ticker: Annotated[
        list[str] | None, typer.Option("--ticker", "-t", help="Ticker (repeatable).")
    ] = None,
    all_tickers: Annotated[
        bool, typer.Option("--all", help="Every ticker the price source lists.")
    ] = False,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            help="key=v1,v2 (repeatable): retrain (on-drift, monthly, never, always), "
            "drift.detector (assessment, rule), drift.threshold, drift.window, drift.metric, "
            "drift.consecutive (the rule's: with drift.detector=rule), drift.cooldown, "
            "promotion.min_improvement, promotion.naive_tolerance, promotion.dm_alpha, "
            "holdout, order. Every combination is a policy."
        ),
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            help="Where each cell's replay keeps its state: memory (default; nothing but the "
            "result is written) or sql (a SQLite database and MLflow store per cell)."
        ),
    ] = "memory",
    keep_state: Annotated[
        bool,
        typer.Option(
            "--keep-state",
            help="With --backend memory: export each cell's state (SQLite + its report) into "
            "its folder, linked from the study page.",
        ),
    ] = False,
    engine: Annotated[
        str,
        typer.Option(
            help="How each replay is computed: auto (default: segments between decisions when "
            "no state is kept, else session by session), segments or sessions (see stocky "
            "replay --help)."
        ),
    ] = "auto",
    out: Annotated[
        Path | None,
        typer.Option(help="Study folder (default <home>/studies/<start>-<end>); reruns resume."),
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="local or dask (default STOCKY_EXECUTOR).")
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            help="Worker processes for local / a Dask LocalCluster (default STOCKY_JOBS)."
        ),
    ] = None,
) -> None:
    """Replay every ticker under every policy of the grid; write a table and an HTML page."""
    from stocky.adapters.executor import ExecutorKind
    from stocky.core.tickers import normalize_tickers
    from stocky.pipelines.replay import ENGINES
    from stocky.pipelines.replay_run import BACKENDS
    from stocky.pipelines.study import parse_grid, run_study
    from stocky.pipelines.study_report import policy_table, write_study
    from stocky.wiring import build_stack, make_executor

    settings = settings_for_cli()
    first, last = _date(start, "--start"), _date(end, "--end")
    if backend not in BACKENDS:
        raise BadInput(f"--backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if keep_state and backend != "memory":
        raise BadInput("--keep-state is for --backend memory (sql always keeps its state)")
    if engine not in ENGINES:
        raise BadInput(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
    policies = parse_grid(grid or [], detector=settings.drift_detector)
    if all_tickers:
        with build_stack(settings, migrate=False) as stack:
            tickers = stack.source.tickers()
        if not tickers:
            raise BadInput("the price source cannot list tickers: pass --ticker instead of --all")
    else:
        tickers = normalize_tickers(ticker or [settings.default_ticker])
    folder = (out or settings.home / "studies" / f"{first}-{last}").resolve()
    if (executor or settings.executor) == "dask" and settings.dask_address:
        # cells write their results (and kept state) under the study folder from the workers
        typer.echo(f"note: every Dask worker must see {folder} (a shared volume)")
    pool = make_executor(settings, kind=cast("ExecutorKind | None", executor), jobs=jobs)
    typer.echo(
        f"study: {len(tickers)} ticker(s) x {len(policies)} policies on {pool.name} "
        f"({pool.workers} worker(s)), {backend} backend, results in {folder}"
    )
    t0 = time.perf_counter()

    def on_cell(cell: object) -> None:
        c = cast("Any", cell)
        status = f"skill {c.skill:+.3%}" if c.error is None and c.skill is not None else c.error
        typer.echo(f"  {c.ticker:8} {c.policy}: {status}")

    try:
        run = run_study(
            executor=pool,
            settings=settings,
            tickers=tickers,
            policies=policies,
            start=first,
            end=last,
            root=folder,
            on_cell=on_cell,
            backend=backend,
            keep_state=keep_state,
            engine=engine,
        )
    finally:
        pool.close()
    files = write_study(run.cells, folder, start=str(first), end=str(last))
    wall = time.perf_counter() - t0
    typer.echo(f"{run.ran} cell(s) run, {run.skipped} already finished, in {wall:.1f} s wall time")
    table = policy_table(run.cells)
    for row in table.to_dict("records"):
        typer.echo(
            f"  {row['policy']:<48} skill {row['skill_mean']:+.3%}  retrains {row['retrains']:>3}"
            f"  promotions {row['promotions']:>3}  alerts {row['drift_alerts']:>3}"
            f"  {row['compute_seconds']:.0f} s"
        )
    typer.echo(f"table: {files.policies_csv}  page: {files.html}")
    failed = [c for c in run.cells if c.error is not None]
    if failed:
        raise typer.Exit(1)
