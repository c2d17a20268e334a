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
    from stocky.errors import StockyError
    from stocky.pipelines.actuals import attach_actuals_many

    with open_stack() as stack:
        predictions = stack.predictions
        now = datetime.now(UTC)
        day = resolve_as_of(as_of, stack.calendar, now)
        tickers = predictions.tickers() if all_tickers or not ticker else normalize_tickers(ticker)
        if not tickers:
            typer.echo("no predictions logged yet: nothing to label")
            return
        failed: dict[str, StockyError] = {}
        results = attach_actuals_many(
            predictions=predictions,
            prices=stack.prices,
            source=stack.source,
            tickers=tickers,
            as_of=day,
            now=now,
            failed=failed,
        )
        for sym in tickers:
            if sym in failed:
                typer.echo(f"{sym}: FAILED: {failed[sym]}", err=True)
                continue
            result = results[sym]
            typer.echo(
                f"{sym}: {result.updated} labeled as of {day}, {result.due_without_close} due without a close yet, "
                f"{result.not_due} not yet due ({result.rows_pulled} sessions pulled)"
            )
        if failed:  # the others are labeled; the exit code is the first failure's
            raise next(iter(failed.values()))
