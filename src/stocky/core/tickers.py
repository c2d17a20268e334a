"""Ticker symbols: one normalising function, one documented alphabet.

A symbol is 1-20 characters of upper-case letters, digits and `^ . - = _` with at least one
letter or digit: `^GSPC`, `BRK-B`, `BRK.B`, `EURUSD=X`, `GC=F`, `0700.HK`. Anything else (spaces
inside, `<`, `/`, quotes, control characters) is refused with a message naming the symbol, so a
hostile name in a CSV or a request never reaches a URL, a file name, HTML or a registry name.
"""

from __future__ import annotations

import re

from stocky.core.shown import shown
from stocky.errors import BadInput

__all__ = [
    "TICKER_ALPHABET",
    "TICKER_MAX_LENGTH",
    "normalize_ticker",
    "normalize_tickers",
    "ticker_from_token",
    "ticker_slug",
    "ticker_token",
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
        raise BadInput(f"ticker {shown(value)} is not text: send a symbol such as AAPL or ^GSPC")
    symbol = value.strip().upper()
    if not _PATTERN.fullmatch(symbol) or not _HAS_ALNUM.search(symbol):
        raise BadInput(
            f"ticker {shown(value)} is not a symbol: use 1-{TICKER_MAX_LENGTH} characters of "
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


#: How `ticker_token` writes each punctuation mark of the alphabet; `-` stays `-`, so `BRK-B`
#: keeps the `brk-b` it always had. `_` starts every escape, so the code is prefix-free.
_ESCAPES = {".": "_d", "^": "_c", "=": "_e", "_": "_u"}
_UNESCAPES = {code[1]: char for char, code in _ESCAPES.items()}


def ticker_token(ticker: str) -> str:
    """A one-to-one, lower-case spelling of a normalised symbol for names of registered models.

    Letters and digits are lower-cased, `-` is kept and every other mark of the alphabet is
    written as `_` and a letter: `.` -> `_d`, `^` -> `_c`, `=` -> `_e`, `_` -> `_u`. So
    `BRK-B` -> `brk-b`, `BRK.B` -> `brk_db`, `BRK_B` -> `brk_ub`, `^GSPC` -> `_cgspc`, and two
    symbols never share a token (`ticker_from_token` reads it back). Tokens use only
    `a-z 0-9 - _` and are at most 2 x TICKER_MAX_LENGTH characters.

    Args:
        ticker: A symbol as `normalize_ticker` returns it (upper-case, in the alphabet).

    Returns:
        The token.

    Raises:
        BadInput: The symbol is not normalised (lower-case, spaces, a mark outside the alphabet).
    """
    if not isinstance(ticker, str) or normalize_ticker(ticker) != ticker:
        raise BadInput(
            f"ticker {ticker!r} is not a normalised symbol: pass it through normalize_ticker "
            "first (upper-case, no spaces)"
        )
    return "".join(_ESCAPES.get(char, char) for char in ticker.lower())


def ticker_from_token(token: str) -> str:
    """The symbol whose `ticker_token` is `token` (the inverse).

    Raises:
        BadInput: `token` is not a token any symbol has.
    """
    chars: list[str] = []
    i = 0
    while i < len(token):
        char = token[i]
        if char == "_":
            char = _UNESCAPES.get(token[i + 1 : i + 2], "")
            if not char:
                raise BadInput(
                    f"{token!r} has an unknown escape at position {i}: a token escapes only "
                    f"{', '.join(_ESCAPES.values())}"
                )
            i += 1
        elif not re.fullmatch(r"[a-z0-9-]", char):
            raise BadInput(f"{token!r} has {char!r} at position {i}: a token is a-z 0-9 - _")
        chars.append(char.upper())
        i += 1
    symbol = "".join(chars)
    if ticker_token(normalize_ticker(symbol)) != token:
        raise BadInput(f"{token!r} is not the token of any symbol")
    return symbol
