"""Ticker symbols: one normalising function, one documented alphabet.

A symbol is 1-20 characters of upper-case letters, digits and `^ . - = _` with at least one
letter or digit: `^GSPC`, `BRK-B`, `BRK.B`, `EURUSD=X`, `GC=F`, `0700.HK`. Anything else (spaces
inside, `<`, `/`, quotes, control characters) is refused with a message naming the symbol, so a
hostile name in a CSV or a request never reaches a URL, a file name, HTML or a registry name.
"""

from __future__ import annotations

import re

from stocky.errors import BadInput

__all__ = [
    "TICKER_ALPHABET",
    "TICKER_MAX_LENGTH",
    "normalize_ticker",
    "normalize_tickers",
    "ticker_slug",
]

TICKER_MAX_LENGTH = 20
TICKER_ALPHABET = "A-Z 0-9 ^ . - = _"
_PATTERN = re.compile(rf"[A-Z0-9^.\-=_]{{1,{TICKER_MAX_LENGTH}}}")
_HAS_ALNUM = re.compile(r"[A-Z0-9]")


def normalize_ticker(value: str) -> str:
    """Strip and upper-case a symbol, and check it against the alphabet.

    Args:
        value: A symbol as typed or read (`" aapl "`).

    Returns:
        The normalised symbol (`"AAPL"`).

    Raises:
        BadInput: The symbol is empty, too long, or has a character outside the alphabet.
    """
    if not isinstance(value, str):
        raise BadInput(f"ticker {value!r} is not text: send a symbol such as AAPL or ^GSPC")
    symbol = value.strip().upper()
    if not _PATTERN.fullmatch(symbol) or not _HAS_ALNUM.search(symbol):
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise BadInput(
            f"ticker {shown!r} is not a symbol: use 1-{TICKER_MAX_LENGTH} characters of "
            f"{TICKER_ALPHABET} (e.g. AAPL, ^GSPC, BRK-B)"
        )
    return symbol


def normalize_tickers(values: list[str] | tuple[str, ...]) -> list[str]:
    """Normalise several symbols, dropping repeats and keeping the first order."""
    return list(dict.fromkeys(normalize_ticker(v) for v in values))


def ticker_slug(ticker: str) -> str:
    """Lower-case letters and digits joined by `-`: `^GSPC` -> `gspc`, `BRK.B` -> `brk-b`.

    Names of registered models and state folders are built from it ("" when the symbol has no
    letter or digit).
    """
    return re.sub(r"[^a-z0-9]+", "-", ticker.lower()).strip("-")
