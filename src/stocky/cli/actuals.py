"""`stocky actuals`: attach actual closes to predictions whose target session has closed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from stocky.cli._common import handle_errors, settings_for_cli
from stocky.cli._dates import resolve_as_of
from stocky.cli.services import build_services

__all__ = ["actuals"]


@handle_errors
def actuals(
    ticker: Annotated[
        list[str] | None, typer.Option("--ticker", "-t", help="Only these tickers (repeatable).")
    ] = None,
    all_tickers: Annotated[
        bool, typer.Option("--all", help="Every ticker with logged predictions (the default).")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(help="Use closes up to this session (default: the last closed one)."),
    ] = None,
) -> None:
    """Attach actual closes (delayed labels); idempotent, catches up missed days. Exit 3 when a source fails."""
    from stocky.adapters.store.predictions import PredictionRepository
    from stocky.core.sessions import TradingCalendar
    from stocky.pipelines.actuals import attach_actuals

    settings = settings_for_cli()
    services = build_services(settings)
    predictions = PredictionRepository(services.engine)
    now = datetime.now(UTC)
    day = resolve_as_of(as_of, TradingCalendar(settings.exchange), now)
    tickers = (
        predictions.tickers() if all_tickers or not ticker else [t.strip().upper() for t in ticker]
    )
    if not tickers:
        typer.echo("no predictions logged yet: nothing to label")
        return
    for sym in tickers:
        result = attach_actuals(
            predictions=predictions,
            prices=services.prices,
            source=services.source,
            ticker=sym,
            as_of=day,
            now=now,
        )
        typer.echo(
            f"{sym}: {result.updated} labeled as of {day}, {result.due_without_close} due without a close yet, "
            f"{result.not_due} not yet due ({result.rows_pulled} sessions pulled)"
        )
