"""Assemble the `stocky` CLI: this module only registers commands."""

from __future__ import annotations

import sys

import typer

from stocky import __version__
from stocky.cli import (
    actuals,
    alerts,
    daily,
    data,
    drift,
    families,
    keys,
    leaderboard,
    predictions,
    replay,
    report,
    retrain,
    serve,
    study,
    train,
)
from stocky.config import get_settings, settings_error_message
from stocky.runtime import configure_logging, limit_blas_threads, terminate_on_sigterm

__all__ = ["app", "main"]

app = typer.Typer(
    name="stocky",
    help="One-step-ahead stock-price forecasts with a self-running model lifecycle.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(data.app, name="data")
app.add_typer(predictions.app, name="predictions")
app.add_typer(alerts.app, name="alerts")
app.add_typer(keys.app, name="keys")
app.command("train")(train.train)
app.command("serve")(serve.serve)
app.command("actuals")(actuals.actuals)
app.command("drift")(drift.drift)
app.command("retrain")(retrain.retrain)
app.command("rollback")(retrain.rollback)
app.command("daily")(daily.daily)
app.command("scheduler")(daily.scheduler)
app.command("replay")(replay.replay)
app.command("report")(report.report)
app.command("study")(study.study)
app.command("families")(families.families)
app.command("leaderboard")(leaderboard.leaderboard)


@app.command("version")
def version() -> None:
    """Print the stocky version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entrypoint: one BLAS thread, logging, then the command."""
    from pydantic import ValidationError

    limit_blas_threads(1)
    try:
        settings = get_settings()
    except ValidationError as exc:
        print(f"error: {settings_error_message(exc)}", file=sys.stderr)
        raise SystemExit(2) from exc
    configure_logging(
        settings.log_level,
        repeat_seconds=settings.log_repeat_seconds,
        log_format=settings.log_format,
    )
    # SIGTERM unwinds (locks released, MLflow runs ended as KILLED, pools shut down) and exits
    # with 143; `serve` installs uvicorn's own handlers over it
    terminate_on_sigterm()
    app()
