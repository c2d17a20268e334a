"""Per-client rate limits on the forecast routes, counted by the `limits` library.

A client is its key id, or its IP address when it sends no key. Counts live in this worker's
memory by default (`memory://`): each worker process counts alone, so `serve --workers 4`
with "100/second" lets a client through up to 4 x 100 times per second. With
`STOCKY_RATE_LIMIT_STORAGE=redis://host:6379` every worker on every host counts in one Redis,
and the limit holds for all of them together.

When Redis does not answer, requests are let through (the limit fails open) and the failure is
logged: an outage of the limiter must not become an outage of the forecasts. Keys still apply.
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

    from stocky.config import Settings

__all__ = ["ClientRateLimiter", "RateLimited"]

log = logging.getLogger(__name__)

#: Seconds a Redis call may take before the request goes on without the limit.
REDIS_TIMEOUT_SECONDS = 0.5
KEY_PREFIX = "stocky"


class RateLimited(Exception):
    """A client passed its limit; the API answers 429 with Retry-After."""

    def __init__(self, limit: str, retry_after: int) -> None:
        super().__init__(
            f"rate limit of {limit} exceeded: retry after {retry_after} s, or ask for a "
            "higher STOCKY_RATE_LIMIT"
        )
        self.limit = limit
        self.retry_after = retry_after


class _NotStarted(Exception):
    """Stands for limits' StorageError until `start` imports it."""


class ClientRateLimiter:
    """Hit a client's counters; raise RateLimited when one is full.

    Build it with `from_settings` and `await start()` on the event loop that serves requests
    (Redis connections belong to one loop); `await close()` at shutdown.

    Args:
        items: The limits ("100/second" parsed), all applied.
        storage_url: memory:// or redis://...
        strategy: moving-window, sliding-window-counter or fixed-window.
        clock: Wall-clock seconds (the storages' clock), for Retry-After.
    """

    def __init__(
        self,
        items: list[RateLimitItem],
        *,
        storage_url: str = "memory://",
        strategy: str = "moving-window",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.items = items
        self.storage_url = storage_url
        self.strategy = strategy
        self._clock = clock
        self._limiter: Strategy | None = None
        self._pool: Any = None
        self._storage_error: type[Exception] = _NotStarted

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientRateLimiter | None:
        """The limiter STOCKY_RATE_LIMIT* configure, or None when no limit is set."""
        if not settings.rate_limit:
            return None
        from limits import parse_many

        return cls(
            parse_many(settings.rate_limit),
            storage_url=settings.rate_limit_storage,
            strategy=settings.rate_limit_strategy,
        )

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

    async def hit(self, client: str) -> None:
        """Count one request of `client` against every limit.

        Raises:
            RateLimited: A limit is full; `retry_after` says when a request fits again.
        """
        limiter = self._limiter
        if limiter is None:
            raise RuntimeError("ClientRateLimiter.hit before start(): start it in the lifespan")
        try:
            for item in self.items:
                if not await limiter.hit(item, "client", client):
                    stats = await limiter.get_window_stats(item, "client", client)
                    wait = max(1, math.ceil(stats.reset_time - self._clock()))
                    raise RateLimited(str(item), wait)
        except self._storage_error as exc:
            # fail open: forecasts go on without the limit, and the outage is logged
            log.error(
                "rate limit storage %s failed; request let through without a limit: %s",
                redact(self.storage_url),
                redact(str(getattr(exc, "storage_error", exc))),
            )
