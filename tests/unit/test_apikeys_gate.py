"""Client keys and rate limits, offline: key form and hash, header parsing, the key cache's
time to live, the gate's decisions, the in-memory limiter and the settings' checks."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import Iterable

import pytest
from pydantic import ValidationError

from stocky.adapters.store.keys import ActiveKey
from stocky.api.auth import ClientGate, KeyCache, Unauthorized, credential
from stocky.api.ratelimit import ClientRateLimiter, RateLimited
from stocky.config import Settings
from stocky.core.apikeys import (
    KEY_BYTES,
    hash_key,
    issue_key,
    key_matches,
    key_prefix,
    validate_key_name,
)
from stocky.errors import BadInput, StoreError
from stocky.wiring import rate_limiter

NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)


def _key(seed: int = 1):
    return issue_key(bytes([seed]) * KEY_BYTES)


def test_issued_key_has_the_documented_form_and_stores_only_its_sha256():
    issued = _key(7)
    assert issued.prefix == "07" * 5
    assert issued.key.startswith(f"stocky_{issued.prefix}_")
    assert len(issued.key.split("_", 2)[2]) == 43  # 32 bytes, base64url without padding
    assert issued.hash == hashlib.sha256(issued.key.encode()).hexdigest() == hash_key(issued.key)
    assert issued.key not in issued.hash
    assert key_prefix(issued.key) == issued.prefix


def test_key_matches_only_the_exact_key():
    issued = _key(3)
    assert key_matches(issued.key, issued.hash)
    changed = issued.key[:-1] + ("A" if issued.key[-1] != "A" else "B")
    assert key_prefix(changed) == issued.prefix  # same form and prefix ...
    assert not key_matches(changed, issued.hash)  # ... but not the key


@pytest.mark.parametrize(
    "text",
    ["", "stocky", "stocky_0707070707", "Bearer x", "stocky_zz07070707_" + "a" * 43, "x" * 60],
)
def test_malformed_keys_have_no_prefix(text):
    assert key_prefix(text) is None


def test_issue_key_needs_the_full_random_bytes():
    with pytest.raises(ValueError, match=f"{KEY_BYTES} random bytes"):
        issue_key(b"short")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "tab\there"])
def test_key_names_are_checked_with_the_fix(name):
    with pytest.raises(BadInput, match="--name"):
        validate_key_name(name)
    assert validate_key_name("  reporting job ") == "reporting job"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], None),
        ([(b"x-api-key", b" k1 ")], "k1"),
        ([(b"authorization", b"Bearer k2")], "k2"),
        ([(b"authorization", b"bearer   k2 ")], "k2"),
        ([(b"authorization", b"Basic dXNlcjpwdw==")], None),
        ([(b"authorization", b"Bearer k2"), (b"x-api-key", b"k1")], "k1"),  # X-API-Key wins
    ],
)
def test_credential_reads_x_api_key_or_bearer(headers, expected):
    assert credential(headers) == expected


class FakeKeyStore:
    """The `api_keys` table in memory, counting reads."""

    def __init__(self, *keys: tuple[int, str]) -> None:
        self.keys = {key_prefix(k): ActiveKey(i, hash_key(k)) for i, k in keys}
        self.loads = 0
        self.touched: list[tuple[list[int], dt.datetime]] = []
        self.fail = False

    def active(self) -> dict[str, ActiveKey]:
        self.loads += 1
        if self.fail:
            raise StoreError("the database is gone")
        return dict(self.keys)

    def touch(self, ids: Iterable[int], *, now: dt.datetime) -> None:
        if ids := sorted(ids):
            self.touched.append((ids, now))

    def revoke(self, key: str) -> None:
        del self.keys[key_prefix(key)]


class Ticker:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _cache(store: FakeKeyStore, clock: Ticker, ttl: float = 5.0) -> KeyCache:
    return KeyCache(store, ttl=ttl, clock=lambda: NOW, monotonic=clock)


def test_a_revoked_key_works_until_the_cache_expires_then_never():
    key = _key(1).key
    store, clock = FakeKeyStore((1, key)), Ticker()
    cache = _cache(store, clock, ttl=5.0)

    async def run() -> list[int | None]:
        seen = [await cache.lookup(key)]
        store.revoke(key)
        clock.t += 4.9
        seen.append(await cache.lookup(key))  # still cached
        clock.t += 0.2
        seen.append(await cache.lookup(key))  # reloaded: gone
        return seen

    assert asyncio.run(run()) == [1, 1, None]
    assert store.loads == 2
    # the use before the reload is recorded by the reload
    assert store.touched == [([1], NOW)]


def test_unknown_and_malformed_keys_are_refused_and_malformed_ones_cost_no_read():
    key = _key(1).key
    store, clock = FakeKeyStore((1, key)), Ticker()
    cache = _cache(store, clock)

    async def run() -> tuple[int | None, int | None, int | None]:
        return (
            await cache.lookup("not-a-key"),
            await cache.lookup(_key(2).key),
            await cache.lookup(key),
        )

    assert asyncio.run(run()) == (None, None, 1)
    assert store.loads == 1


def test_concurrent_lookups_share_one_reload():
    key = _key(1).key
    store, clock = FakeKeyStore((1, key)), Ticker()
    cache = _cache(store, clock)

    async def run() -> list[int | None]:
        return list(await asyncio.gather(*(cache.lookup(key) for _ in range(20))))

    assert asyncio.run(run()) == [1] * 20
    assert store.loads == 1


def test_a_failed_reload_raises_and_keeps_the_uses_for_the_next():
    key = _key(1).key
    store, clock = FakeKeyStore((1, key)), Ticker()
    cache = _cache(store, clock, ttl=1.0)

    async def run() -> None:
        assert await cache.lookup(key) == 1
        clock.t += 2
        store.fail = True
        with pytest.raises(StoreError):
            await cache.lookup(key)
        store.fail = False
        assert await cache.lookup(key) == 1
        await cache.flush()

    asyncio.run(run())
    # the failed reload (its touch went through, its read did not), the next reload (which
    # writes the uses again: harmless), and the flush of the last lookup
    assert [ids for ids, _ in store.touched] == [[1], [1], [1]]


def _gate(require: bool, limiter: ClientRateLimiter | None = None, *keys: tuple[int, str]):
    return ClientGate(require=require, keys=_cache(FakeKeyStore(*keys), Ticker()), limiter=limiter)


def _scope(headers: list[tuple[bytes, bytes]] = (), host: str = "10.0.0.1") -> dict:
    return {"headers": list(headers), "client": (host, 50000)}


def test_gate_without_require_admits_anonymous_clients_but_checks_a_sent_key():
    key = _key(1).key
    gate = _gate(False, None, (4, key))

    async def run() -> None:
        anonymous = await gate.admit(_scope())
        assert anonymous.key_id is None
        known = await gate.admit(_scope([(b"authorization", f"Bearer {key}".encode())]))
        assert known.key_id == 4 and known.identity == "key:4"
        with pytest.raises(Unauthorized, match="not valid"):
            await gate.admit(_scope([(b"x-api-key", b"stocky_guess")]))

    asyncio.run(run())


def test_gate_with_require_refuses_a_request_without_key_and_says_how():
    gate = _gate(True, None)

    async def run() -> None:
        with pytest.raises(Unauthorized, match="X-API-Key: <key> or Authorization: Bearer"):
            await gate.admit(_scope())

    asyncio.run(run())


def test_memory_limit_counts_per_client_and_says_when_to_retry():
    from limits import parse_many

    limiter = ClientRateLimiter(parse_many("3/minute"))
    key = _key(1).key
    gate = _gate(False, limiter, (9, key))
    by_key = _scope([(b"x-api-key", key.encode())])

    async def run() -> tuple[list[str], int]:
        await gate.start()
        outcomes = []
        for scope in [by_key] * 4 + [_scope(host="10.0.0.2")] * 4:
            try:
                await gate.admit(scope)
                outcomes.append("ok")
            except RateLimited as exc:
                outcomes.append("429")
                retry = exc.retry_after
        await gate.close()
        return outcomes, retry

    outcomes, retry = asyncio.run(run())
    # the key and the address have a budget of 3 each
    assert outcomes == ["ok", "ok", "ok", "429"] * 2
    assert 1 <= retry <= 60


def test_memory_limit_lets_requests_through_again_after_the_window():
    from limits import parse_many

    limiter = ClientRateLimiter(parse_many("2/second"), strategy="fixed-window")

    async def run() -> list[bool]:
        await limiter.start()
        seen = []
        for pause in (0, 0, 0, 1.05):
            await asyncio.sleep(pause)
            try:
                await limiter.hit("ip:a")
                seen.append(True)
            except RateLimited as exc:
                assert exc.retry_after == 1
                seen.append(False)
        await limiter.close()
        return seen

    assert asyncio.run(run()) == [True, True, False, True]


@pytest.mark.parametrize(
    ("field", "value", "fix"),
    [
        ("rate_limit", "100 per sec0nd", "write e.g. '100/second'"),
        ("rate_limit", "lots", "write e.g. '100/second'"),
        ("rate_limit_storage", "mongodb://h", "use memory:// or redis://host:6379"),
        ("rate_limit_storage", "redis//h", "use memory:// or redis://host:6379"),
    ],
)
def test_bad_rate_limit_settings_name_the_value_and_the_fix(field, value, fix):
    with pytest.raises(ValidationError, match=fix):
        Settings(**{field: value})


def test_rate_limit_storage_message_hides_a_password():
    with pytest.raises(ValidationError) as info:
        Settings(rate_limit_storage="memcached://user:hunter2@cache:11211")
    message = info.value.errors()[0]["msg"]  # what `stocky` prints for a bad setting
    assert "memcached://user:***@cache:11211" in message and "hunter2" not in message


def test_rate_limits_are_off_by_default_and_parse_when_set():
    assert rate_limiter(Settings()) is None
    limiter = rate_limiter(
        Settings(rate_limit=" 100/second;2000/minute ", rate_limit_storage="redis://h:6379/0")
    )
    assert limiter is not None and limiter.shared
    assert [(i.amount, i.GRANULARITY.name) for i in limiter.items] == [
        (100, "second"),
        (2000, "minute"),
    ]
