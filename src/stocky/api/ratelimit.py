"""Per-client rate limits on the forecast routes, counted by the `limits` library.

A client is its key id, or its IP address when it sends no key. Counts live in this worker's
memory by default (`memory://`): each worker process counts alone, so `serve --workers 4`
with "100/second" lets a client through up to 4 x 100 times per second. With
`STOCKY_RATE_LIMIT_STORAGE=redis://host:6379` every worker on every host counts in one Redis,
and the limit holds for all of them together.

When Redis does not answer, requests are let through (the limit fails open) and the failure is
logged: an outage of the limiter must not become an outage of the forecasts. Keys still apply.
A circuit breaker keeps a hung Redis from costing every request its timeout: after a failure the
limiter skips Redis for `COOL_OFF_SECONDS` (logged once), then tries it again.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from stocky.core.redact import redact

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.aio.strategies import RateLimiter as Strategy


__all__ = ["ClientRateLimiter", "RateLimited"]

log = logging.getLogger(__name__)

#: Seconds a Redis call may take before the request goes on without the limit.
REDIS_TIMEOUT_SECONDS = 0.5
KEY_PREFIX = "stocky"
#: Seconds the limiter leaves a failed storage alone before trying it again.
COOL_OFF_SECONDS = 30.0


class RateLimited(Exception):
    """A client passed its limit; the API answers 429 with Retry-After."""

    def __init__(self, limit: str, retry_after: int, *, detail: str | None = None) -> None:
        super().__init__(
            detail
            or f"rate limit of {limit} exceeded: retry after {retry_after} s, or ask for a "
            "higher STOCKY_RATE_LIMIT"
        )
        self.limit = limit
        self.retry_after = retry_after


class _NotStarted(Exception):
    """Stands for limits' StorageError until `start` imports it."""


class ClientRateLimiter:
    """Hit a client's counters; raise RateLimited when one is full.

    Build it with `stocky.wiring.rate_limiter` and `await start()` on the event loop that serves requests
    (Redis connections belong to one loop); `await close()` at shutdown.

    Args:
        items: The limits ("100/second" parsed), all applied.
        storage_url: memory:// or redis://...
        strategy: moving-window, sliding-window-counter or fixed-window.
        clock: Wall-clock seconds (the storages' clock), for Retry-After.
        monotonic: Seconds, for the circuit breaker's cool-off.
        cool_off: Seconds a failed storage is skipped before it is tried again.
    """

    def __init__(
        self,
        items: list[RateLimitItem],
        *,
        storage_url: str = "memory://",
        strategy: str = "moving-window",
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        cool_off: float = COOL_OFF_SECONDS,
    ) -> None:
        self.items = items
        self.cool_off = cool_off
        self._monotonic = monotonic
        #: While set, the storage failed and is skipped until this monotonic time.
        self.open_until: float | None = None
        self.storage_url = storage_url
        self.strategy = strategy
        self._clock = clock
        self._limiter: Strategy | None = None
        self._pool: Any = None
        self._storage_error: type[Exception] = _NotStarted

    @property
    def shared(self) -> bool:
        """Whether the counts are shared between processes (Redis)."""
        return not self.storage_url.startswith("memory")

    async def start(self) -> None:
        """Open the storage (no network call yet: Redis connects on first use)."""
        from limits.aio import strategies
        from limits.errors import StorageError
        from limits.storage import storage_from_string

        self._storage_error = StorageError
        if self.shared:
            import redis.asyncio

            url = self.storage_url
            self._pool = redis.asyncio.ConnectionPool.from_url(
                url,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            )
            storage = storage_from_string(
                "async+" + url,
                implementation="redispy",
                wrap_exceptions=True,
                key_prefix=KEY_PREFIX,
                connection_pool=self._pool,
            )
        else:
            storage = storage_from_string("async+memory://")
        kinds = {
            "moving-window": strategies.MovingWindowRateLimiter,
            "sliding-window-counter": strategies.SlidingWindowCounterRateLimiter,
            "fixed-window": strategies.FixedWindowRateLimiter,
        }
        self._limiter = kinds[self.strategy](storage)  # type: ignore[abstract]

    async def close(self) -> None:
        """Close Redis connections (nothing for memory)."""
        pool, self._pool = self._pool, None
        self._limiter = None
        if pool is not None:
            await pool.disconnect()

    async def hit(self, client: str, *, cost: int = 1, batch: int | None = None) -> None:
        """Count `cost` requests of `client` against every limit.

        Args:
            client: Who is counted ("key:<id>" or "ip:<address>").
            cost: Requests to count (a batch: one per item).
            batch: The items of the batch this cost belongs to (its first was counted when it
                was admitted): a batch over a limit's amount is refused outright.

        Raises:
            RateLimited: A limit is full; `retry_after` says when a request fits again.
        """
        limiter = self._limiter
        if limiter is None:
            raise RuntimeError("ClientRateLimiter.hit before start(): start it in the lifespan")
        size = cost if batch is None else batch
        for item in self.items:
            if size > item.amount:  # could never pass: say so instead of "retry after"
                raise RateLimited(
                    str(item),
                    item.get_expiry(),
                    detail=(
                        f"{size} forecasts in one batch are over the rate limit of {item}: "
                        f"send at most {item.amount} items per batch, or ask for a higher "
                        "STOCKY_RATE_LIMIT"
                    ),
                )
        if cost <= 0:
            return
        if self.open_until is not None:
            if self._monotonic() < self.open_until:
                return  # the storage failed recently: let the request through without asking
            self.open_until = None  # cool-off over: try the storage again
            probing = True
        else:
            probing = False
        try:
            for item in self.items:
                if not await limiter.hit(item, "client", client, cost=cost):
                    stats = await limiter.get_window_stats(item, "client", client)
                    wait = max(1, math.ceil(stats.reset_time - self._clock()))
                    raise RateLimited(str(item), wait)
        except self._storage_error as exc:
            # fail open: forecasts go on without the limit; the storage is left alone for the
            # cool-off, so a hung Redis costs one timeout per cool-off, not one per request
            self.open_until = self._monotonic() + self.cool_off
            log.error(
                "rate limit storage %s failed; requests are let through without a limit for "
                "%g s before it is tried again: %s",
                redact(self.storage_url),
                self.cool_off,
                redact(str(getattr(exc, "storage_error", exc))),
            )
            return
        if probing:
            log.warning("rate limit storage %s answers again", redact(self.storage_url))
