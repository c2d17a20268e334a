"""Client API keys: their form, their hash, and the constant-time check. Pure functions.

A key reads `stocky_<prefix>_<secret>`: the prefix (10 hex digits, 40 bits) is public, shown
by `stocky keys list` and used to find the key's row; the secret is 256 random bits. The
database keeps the prefix and the SHA-256 of the whole key, never the key. A fast hash is
the right one here: with 256 random bits there is nothing for a slow hash to protect against
guessing, and the API checks a key on every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from stocky.errors import BadInput

__all__ = [
    "KEY_BYTES",
    "IssuedKey",
    "hash_key",
    "issue_key",
    "key_matches",
    "key_prefix",
    "validate_key_name",
]

_SCHEME = "stocky"
_PREFIX_BYTES = 5
_SECRET_BYTES = 32
#: Random bytes that make one key: the prefix's, then the secret's.
KEY_BYTES = _PREFIX_BYTES + _SECRET_BYTES
_KEY = re.compile(rf"{_SCHEME}_(?P<prefix>[0-9a-f]{{{2 * _PREFIX_BYTES}}})_[A-Za-z0-9_-]{{43}}")
_NAME_MAX = 100


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `key` is shown once to whoever created it; only `prefix` and `hash` are kept."""

    prefix: str
    key: str
    hash: str


def hash_key(key: str) -> str:
    """The SHA-256 (hex) of a key, as stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(random: bytes) -> IssuedKey:
    """Make a key from `random` (KEY_BYTES bytes from `secrets.token_bytes`).

    Raises:
        ValueError: `random` is not KEY_BYTES long (a programming error).
    """
    if len(random) != KEY_BYTES:
        raise ValueError(f"a key needs {KEY_BYTES} random bytes, got {len(random)}")
    prefix = random[:_PREFIX_BYTES].hex()
    secret = base64.urlsafe_b64encode(random[_PREFIX_BYTES:]).decode().rstrip("=")
    key = f"{_SCHEME}_{prefix}_{secret}"
    return IssuedKey(prefix=prefix, key=key, hash=hash_key(key))


def key_prefix(key: str) -> str | None:
    """The prefix of a well-formed key, or None for anything else."""
    match = _KEY.fullmatch(key)
    return None if match is None else match.group("prefix")


def key_matches(key: str, stored_hash: str) -> bool:
    """Whether `key` hashes to `stored_hash`, compared in constant time."""
    return hmac.compare_digest(hash_key(key).encode(), stored_hash.encode())


def validate_key_name(name: str) -> str:
    """A key's name (who or what uses it), stripped.

    Raises:
        BadInput: Empty, longer than 100 characters, or holding control characters.
    """
    text = name.strip()
    if not text or len(text) > _NAME_MAX or not text.isprintable():
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise BadInput(
            f"key name {shown!r} is not usable: give 1-{_NAME_MAX} printable characters "
            "naming the client, e.g. --name reporting-job"
        )
    return text
