"""Values read from data, written into a message as data: quoted, inert, bounded.

An error or alert message names the bad cell it found (`row 7 has Close 'abc'`), and that text
travels on: to stderr through a terminal that reads Rich markup, into `alerts.message`, to
webhook and Apprise targets that may render HTML or Markdown, into HTML pages. `shown` writes
a value so that none of those can take it for markup: in single quotes, with the characters
that start markup (`< > & [ ] backtick`), quotes, backslashes and unprintable characters
written as Python escapes, cut to a length with its full length said. Pure string functions.
"""

from __future__ import annotations

__all__ = ["SHOWN_LIMIT", "shown"]

#: Characters of a value kept in a message before it is cut.
SHOWN_LIMIT = 40

_ESCAPED = frozenset("<>&[]`'\\")


def _char(char: str) -> str:
    if char not in _ESCAPED and char.isprintable():
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def shown(value: object, *, limit: int = SHOWN_LIMIT) -> str:
    """`value` as it should appear in a message: quoted, markup-free and at most `limit`
    characters of it.

    `'<img src=x onerror=alert(1)>'` becomes `'\\x3cimg src=x onerror=alert(1)\\x3e'`;
    `'abc'` stays `'abc'`; a value longer than `limit` ends with `...' (N characters)`.
    Non-text values are shown by their `str` (`np.int64(0)` as `'0'`).

    Args:
        value: The cell, name or value read from data.
        limit: Characters of it kept.

    Returns:
        The quoted text.
    """
    text = value if isinstance(value, str) else str(value)
    body = "".join(_char(c) for c in text[:limit])
    if len(text) > limit:
        return f"'{body}...' ({len(text)} characters)"
    return f"'{body}'"
