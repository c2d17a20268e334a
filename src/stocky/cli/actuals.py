"""`stocky actuals`: attach actual closes to predictions whose target session has closed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from stocky.cli._common import handle_errors, open_stack
from stocky.cli._dates import resolve_as_of

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
    from stocky.core.tickers import normalize_tickers
    from stocky.pipelines.actuals import attach_actuals

    with open_stack() as stack:
        predictions = stack.predictions
        now = datetime.now(UTC)
        day = resolve_as_of(as_of, stack.calendar, now)
        tickers = predictions.tickers() if all_tickers or not ticker else normalize_tickers(ticker)
        if not tickers:
            typer.echo("no predictions logged yet: nothing to label")
            return
        for sym in tickers:
            result = attach_actuals(
                predictions=predictions,
                prices=stack.prices,
                source=stack.source,
                ticker=sym,
                as_of=day,
                now=now,
            )
            typer.echo(
                f"{sym}: {result.updated} labeled as of {day}, {result.due_without_close} due without a close yet, "
                f"{result.not_due} not yet due ({result.rows_pulled} sessions pulled)"
            )
