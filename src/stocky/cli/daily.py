"""`stocky daily` and `stocky scheduler`: the daily loop, once or forever."""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import TYPE_CHECKING, Annotated, cast

import typer

from stocky.cli._common import console_err, handle_errors, settings_for_cli
from stocky.cli._dates import resolve_as_of
from stocky.config import Settings
from stocky.core.redact import redact
from stocky.errors import BadInput, StockyError

if TYPE_CHECKING:
    from stocky.pipelines.daily import RetrainMode
    from stocky.wiring import Stack

__all__ = ["daily", "run_daily_cli", "scheduler"]

log = logging.getLogger(__name__)


def run_daily_cli(
    settings: Settings,
    *,
    as_of: str | None,
    retrain_mode: str,
    tickers: list[str] | None,
    forecast: bool,
    report: bool,
) -> int:
    """Run the daily job under the state folder's lock; print one summary; return the exit code."""
    from stocky.adapters.lock import daily_lock
    from stocky.core.tickers import normalize_tickers
    from stocky.pipelines.daily import DailyDeps, run_daily_ticker
    from stocky.wiring import build_stack

    if retrain_mode not in ("on-drift", "always", "never"):
        raise BadInput(f"--retrain {retrain_mode!r}: use on-drift, always or never")
    with daily_lock(settings.db_url, settings.home), build_stack(settings) as stack:
        deps = DailyDeps.from_stack(stack)
        now = dt.datetime.now(dt.UTC)
        day = resolve_as_of(as_of, deps.calendar, now)
        symbols = (
            normalize_tickers(tickers)
            if tickers
            else sorted(set(deps.registry.tickers()) | set(deps.predictions.tickers()))
            or [settings.default_ticker]
        )
        code = 0
        lines = []
        for sym in symbols:
            try:
                r = run_daily_ticker(
                    deps,
                    ticker=sym,
                    as_of=day,
                    now=now,
                    retrain_mode=cast("RetrainMode", retrain_mode),
                    forecast=forecast,
                    progress=lambda m: log.info(m),
                )
            except StockyError as exc:
                console_err(f"error: {sym}: {exc}")
                code = code or exc.exit_code
                lines.append(f"{sym:8} FAILED: {redact(str(exc))}")
                continue
            retrain_text = "no retrain"
            if r.retrain is not None:
                retrain_text = (
                    f"PROMOTED v{r.retrain.to_version}"
                    if r.retrain.promoted
                    else f"rejected (v{r.retrain.from_version} stays)"
                )
            latest = "-" if r.drift.latest_value is None else f"{r.drift.latest_value:.4g}"
            fc = f"forecast for {r.forecast_target}" if r.forecast_target else "no new forecast"
            lines.append(
                f"{sym:8} as of {day}: +{r.rows_pulled} prices, {r.actuals.updated} labeled, "
                f"drift {r.drift.decision} ({deps.rule.metric} {latest}), {retrain_text}, {fc}"
            )
        if report:
            lines.append(_write_report(stack, symbols, now))
    typer.echo("daily summary")
    for line in lines:
        typer.echo(f"  {line}")
    return code


def _write_report(stack: Stack, symbols: list[str], now: dt.datetime) -> str:
    from stocky.pipelines.fleet_view import report_for_stack
    from stocky.report.write import write_report

    built = report_for_stack(stack, tickers=symbols, now=now)
    path = write_report(built, stack.settings.home / "report")
    return f"report: {path}"


@handle_errors
def daily(
    as_of: Annotated[
        str | None, typer.Option(help="Run as of this session (default: the last closed one).")
    ] = None,
    retrain: Annotated[str, typer.Option(help="on-drift (default), always or never.")] = "on-drift",
    ticker: Annotated[
        list[str] | None,
        typer.Option("--ticker", "-t", help="Tickers (default: every registered one)."),
    ] = None,
    forecast: Annotated[
        bool, typer.Option(help="Log the champion's forecast for the next session.")
    ] = True,
    report: Annotated[bool, typer.Option(help="Write the HTML report to <home>/report.")] = True,
) -> None:
    """Pull prices, attach actuals, check drift, retrain when needed, forecast, report. Exit 11 if already running."""
    settings = settings_for_cli()
    code = run_daily_cli(
        settings,
        as_of=as_of,
        retrain_mode=retrain,
        tickers=ticker,
        forecast=forecast,
        report=report,
    )
    if code:
        raise typer.Exit(code)


@handle_errors
def scheduler(
    delay_minutes: Annotated[
        int, typer.Option(help="Minutes after each session's close to run.")
    ] = 30,
    retrain: Annotated[str, typer.Option(help="on-drift (default), always or never.")] = "on-drift",
    once: Annotated[
        bool, typer.Option("--once", help="Wait for the next run time, run once, exit.")
    ] = False,
) -> None:
    """Run the daily job after every session's close, in this long-lived process (for compose)."""
    from stocky.core.sessions import TradingCalendar
    from stocky.pipelines.schedule import next_run

    settings = settings_for_cli()
    calendar = TradingCalendar(settings.exchange)
    while True:
        now = dt.datetime.now(dt.UTC)
        session, at = next_run(calendar, now, delay=dt.timedelta(minutes=delay_minutes))
        typer.echo(f"next daily run: {at.isoformat()} (after the {session} close)")
        while (left := (at - dt.datetime.now(dt.UTC)).total_seconds()) > 0:
            time.sleep(min(left, 60.0))
        try:
            run_daily_cli(
                settings,
                as_of=session.isoformat(),
                retrain_mode=retrain,
                tickers=None,
                forecast=True,
                report=True,
            )
        except StockyError as exc:
            console_err(
                f"error: daily run for {session} failed, will try again after the next close: {exc}"
            )
        if once:
            return
