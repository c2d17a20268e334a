"""`stocky report`: write the monitoring page (HTML + PNG charts) to a folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from stocky.cli._common import handle_errors, open_stack
from stocky.core.tickers import normalize_tickers
from stocky.errors import BadInput

__all__ = ["report"]


@handle_errors
def report(
    ticker: Annotated[
        list[str] | None,
        typer.Option(
            "--ticker", "-t", help="Ticker to report (repeatable). Default: every known ticker."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Folder for index.html (the overview), t/<ticker>.html and charts "
            "(default <STOCKY_HOME>/report, where `stocky daily` writes it).",
        ),
    ] = None,
) -> None:
    """Write the fleet overview and a page per ticker with its charts (HTML + PNG)."""
    from stocky.pipelines.fleet_view import report_for_stack
    from stocky.report.build import known_tickers
    from stocky.report.write import write_report

    with open_stack() as stack:
        known = known_tickers(predictions=stack.predictions, registry=stack.registry)
        tickers = normalize_tickers(ticker) if ticker else known
        unknown = [t for t in tickers if t not in known]
        if unknown:
            raise BadInput(
                f"no model and no predictions for {', '.join(unknown)}: "
                f"use one of {', '.join(known) or 'none yet (run `stocky train`)'}"
            )
        result = report_for_stack(stack, tickers=tickers, now=datetime.now(UTC))
        folder = out if out is not None else stack.settings.home / "report"
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("writing the report", total=None)
        index = write_report(
            result, folder, progress=lambda message: bar.update(task, description=message)
        )
    for part in result.tickers:
        if not part.has_data:
            console.print(
                f"{part.ticker}: no labeled predictions yet (run `stocky actuals`); "
                "the page shows its model versions only"
            )
    typer.echo(str(index))
