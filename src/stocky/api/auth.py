"""Client keys and rate limits on the forecast routes: who is asking, and may they ask now.

A route admits a request with `await admit(request)` (a LeanRoute endpoint, like /predict) or
by taking `ClientDep` (any other route, like /forecast); both give the `Client`, whose key id
is logged with the prediction. Routes that admit clients are listed in `CLIENT_ROUTES`, which
`document_clients` uses to put 401/429 and the key schemes in OpenAPI.

A key is sent as `X-API-Key: <key>` or `Authorization: Bearer <key>`. Without
STOCKY_REQUIRE_API_KEY a request may come without a key, but a key that is sent must be valid.
Keys are read from the database at most every STOCKY_API_KEY_CACHE_SECONDS per worker, so a
revoked key stops working within that time; their `last_used_at` is written at each refresh.

Wrong keys are throttled per client address (`FailedKeys`), with or without STOCKY_RATE_LIMIT:
after `MAX_FAILED_KEYS` wrong keys within `FAILED_KEYS_WINDOW` seconds, the address gets 429
without its keys being checked until the oldest failure is that old, so keys cannot be guessed
at the speed of the server.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from stocky.api.ratelimit import ClientRateLimiter, RateLimited
from stocky.core.apikeys import key_matches, key_prefix
from stocky.errors import StoreError

if TYPE_CHECKING:
    from stocky.adapters.store.keys import ActiveKey

__all__ = [
    "CLIENT_ROUTES",
    "Client",
    "ClientDep",
    "FailedKeys",
    "ClientGate",
    "KeyCache",
    "KeyStore",
    "Unauthorized",
    "admit",
    "credential",
    "document_clients",
    "install_client_handlers",
]

#: (method, path) of every route that admits clients: keys and rate limits apply there.
CLIENT_ROUTES = frozenset(
    {("POST", "/predict"), ("POST", "/predict/batch"), ("GET", "/forecast/{ticker}")}
)

log = logging.getLogger(__name__)

#: Wrong keys one address may send within FAILED_KEYS_WINDOW seconds before it gets 429.
MAX_FAILED_KEYS = 10
FAILED_KEYS_WINDOW = 60.0
#: Addresses remembered at once (the oldest are forgotten first).
MAX_TRACKED_ADDRESSES = 10_000

_HOW = (
    "send it as X-API-Key: <key> or Authorization: Bearer <key>; "
    "an operator creates keys with `stocky keys create --name <client>`"
)


class KeyStore(Protocol):
    """What the cache reads and writes (`stocky.adapters.store.keys.ApiKeyStore`)."""

    def active(self) -> dict[str, ActiveKey]: ...

    def touch(self, ids: Iterable[int], *, now: dt.datetime) -> None: ...


class Unauthorized(Exception):
    """No valid client key; the API answers 401."""


@dataclass(frozen=True)
class Client:
    """Who asked: the key's id, or None and the client's address."""

    key_id: int | None
    #: What rate limits count by: "key:<id>" or "ip:<address>".
    identity: str


def credential(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The key of a request's raw headers: X-API-Key, else Authorization: Bearer; else None."""
    bearer = None
    for name, value in headers:
        if name == b"x-api-key":
            return value.decode("latin-1").strip()
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer":
                bearer = token.strip()
    return bearer


class KeyCache:
    """The active keys of one worker, reloaded at most every `ttl` seconds.

    Args:
        store: The `api_keys` table.
        ttl: Seconds a load serves lookups (a revoked key works at most this long).
        clock: UTC now, for `last_used_at`.
        monotonic: Seconds, for the age of the load.
    """

    def __init__(
        self,
        store: KeyStore,
        *,
        ttl: float,
        clock: Callable[[], dt.datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._clock = clock
        self._monotonic = monotonic
        self._keys: dict[str, ActiveKey] = {}
        self._loaded_at: float | None = None
        self._used: set[int] = set()
        self._lock: asyncio.Lock | None = None

    def _fresh(self) -> bool:
        return self._loaded_at is not None and self._monotonic() - self._loaded_at < self._ttl

    async def lookup(self, key: str) -> int | None:
        """The id of an active key, or None (malformed, unknown, revoked).

        Raises:
            StoreError: The keys could not be read (the API answers 503).
        """
        prefix = key_prefix(key)
        if prefix is None:
            return None
        if not self._fresh():
            await self._reload()
        found = self._keys.get(prefix)
        # the prefix is public; the secret part is compared in constant time
        if found is None or not key_matches(key, found.hash):
            return None
        self._used.add(found.id)
        return found.id

    async def _reload(self) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one reload at a time; the others wait for it
            if self._fresh():
                return
            used, self._used = self._used, set()
            try:
                self._keys = await run_in_threadpool(self._load, used)
            except BaseException:
                self._used |= used  # recorded at the next reload that works
                raise
            self._loaded_at = self._monotonic()

    def _load(self, used: set[int]) -> dict[str, ActiveKey]:
        self._store.touch(used, now=self._clock())
        return self._store.active()

    async def flush(self) -> None:
        """Write `last_used_at` of keys used since the last reload (at shutdown)."""
        used, self._used = self._used, set()
        if used:
            await run_in_threadpool(self._store.touch, used, now=self._clock())


class FailedKeys:
    """Wrong keys per client address in a moving window, in this worker's memory.

    Args:
        limit: Failures allowed within `window` seconds.
        window: Seconds a failure counts.
        max_addresses: Addresses tracked at once (least recently failing forgotten first).
        monotonic: Seconds.
    """

    def __init__(
        self,
        *,
        limit: int = MAX_FAILED_KEYS,
        window: float = FAILED_KEYS_WINDOW,
        max_addresses: int = MAX_TRACKED_ADDRESSES,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_addresses = max_addresses
        self._monotonic = monotonic
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, address: str, now: float) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        while times and now - times[0] >= self.window:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try a key again, or None when it may now."""
        now = self._monotonic()
        times = self._recent(address, now)
        if times is None or len(times) < self.limit:
            return None
        return max(1, math.ceil(times[0] + self.window - now))

    def failed(self, address: str) -> None:
        """Record one wrong key from `address`."""
        now = self._monotonic()
        times = self._recent(address, now)
        if times is None:
            times = self._failures[address] = deque(maxlen=self.limit)
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(address)
        times.append(now)
        if len(times) == self.limit:
            log.warning(
                "%d wrong API keys from %s within %g s: its keys are refused unchecked for a while",
                self.limit,
                address,
                self.window,
            )


class KeyGuessing(RateLimited):
    """Too many wrong keys from one address; the API answers 429 with Retry-After."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"{MAX_FAILED_KEYS}/{FAILED_KEYS_WINDOW:g} seconds",
            retry_after,
            detail=(
                f"too many wrong API keys from this address: retry after {retry_after} s with "
                f"a valid key; {_HOW}"
            ),
        )


class ClientGate:
    """Admit a request: check its key, then count it against its rate limits.

    Args:
        require: Whether a request without a key is refused (STOCKY_REQUIRE_API_KEY).
        keys: The key cache.
        limiter: The rate limiter, or None for no limit.
    """

    def __init__(
        self,
        *,
        require: bool,
        keys: KeyCache,
        limiter: ClientRateLimiter | None,
        failed_keys: FailedKeys | None = None,
    ) -> None:
        self.require = require
        self.keys = keys
        self.limiter = limiter
        self.failed_keys = failed_keys if failed_keys is not None else FailedKeys()
        self._anonymous = Client(None, "ip:unknown")

    async def start(self) -> None:
        """Open the rate limiter's storage (on the serving event loop)."""
        if self.limiter is not None:
            await self.limiter.start()

    async def close(self) -> None:
        """Write pending `last_used_at`s and close the limiter."""
        try:
            await self.keys.flush()
        except StoreError as exc:  # shutting down: say so, and close the limiter anyway
            log.warning("could not record when API keys were last used: %s", exc)
        finally:
            if self.limiter is not None:
                await self.limiter.close()

    async def admit(self, scope: MutableMapping[str, Any]) -> Client:
        """The client of a request, once it may be served.

        Raises:
            Unauthorized: A key is required and missing, or a key was sent and is not valid.
            RateLimited: The client passed a limit, or sent too many wrong keys (KeyGuessing).
            StoreError: The keys could not be read.
        """
        given = credential(scope["headers"])
        if given is None:
            if self.require:
                raise Unauthorized(f"this server needs a client API key: {_HOW}")
            if self.limiter is None:
                return self._anonymous  # the default set-up: nothing to check
            client = Client(None, f"ip:{_address(scope)}")
        else:
            address = _address(scope)
            wait = self.failed_keys.retry_after(address)
            if wait is not None:  # refused before the key is looked at
                raise KeyGuessing(wait)
            key_id = await self.keys.lookup(given)
            if key_id is None:
                self.failed_keys.failed(address)
                raise Unauthorized(
                    f"the API key is not valid (mistyped, revoked or of another server): {_HOW}"
                )
            client = Client(key_id, f"key:{key_id}")
        if self.limiter is not None:
            await self.limiter.hit(client.identity)
        return client

    async def charge(self, client: Client, items: int) -> None:
        """Count the items of a batch admitted as one request (the first was counted then).

        Raises:
            RateLimited: The batch does not fit the client's limit.
        """
        if self.limiter is not None and items > 1:
            await self.limiter.hit(client.identity, cost=items - 1, batch=items)


def _address(scope: MutableMapping[str, Any]) -> str:
    peer = scope.get("client")
    return str(peer[0]) if peer else "unknown"


async def admit(request: Request) -> Client:
    """Admit `request` through its app's gate (for LeanRoute endpoints)."""
    gate: ClientGate = request.app.state.stocky.gate
    return await gate.admit(request.scope)


async def _client(request: Request) -> Client:
    return await admit(request)


ClientDep = Annotated[Client, Depends(_client)]
"""The admitted client of a request, for routes with dependencies."""

_SCHEMES = {
    "ClientKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A client key from `stocky keys create`.",
    },
    "ClientBearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "The same client key, as `Authorization: Bearer <key>`.",
    },
}


def document_clients(app: FastAPI, *, required: bool) -> None:
    """Put the client key schemes in the app's OpenAPI, on every client route: required, or
    optional (OpenAPI's `{}`, "or no key at all")."""
    security: list[dict[str, list[str]]] = [{name: []} for name in _SCHEMES]
    if not required:
        security.append({})
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()  # FastAPI keeps it in app.openapi_schema: this runs once
        schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(_SCHEMES)
        for method, path in CLIENT_ROUTES:
            operation = schema.get("paths", {}).get(path, {}).get(method.lower())
            if operation is not None:
                operation["security"] = security
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_client_handlers(app: FastAPI) -> None:
    """Answer Unauthorized with 401 and RateLimited with 429 and Retry-After."""

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_request: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "errors": []},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="stocky"'},
        )

    @app.exception_handler(RateLimited)
    async def _limited(_request: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse(
            {"detail": str(exc), "errors": []},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
