"""Module-level task functions for executor tests (worker processes import them by name)."""

from __future__ import annotations

import os

from stocky.errors import DataUnavailable


def square_or_fail(item: int, offset: int) -> tuple[int, int]:
    """`item**2 + offset` and the worker's pid; item 3 fails like a ticker without data."""
    if item == 3:
        raise DataUnavailable(f"no data for {item}")
    return item * item + offset, os.getpid()
