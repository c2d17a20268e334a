"""Small words that must match their numbers: plurals and version changes."""

from __future__ import annotations

__all__ = ["count", "version_change"]


def count(n: int, word: str, plural: str | None = None) -> str:
    """`1 ticker`, `3 tickers`, `0 tickers`; `plural` for irregular words (`1 policy`,
    `2 policies`)."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def version_change(before: int | None, after: int | None) -> str:
    """A champion's change: `v1 -> v2`, `new -> v1` (no version before), `v2 -> none`."""
    left = f"v{before}" if before is not None else "new"
    right = f"v{after}" if after is not None else "none"
    return f"{left} -> {right}"
