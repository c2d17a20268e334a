"""`stocky drift`: check both drift states and the rule, store the check. Exit 10 when the
detector in charge asks for a retrain (model degraded, or the rule's drift), else 0."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from stocky.cli._common import handle_errors, open_stack
from stocky.cli._dates import resolve_as_of
from stocky.errors import StockyError

if TYPE_CHECKING:
    from stocky.wiring import Stack

__all__ = ["DRIFT_EXIT_CODE", "drift"]

#: Exit code when at least one ticker drifted (errors use 1-6).
DRIFT_EXIT_CODE = 10


@handle_errors
def drift(
    ticker: Annotated[
        list[str] | None,
        typer.Option("--ticker", "-t", help="Tickers to check (default: all with predictions)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(help="Last target session considered (default: the last closed one)."),
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option(help="rmse, return_rmse, mape or mase (default STOCKY_DRIFT_METRIC)."),
    ] = None,
) -> None:
    """Check the drift states and the rolling-error rule; print and store the check (exit 10: retrain)."""
    with open_stack() as stack:
        drifted = _check(stack, ticker=ticker, as_of=as_of, metric=metric)
    if drifted:
        raise typer.Exit(DRIFT_EXIT_CODE)


def _check(
    stack: Stack, *, ticker: list[str] | None, as_of: str | None, metric: str | None
) -> bool:
    from dataclasses import replace

    from stocky.core.tickers import normalize_tickers
    from stocky.pipelines.drift_fleet import check_drift_many
    from stocky.wiring import alert_config

    now = datetime.now(UTC)
    day = resolve_as_of(as_of, stack.calendar, now)
    rule = stack.drift
    if metric is not None:
        rule = replace(rule, metric=metric)  # type: ignore[arg-type]
    tickers = (
        normalize_tickers(ticker)
        if ticker
        else (stack.predictions.tickers() or [stack.settings.default_ticker])
    )
    failed: dict[str, StockyError] = {}
    champions = {}
    for sym in tickers:
        try:
            if (champion := stack.registry.champion(sym)) is not None:
                champions[sym] = champion
        except StockyError as exc:  # reported for its ticker; the others are checked
            failed[sym] = exc
    checks = check_drift_many(
        predictions=stack.predictions,
        audit=stack.audit,
        calendar=stack.calendar,
        tickers=[t for t in tickers if t not in failed],
        champions=champions,
        as_of=day,
        rule=rule,
        now=now,
        detector=stack.settings.drift_detector,
        alerts=alert_config(stack.settings),
    )
    failed.update(checks.failed)
    drifted = False
    for sym in tickers:
        if sym in failed:
            typer.echo(f"{sym}: FAILED: {failed[sym]}", err=True)
            continue
        report = checks.outcomes[sym]
        drifted = drifted or report.drifted
        naive = (
            "" if report.naive_latest_value is None else f" (naive {report.naive_latest_value:.4g})"
        )
        latest = "-" if report.latest_value is None else f"{report.latest_value:.4g}"
        typer.echo(
            f"{sym}: {report.decision.upper()} as of {day}: rolling {rule.metric} {latest}{naive}"
        )
        typer.echo(f"  {report.reason}")
        typer.echo(
            f"  states: volatility regime {'CHANGED' if report.volatility_changed else 'steady'}, "
            f"model {'DEGRADED' if report.model_degraded else 'not degraded'}"
            f"{', interval coverage BROKEN' if report.coverage_broken else ''} "
            f"(detector {report.detector})"
        )
        typer.echo(f"  rule: {report.rule.decision}; baseline: {report.baseline_source}")
    if failed:  # the others are checked and stored; the exit code is the first failure's
        raise next(iter(failed.values()))
    return drifted
