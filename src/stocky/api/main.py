"""Entrypoint for uvicorn workers: `uvicorn --factory stocky.api.main:app_factory`."""

from __future__ import annotations

from fastapi import FastAPI

from stocky.config import get_settings, settings_error_message
from stocky.runtime import configure_logging, limit_blas_threads

__all__ = ["app_factory"]


def app_factory() -> FastAPI:
    """Build the app from the environment (each worker process calls this once)."""
    from pydantic import ValidationError

    from stocky.api.app import create_app

    limit_blas_threads(1)
    try:
        settings = get_settings()
    except ValidationError as exc:  # one clear line, not a traceback, in the server's log
        raise SystemExit(f"error: {settings_error_message(exc)}") from None
    configure_logging(
        settings.log_level,
        repeat_seconds=settings.log_repeat_seconds,
        log_format=settings.log_format,
    )
    return create_app(settings)
