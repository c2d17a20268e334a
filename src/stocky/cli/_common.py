"""Shared CLI plumbing: settings, process set-up, and the StockyError -> exit-code mapping."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from stocky.config import Settings, get_settings
from stocky.core.redact import redact
from stocky.errors import StockyError

if TYPE_CHECKING:
    from stocky.wiring import Stack

__all__ = ["console_err", "handle_errors", "open_stack", "settings_for_cli"]

F = TypeVar("F", bound=Callable[..., Any])


def console_err(message: str) -> None:
    """Print one message on stderr (URL passwords masked)."""
    print(redact(message), file=sys.stderr)


def settings_for_cli() -> Settings:
    """The process Settings, with the state folder created."""
    settings = get_settings()
    settings.ensure_home()
    return settings


def open_stack(**overrides: Any) -> Stack:
    """The process Settings with CLI overrides (None means "not given"), built into a Stack.

    Use it as a context manager: `with open_stack(order=order) as stack: ...`.
    """
    from stocky.wiring import build_stack, settings_with

    return build_stack(settings_with(settings_for_cli(), **overrides))


def handle_errors(func: F) -> F:
    """Turn a StockyError into `error: <message>` on stderr and its exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except StockyError as exc:
            console_err(f"error: {exc}")
            raise typer.Exit(code=exc.exit_code) from exc

    return wrapper  # type: ignore[return-value]
