"""`stocky report`: write the monitoring page (HTML + PNG charts) to a folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from stocky.cli._common import handle_errors, settings_for_cli
from stocky.cli.services import build_registry, build_services
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
        Path, typer.Option("--out", "-o", help="Folder for index.html and the PNG charts.")
    ] = Path("var/report"),
) -> None:
    """Write forecast-vs-actual, rolling error, error distribution and skill charts as a page."""
    from stocky.adapters.store.audit import AuditRepository
    from stocky.adapters.store.predictions import PredictionRepository
    from stocky.pipelines.drift import rule_from_settings
    from stocky.report.build import build_report, known_tickers
    from stocky.report.write import write_report

    settings = settings_for_cli()
    services = build_services(settings)
    registry = build_registry(settings)
    predictions = PredictionRepository(services.engine)
    known = known_tickers(predictions=predictions, registry=registry)
    if ticker:
        tickers = list(dict.fromkeys(t.strip().upper() for t in ticker))
        unknown = [t for t in tickers if t not in known]
        if unknown:
            raise BadInput(
                f"no model and no predictions for {', '.join(unknown)}: "
                f"use one of {', '.join(known) or 'none yet (run `stocky train`)'}"
            )
    else:
        tickers = known
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    ) as bar:
        task = bar.add_task("collecting data", total=None)
        result = build_report(
            predictions=predictions,
            audit=AuditRepository(services.engine),
            registry=registry,
            tickers=tickers,
            drift_rule=rule_from_settings(settings),
            now=datetime.now(UTC),
        )
        index = write_report(
            result, out, progress=lambda message: bar.update(task, description=message)
        )
    for part in result.tickers:
        if not part.has_data:
            console.print(
                f"{part.ticker}: no labeled predictions yet (run `stocky actuals`); "
                "the page shows its model versions only"
            )
    typer.echo(str(index))
