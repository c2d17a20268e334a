"""Client API keys in the `api_keys` table: create, list, revoke, and what the API checks.

Only the key's prefix and SHA-256 are stored (see `stocky.core.apikeys`). Keys are revoked,
never deleted, so a prediction's `api_key_id` always names a row.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from stocky.adapters.store.tables import api_keys
from stocky.core.apikeys import KEY_BYTES, IssuedKey, issue_key, validate_key_name
from stocky.errors import BadInput, StoreError

__all__ = ["ActiveKey", "ApiKey", "ApiKeyStore"]

_TRIES = 3  # a 40-bit prefix collides about never; retry a few times anyway


@dataclass(frozen=True)
class ApiKey:
    """One row of `api_keys`, without its hash."""

    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class ActiveKey:
    """What the API needs to check a key: its id and stored hash."""

    id: int
    hash: str


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    # SQLite hands timestamps back without an offset; they were stored in UTC
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise StoreError(f"{moment!r} has no time zone: pass an aware UTC datetime")
    return moment.astimezone(dt.UTC)


class ApiKeyStore:
    """The `api_keys` table.

    Args:
        engine: The stocky database.
        random: Source of KEY_BYTES random bytes (tests pass a fixed one).
    """

    def __init__(
        self, engine: sa.Engine, *, random: Callable[[int], bytes] = secrets.token_bytes
    ) -> None:
        self.engine = engine
        self._random = random

    def create(self, name: str, *, now: dt.datetime) -> tuple[ApiKey, str]:
        """Store a new key for the client `name`; return its row and the key (shown once).

        Raises:
            BadInput: The name is empty or too long.
            StoreError: The database refused.
        """
        label = validate_key_name(name)
        created = _aware(now)
        for _ in range(_TRIES):
            issued: IssuedKey = issue_key(self._random(KEY_BYTES))
            values = {
                "name": label,
                "prefix": issued.prefix,
                "hash": issued.hash,
                "created_at": created,
            }
            try:
                with self.engine.begin() as conn:
                    key_id = conn.execute(api_keys.insert().values(**values)).inserted_primary_key
            except IntegrityError:
                continue  # the prefix is taken: draw another key
            except SQLAlchemyError as exc:
                raise StoreError(f"could not store the new key {label!r}: {exc}") from exc
            if key_id is None:
                raise StoreError(f"the database returned no id for the new key {label!r}")
            row = ApiKey(int(key_id[0]), label, issued.prefix, created, None, None)
            return row, issued.key
        raise StoreError(f"could not find a free key prefix in {_TRIES} tries: run it again")

    def all(self) -> list[ApiKey]:
        """Every key, oldest first, revoked ones included."""
        c = api_keys.c
        query = sa.select(
            c.id, c.name, c.prefix, c.created_at, c.revoked_at, c.last_used_at
        ).order_by(c.id)
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read the API keys: {exc}") from exc
        return [
            ApiKey(
                int(r.id),
                r.name,
                r.prefix,
                _utc(r.created_at) or r.created_at,
                _utc(r.revoked_at),
                _utc(r.last_used_at),
            )
            for r in rows
        ]

    def revoke(self, which: str, *, now: dt.datetime) -> tuple[ApiKey, bool]:
        """Revoke the key with this id or prefix; return it and whether it was active.

        Raises:
            BadInput: No key has that id or prefix.
            StoreError: The database refused.
        """
        text = which.strip()
        if text.startswith("stocky_"):  # a whole key pasted, or its displayed prefix
            text = text.split("_")[1]
        found = [k for k in self.all() if str(k.id) == text or k.prefix == text.lower()]
        if not found:
            shown = text if len(text) <= 20 else text[:20] + "..."
            raise BadInput(
                f"no API key has id or prefix {shown!r}: see `stocky keys list` for both"
            )
        key = found[0]
        if not key.active:
            return key, False
        moment = _aware(now)
        stmt = (
            api_keys.update()
            .where(api_keys.c.id == key.id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=moment)
        )
        try:
            with self.engine.begin() as conn:
                changed = conn.execute(stmt).rowcount
        except SQLAlchemyError as exc:
            raise StoreError(f"could not revoke key {key.id}: {exc}") from exc
        return ApiKey(key.id, key.name, key.prefix, key.created_at, moment, key.last_used_at), bool(
            changed
        )

    def active(self) -> dict[str, ActiveKey]:
        """Keys not revoked, by prefix (the API's cache reads this).

        Raises:
            StoreError: The database refused.
        """
        c = api_keys.c
        query = sa.select(c.id, c.prefix, c.hash).where(c.revoked_at.is_(None))
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
        except SQLAlchemyError as exc:
            raise StoreError(f"could not read the API keys: {exc}") from exc
        return {r.prefix: ActiveKey(int(r.id), r.hash) for r in rows}

    def touch(self, ids: Iterable[int], *, now: dt.datetime) -> None:
        """Set `last_used_at` of these keys to `now`.

        Raises:
            StoreError: The database refused.
        """
        wanted = sorted(set(ids))
        if not wanted:
            return
        stmt = api_keys.update().where(api_keys.c.id.in_(wanted)).values(last_used_at=_aware(now))
        try:
            with self.engine.begin() as conn:
                conn.execute(stmt)
        except SQLAlchemyError as exc:
            raise StoreError(f"could not record the use of API keys {wanted}: {exc}") from exc
