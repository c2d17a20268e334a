"""`stocky predictions ...`: look at the prediction log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from stocky.cli._common import handle_errors, open_stack

__all__ = ["app"]

app = typer.Typer(
    help="The prediction log (every forecast served, with its actual once known).",
    no_args_is_help=True,
)


@app.command("export")
@handle_errors
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="CSV file to write.")],
    ticker: Annotated[str | None, typer.Option("--ticker", "-t", help="Only this ticker.")] = None,
) -> None:
    """Write predictions as CSV: the seed's columns (timestamp ... arima_order), then stocky's."""
    from stocky.core.tickers import normalize_ticker
    from stocky.pipelines.export import export_predictions

    symbol = normalize_ticker(ticker) if ticker else None
    with open_stack() as stack:
        count = export_predictions(rows=stack.predictions.iter_rows(ticker=symbol), path=out)
    typer.echo(f"wrote {count} predictions to {out}")
