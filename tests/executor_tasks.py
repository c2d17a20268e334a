"""Module-level task functions for executor tests (worker processes import them by name)."""

from __future__ import annotations

import os

from stocky.errors import DataUnavailable


def square_or_fail(item: int, offset: int) -> tuple[int, int]:
    """`item**2 + offset` and the worker's pid; item 3 fails like a ticker without data."""
    if item == 3:
        raise DataUnavailable(f"no data for {item}")
    return item * item + offset, os.getpid()


def log_for_ticker(ticker: str) -> int:
    """Log one INFO line with the ticker and a model version; return the worker's pid."""
    import logging

    logging.getLogger("executor_tasks").info(
        "worked on %s", ticker, extra={"ticker": ticker, "model_version": 7}
    )
    return os.getpid()
