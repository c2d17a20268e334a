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
from stocky.core.words import version_change
from stocky.errors import BadInput

if TYPE_CHECKING:
    from stocky.adapters.executor import ExecutorKind
    from stocky.config import Settings
    from stocky.pipelines.daily import RetrainMode
    from stocky.pipelines.replay import Engine, ReplaySummary
    from stocky.pipelines.replay_run import Backend
    from stocky.wiring import Stack

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
        bool,
        typer.Option(
            help="Write the HTML report into the replay folder (with --backend memory: only "
            "with --keep-state)."
        ),
    ] = True,
    backend: Annotated[
        str,
        typer.Option(
            help="Where the replay keeps its state: sql (a SQLite database and MLflow store in "
            "the replay folder, kept) or memory (in this process: faster, nothing written "
            "unless --keep-state)."
        ),
    ] = "sql",
    keep_state: Annotated[
        bool,
        typer.Option(
            "--keep-state",
            help="With --backend memory: export the state (SQLite + the report) into the "
            "replay folder for drill-down.",
        ),
    ] = False,
    retrain: Annotated[
        str, typer.Option(help="When to retrain: on-drift (default), always, monthly or never.")
    ] = "on-drift",
    engine: Annotated[
        str,
        typer.Option(
            help="How the replay is computed: sessions (the daily path session by session, "
            "every drift check stored), segments (between two decisions at once: the same "
            "forecasts, decisions and alerts, checks stored only where one matters; needs "
            "the assessment detector and every session stored) or auto (segments when no "
            "state is kept, else sessions)."
        ),
    ] = "auto",
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
    from stocky.pipelines.replay import ENGINES
    from stocky.pipelines.replay_run import BACKENDS, run_replay
    from stocky.wiring import settings_with

    live = settings_for_cli()
    first, last = _date(start, "--start"), _date(end, "--end")
    if retrain not in RETRAIN_MODES:
        raise BadInput(f"--retrain {retrain!r}: use one of {', '.join(RETRAIN_MODES)}")
    if backend not in BACKENDS:
        raise BadInput(f"--backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if keep_state and backend != "memory":
        raise BadInput("--keep-state is for --backend memory (sql always keeps its state)")
    if engine not in ENGINES:
        raise BadInput(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
    if deliver_alerts and backend != "sql":
        raise BadInput("--deliver-alerts reads the replay's outbox: use --backend sql")
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
    keeps = backend == "sql" or keep_state
    if ticker and len(ticker) > 1:
        if home is not None:
            raise BadInput("--home takes one ticker: drop it to give each replay its own folder")
        if deliver_alerts:
            raise BadInput(
                "--deliver-alerts takes one ticker: replay the tickers one at a time to send "
                "each replay's alerts"
            )
        _replay_many(
            settings_with(live, **overrides),
            normalize_tickers(ticker),
            first,
            last,
            retrain,
            executor,
            jobs,
            backend=backend,
            keep=keeps,
            report=report and keeps,
            engine=engine,
        )
        return
    symbol = normalize_ticker(ticker[0] if ticker else live.default_ticker)
    folder = home or live.home / "replays" / f"{ticker_slug(symbol)}-{first}-{last}"
    if folder.resolve() == live.home.resolve():
        raise BadInput(
            f"--home {folder} is the live state folder: give the replay a folder of its own"
        )
    if keeps:
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
    settings = settings_with(live, **overrides)
    t0 = time.perf_counter()
    delivered: list[str] = []

    def deliver(stack: Stack, _summary: ReplaySummary) -> None:
        if deliver_alerts:
            from stocky.cli._deliver import deliver_outbox

            # the replay's outbox is in its own database: the live one never sees these
            delivered.append(
                deliver_outbox(stack, now=dt.datetime.now(dt.UTC), include_replay=True)
            )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    ) as bar:
        task = bar.add_task(f"{symbol}: training the initial champion", total=None)

        def progress(i: int, n: int, message: str) -> None:
            bar.update(task, total=n, completed=i, description=f"{symbol} {message}")

        run = run_replay(
            settings,
            ticker=symbol,
            start=first,
            end=last,
            retrain_mode=cast("RetrainMode", retrain),
            backend=cast("Backend", backend),
            folder=folder if keeps else None,
            keep_state=keep_state,
            report=report and keeps,
            progress=progress,
            after=deliver,
            engine=cast("Engine", engine),
        )
        bar.stop()
    elapsed = time.perf_counter() - t0
    s = run.summary
    where = f"state in {folder}" if keeps else f"{backend} backend, no state kept"
    typer.echo(
        f"replay of {s.ticker} {s.start}..{s.end}: {s.sessions} sessions in {elapsed:.1f} s ({where})"
    )
    typer.echo(f"  forecasts labeled  {s.labeled}")
    typer.echo(
        f"  RMSE               {_fmt(s.rmse, '.4f')}   naive {_fmt(s.naive_rmse, '.4f')}   "
        f"skill {_fmt(s.skill, '+.2%')}"
    )
    typer.echo(f"  drift checks fired {s.drift_alerts}")
    typer.echo(f"  alerts             {_alerts(s.alerts)}")
    typer.echo(
        f"  retrains           {s.retrains} ({s.promotions} promoted, {s.retrains - s.promotions} rejected)"
    )
    typer.echo(f"  rollbacks          {s.rollbacks}")
    typer.echo(f"  champion           {version_change(s.initial_version, s.final_version)}")
    if run.report is not None:
        typer.echo(f"  report             {run.report}")
    for line in delivered:
        typer.echo(f"  {line}")


def _replay_many(
    settings: Settings,
    symbols: list[str],
    first: dt.date,
    last: dt.date,
    retrain: str,
    kind: str | None,
    jobs: int | None,
    *,
    backend: str,
    keep: bool,
    report: bool,
    engine: str = "auto",
) -> None:
    """One replay task per ticker, each in <home>/replays/<ticker>-<start>-<end> when its state
    is kept, on the executor; then one page of every replay (`replays.html`)."""
    from stocky.core.tickers import ticker_slug
    from stocky.pipelines.study_report import write_replays_page
    from stocky.wiring import make_executor

    folders = {}
    for symbol in symbols:
        folder = settings.home / "replays" / f"{ticker_slug(symbol)}-{first}-{last}"
        if keep:
            if folder.exists():
                shutil.rmtree(folder)
            folder.mkdir(parents=True)
        folders[symbol] = folder
    pool = make_executor(settings, kind=cast("ExecutorKind | None", kind), jobs=jobs)
    payload = settings_payload(settings)
    t0 = time.perf_counter()
    failed = 0
    done: dict[str, Any] = {}
    try:
        for outcome in pool.map(
            _replay_one,
            [(s, str(folders[s])) for s in symbols],
            payload,
            first,
            last,
            retrain,
            backend,
            keep and backend == "memory",
            report,
            engine,
        ):
            symbol = outcome.item[0]
            if not outcome.ok:
                failed += 1
                typer.echo(f"{symbol:8} FAILED: {outcome.error}")
                continue
            s = done[symbol] = outcome.value
            typer.echo(
                f"{symbol:8} {s.sessions} sessions  RMSE {_fmt(s.rmse, '.4f')}  "
                f"naive {_fmt(s.naive_rmse, '.4f')}  skill {_fmt(s.skill, '+.2%')}  "
                f"alerts {_alerts(s.alerts)}  retrains {s.retrains} ({s.promotions} promoted)  "
                f"{version_change(s.initial_version, s.final_version)}"
            )
    finally:
        pool.close()
    where = f"state in {settings.home / 'replays'}" if keep else f"{backend} backend"
    typer.echo(
        f"{len(symbols)} replays on {pool.name} ({pool.workers} worker(s)) in "
        f"{time.perf_counter() - t0:.1f} s; {where}"
    )
    if done:
        reports = {s: folders[s] / "report" / "index.html" for s in done} if report else {}
        page = write_replays_page(
            settings.home / "replays" / f"replays-{first}-{last}.html",
            summaries=[done[s] for s in symbols if s in done],
            retrain_mode=retrain,
            reports={s: p for s, p in reports.items() if p.exists()},
        )
        typer.echo(f"report: {page}")
    if failed:
        raise typer.Exit(1)


def _replay_one(
    item: tuple[str, str],
    settings_json: str,
    first: dt.date,
    last: dt.date,
    retrain: str,
    backend: str,
    keep_state: bool,
    report: bool,
    engine: str = "auto",
) -> Any:
    from stocky.pipelines.replay_run import replay_task

    symbol, folder = item
    return replay_task(
        symbol,
        settings_json,
        first,
        last,
        cast("RetrainMode", retrain),
        backend=backend,
        folder=folder,
        keep_state=keep_state,
        report=report,
        engine=engine,
    )


def _alerts(counts: dict[str, int]) -> str:
    """Alerts by kind: `2 volatility_changed, 1 retrain_promoted`, or `none`."""
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "none"
