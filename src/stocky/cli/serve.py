"""`stocky serve`: run the API with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from stocky.cli._common import handle_errors, settings_for_cli

__all__ = ["serve"]


@handle_errors
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default STOCKY_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default STOCKY_PORT, 8000).")] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (use PostgreSQL for more than one).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the REST API (docs at /docs). Models load at start-up; no training happens here."""
    from stocky.api.server import run_server
    from stocky.wiring import server_limits

    settings = settings_for_cli()
    run_server(
        limits=server_limits(settings),
        log_repeat_seconds=settings.log_repeat_seconds,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level=log_level,
        log_format=settings.log_format,
    )
