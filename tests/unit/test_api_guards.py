"""The API's in-process guards: wrong keys per address (FailedKeys) and the rate limiter's
circuit breaker, on fake clocks."""

from __future__ import annotations

import asyncio
import logging

import pytest
from limits import parse_many

from stocky.api.auth import FailedKeys
from stocky.api.ratelimit import ClientRateLimiter, RateLimited


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_refused_after_the_limit_until_its_oldest_failure_ages_out():
    clock = Clock()
    failed = FailedKeys(limit=3, window=60, monotonic=clock)
    for _ in range(2):
        failed.failed("10.0.0.1")
        clock.now += 1
    assert failed.retry_after("10.0.0.1") is None  # 2 of 3
    failed.failed("10.0.0.1")
    assert failed.retry_after("10.0.0.1") == 58  # the first failure (t=1000) counts until 1060
    assert failed.retry_after("10.0.0.2") is None  # other addresses are not affected
    clock.now = 1060.0
    assert failed.retry_after("10.0.0.1") is None


def test_tracked_addresses_are_bounded():
    clock = Clock()
    failed = FailedKeys(limit=1, window=60, max_addresses=2, monotonic=clock)
    for address in ("a", "b", "c"):
        failed.failed(address)
    assert failed.retry_after("a") is None  # forgotten, the oldest
    assert failed.retry_after("b") == 60 and failed.retry_after("c") == 60


class FailingStorage(Exception):
    pass


class FakeStrategy:
    """limits' strategy interface: counts calls, fails while `down`."""

    def __init__(self) -> None:
        self.calls = 0
        self.down = True

    async def hit(self, item, *identifiers, cost=1):
        self.calls += 1
        if self.down:
            raise FailingStorage("Timeout reading from 127.0.0.1:6379")
        return True


def _limiter(clock: Clock) -> tuple[ClientRateLimiter, FakeStrategy]:
    limiter = ClientRateLimiter(
        parse_many("100/second"), storage_url="redis://127.0.0.1:6379", monotonic=clock, cool_off=30
    )
    strategy = FakeStrategy()
    limiter._limiter = strategy  # type: ignore[assignment]
    limiter._storage_error = FailingStorage
    return limiter, strategy


def test_a_failed_storage_is_skipped_for_the_cool_off_and_logged_once(caplog):
    clock = Clock()
    limiter, storage = _limiter(clock)

    async def hits(n: int) -> None:
        for _ in range(n):
            await limiter.hit("ip:a")

    with caplog.at_level(logging.WARNING, logger="stocky.api.ratelimit"):
        asyncio.run(hits(20))
        assert storage.calls == 1  # not one timeout per request
        assert caplog.text.count("let through without a limit") == 1
        clock.now += 31
        storage.down = False
        asyncio.run(hits(3))
    assert storage.calls == 4  # tried again after the cool-off, then used
    assert "answers again" in caplog.text


def test_a_batch_over_a_limit_is_refused_outright():
    clock = Clock()
    limiter, storage = _limiter(clock)
    storage.down = False
    with pytest.raises(RateLimited, match=r"1000 forecasts in one batch .* at most 100 items"):
        asyncio.run(limiter.hit("ip:a", cost=999, batch=1000))
    assert storage.calls == 0
