"""`stocky replay`: the whole loop over history, in a state folder of its own."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from stocky.cli._common import handle_errors, settings_for_cli
from stocky.config import settings_payload
from stocky.errors import BadInput

if TYPE_CHECKING:
    from stocky.adapters.executor import ExecutorKind
    from stocky.config import Settings
    from stocky.pipelines.daily import RetrainMode

__all__ = ["replay"]


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _date(text: str, flag: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"{flag} {text!r} is not YYYY-MM-DD: write e.g. 2008-01-02") from exc


@handle_errors
def replay(
    start: Annotated[
        str, typer.Option(help="First session (the initial champion is trained up to it).")
    ],
    end: Annotated[str, typer.Option(help="Last session.")],
    ticker: Annotated[
        list[str] | None,
        typer.Option(
            "--ticker",
            "-t",
            help="Ticker (repeatable: each replays as its own task; default STOCKY_DEFAULT_TICKER).",
        ),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option(
            help="Replay state folder (default <home>/replays/<ticker>-<start>-<end>); wiped first."
        ),
    ] = None,
    order: Annotated[
        str | None, typer.Option(help="Order for training and retraining ('auto' or p,d,q).")
    ] = None,
    holdout: Annotated[int | None, typer.Option(help="Retrain holdout sessions.")] = None,
    min_improvement: Annotated[
        float | None, typer.Option(help="Promotion: required relative RMSE gain.")
    ] = None,
    naive_tolerance: Annotated[
        float | None, typer.Option(help="Promotion: allowed relative excess over naive.")
    ] = None,
    dm_alpha: Annotated[
        float | None, typer.Option(help="Promotion: require a DM p-value below this.")
    ] = None,
    drift_window: Annotated[
        int | None, typer.Option(help="Drift rolling window (sessions).")
    ] = None,
    drift_threshold: Annotated[
        float | None, typer.Option(help="Drift threshold multiplier.")
    ] = None,
    report: Annotated[
        bool, typer.Option(help="Write the HTML report into the replay folder (one ticker).")
    ] = True,
    retrain: Annotated[
        str, typer.Option(help="When to retrain: on-drift (default), always, monthly or never.")
    ] = "on-drift",
    executor: Annotated[
        str | None,
        typer.Option(help="Where several replays run: local or dask (default STOCKY_EXECUTOR)."),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            help="Worker processes for local / a Dask LocalCluster (default STOCKY_JOBS)."
        ),
    ] = None,
    deliver_alerts: Annotated[
        bool,
        typer.Option(
            "--deliver-alerts",
            help="Send the replay's alerts (marked as a replay) to the configured targets.",
        ),
    ] = False,
) -> None:
    """Replay the daily loop over history: forecast, label, drift, retrain, promote; then summarise."""
    from stocky.core.tickers import normalize_ticker, normalize_tickers, ticker_slug
    from stocky.pipelines.daily import RETRAIN_MODES
    from stocky.pipelines.replay import replay as run_replay
    from stocky.wiring import build_stack, replay_settings, settings_with

    live = settings_for_cli()
    first, last = _date(start, "--start"), _date(end, "--end")
    if retrain not in RETRAIN_MODES:
        raise BadInput(f"--retrain {retrain!r}: use one of {', '.join(RETRAIN_MODES)}")
    overrides = {
        "order": order,
        "holdout_size": holdout,
        "min_improvement": min_improvement,
        "naive_tolerance": naive_tolerance,
        "dm_alpha": dm_alpha,
        "drift_window": drift_window,
        "drift_threshold_multiplier": drift_threshold,
    }
    if (drift_window is not None or drift_threshold is not None) and (
        live.drift_detector != "rule"
    ):
        raise BadInput(
            "--drift-window and --drift-threshold tune the rolling-error rule, which starts no "
            f"retrain with the {live.drift_detector!r} detector: set STOCKY_DRIFT_DETECTOR=rule"
        )
    if ticker and len(ticker) > 1:
        if home is not None:
            raise BadInput("--home takes one ticker: drop it to give each replay its own folder")
        if deliver_alerts:
            raise BadInput(
                "--deliver-alerts takes one ticker: replay the tickers one at a time to send "
                "each replay's alerts"
            )
        _replay_many(
            live, normalize_tickers(ticker), first, last, retrain, overrides, executor, jobs
        )
        return
    symbol = normalize_ticker(ticker[0] if ticker else live.default_ticker)
    folder = home or live.home / "replays" / f"{ticker_slug(symbol)}-{first}-{last}"
    if folder.resolve() == live.home.resolve():
        raise BadInput(
            f"--home {folder} is the live state folder: give the replay a folder of its own"
        )
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    settings = settings_with(replay_settings(live, folder), **overrides)
    t0 = time.perf_counter()
    with (
        build_stack(settings) as stack,
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
        ) as bar,
    ):
        task = bar.add_task(f"{symbol}: training the initial champion", total=None)

        def progress(i: int, n: int, message: str) -> None:
            bar.update(task, total=n, completed=i, description=f"{symbol} {message}")

        summary = run_replay(
            stack=stack,
            ticker=symbol,
            start=first,
            end=last,
            retrain_mode=cast("RetrainMode", retrain),
            progress=progress,
        )
        bar.stop()
        elapsed = time.perf_counter() - t0
        s = summary
        typer.echo(
            f"replay of {s.ticker} {s.start}..{s.end}: {s.sessions} sessions in {elapsed:.1f} s (state in {folder})"
        )
        typer.echo(f"  forecasts labeled  {s.labeled}")
        typer.echo(
            f"  RMSE               {_fmt(s.rmse, '.4f')}   naive {_fmt(s.naive_rmse, '.4f')}   "
            f"skill {_fmt(s.skill, '+.2%')}"
        )
        typer.echo(f"  drift alerts       {s.drift_alerts}")
        typer.echo(
            f"  retrains           {s.retrains} ({s.promotions} promoted, {s.retrains - s.promotions} rejected)"
        )
        typer.echo(f"  rollbacks          {s.rollbacks}")
        typer.echo(f"  champion           v{s.initial_version} -> v{s.final_version}")
        if report:
            from stocky.pipelines.fleet_view import report_for_stack
            from stocky.report.write import write_report

            # staleness as of the replay's last session, not today's clock
            built = report_for_stack(
                stack, tickers=[symbol], now=dt.datetime.now(dt.UTC), due=s.end
            )
            typer.echo(f"  report             {write_report(built, folder / 'report')}")
        if deliver_alerts:
            from stocky.cli._deliver import deliver_outbox

            # the replay's outbox is in its own database: the live one never sees these
            line = deliver_outbox(stack, now=dt.datetime.now(dt.UTC), include_replay=True)
            typer.echo(f"  {line}")


def _replay_many(
    live: Settings,
    symbols: list[str],
    first: dt.date,
    last: dt.date,
    retrain: str,
    overrides: dict[str, Any],
    kind: str | None,
    jobs: int | None,
) -> None:
    """One replay task per ticker, each in <home>/replays/<ticker>-<start>-<end>, on the executor."""
    from stocky.core.tickers import ticker_slug
    from stocky.wiring import make_executor, replay_settings, settings_with

    payloads = {}
    for symbol in symbols:
        folder = live.home / "replays" / f"{ticker_slug(symbol)}-{first}-{last}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        payloads[symbol] = settings_with(replay_settings(live, folder), **overrides)
    pool = make_executor(live, kind=cast("ExecutorKind | None", kind), jobs=jobs)
    t0 = time.perf_counter()
    failed = 0
    try:
        for outcome in pool.map(
            _replay_one,
            [(s, settings_payload(p)) for s, p in payloads.items()],
            first,
            last,
            retrain,
        ):
            symbol = outcome.item[0]
            if not outcome.ok:
                failed += 1
                typer.echo(f"{symbol:8} FAILED: {outcome.error}")
                continue
            s = outcome.value
            typer.echo(
                f"{symbol:8} {s.sessions} sessions  RMSE {s.rmse:.4f}  naive {s.naive_rmse:.4f}  "
                f"skill {s.skill:+.2%}  alerts {s.drift_alerts}  retrains {s.retrains} "
                f"({s.promotions} promoted)  v{s.initial_version} -> v{s.final_version}"
            )
    finally:
        pool.close()
    typer.echo(
        f"{len(symbols)} replays on {pool.name} ({pool.workers} worker(s)) in "
        f"{time.perf_counter() - t0:.1f} s; state in {live.home / 'replays'}"
    )
    if failed:
        raise typer.Exit(1)


def _replay_one(item: tuple[str, str], first: dt.date, last: dt.date, retrain: str) -> Any:
    from stocky.pipelines.tasks import replay_task

    symbol, settings_json = item
    return replay_task(symbol, settings_json, first, last, cast("RetrainMode", retrain))
