"""Assemble the `stocky` CLI: this module only registers commands."""

from __future__ import annotations

import typer

from stocky import __version__
from stocky.cli import data, serve, train
from stocky.config import get_settings
from stocky.runtime import configure_logging, limit_blas_threads

__all__ = ["app", "main"]

app = typer.Typer(
    name="stocky",
    help="One-step-ahead stock-price forecasts with a self-running model lifecycle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data.app, name="data")
app.command("train")(train.train)
app.command("serve")(serve.serve)


@app.command("version")
def version() -> None:
    """Print the stocky version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entrypoint: one BLAS thread, logging, then the command."""
    limit_blas_threads(1)
    configure_logging(get_settings().log_level)
    app()
