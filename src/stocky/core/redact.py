"""Hide credentials in text that is shown or logged: URL passwords and `password=` pairs.

`http://admin:Secret@host` becomes `http://admin:***@host`, anywhere in a message (error texts
of MLflow and database drivers quote the URL they were given). Pure string functions.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "mask_url", "redact"]

MASK = "***"

# scheme://user:password@ : the password runs to the last "@" before whitespace, "/" or a quote
# (an unencoded "@" in a password is invalid but seen in the wild).
_USERINFO = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@'\"]*:)(?P<secret>[^\s/'\"]*)@"
)
# libpq-style "password=secret" (or password: secret) in driver messages and DSNs
_PAIR = re.compile(r"(?P<head>\bpassword\s*[=:]\s*)(?P<secret>'[^']*'|\"[^\"]*\"|[^\s,;&]+)", re.I)


def _mask(match: re.Match[str]) -> str:
    return f"{match.group('head')}{MASK}" + ("@" if match.re is _USERINFO else "")


def redact(text: str) -> str:
    """`text` with every URL password and `password=` value replaced by `***`.

    Args:
        text: Any message: an error, a log line, a URL.

    Returns:
        The same text; user names, hosts and paths stay readable.
    """
    if "://" not in text and "assword" not in text.lower():
        return text  # the common case costs one scan
    return _PAIR.sub(_mask, _USERINFO.sub(_mask, text))


def mask_url(url: str) -> str:
    """A URL with its password (if any) replaced by `***`: `http://u:***@host/path`."""
    return redact(url)
