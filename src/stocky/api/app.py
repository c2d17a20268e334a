"""The FastAPI application factory. Nothing is built at import; `create_app` does it all."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from stocky import __version__
from stocky.adapters.ports import Registry
from stocky.adapters.store import create_schema
from stocky.adapters.store.predictions import PredictionRepository
from stocky.api.accesslog import AccessLog
from stocky.api.auth import ClientGate, KeyCache, document_clients, install_client_handlers
from stocky.api.champions import ChampionCache
from stocky.api.errors import install_error_handlers
from stocky.api.heap import freeze_heap
from stocky.api.logwriter import GroupCommitLog
from stocky.api.reload import poll_forever, reload_now
from stocky.api.routes import (
    admin,
    batch,
    dashboard,
    docs,
    health,
    leaderboard,
    metrics,
    models,
    monitoring,
    predict,
)
from stocky.api.state import AppState, Clock, utc_now
from stocky.api.telemetry import GuardMiddleware, Telemetry
from stocky.config import Settings
from stocky.errors import StockyError
from stocky.wiring import Stack, build_stack, rate_limiter

__all__ = ["create_app"]

log = logging.getLogger(__name__)

DESCRIPTION = """
One-step-ahead closing-price forecasts (ARIMA) with a 95% interval and the naive random walk
beside them. Every forecast is logged before it is returned; actual closes are attached later.
"""


def build_state(stack: Stack, *, clock: Clock = utc_now) -> AppState:
    """Collaborators for one app (no network calls, no model loading yet)."""
    settings = stack.settings
    telemetry = Telemetry()
    predictions = stack.predictions
    if not isinstance(predictions, PredictionRepository):
        raise TypeError("the API logs predictions through the SQL prediction log: use build_stack")
    engine = stack.engine
    if engine is None:
        raise TypeError("the API needs a stack with a database engine: use build_stack")
    return AppState(
        stack=stack,
        champions=ChampionCache(
            stack.registry,
            changes=stack.audit,
            window_lengths=range(settings.min_prices, settings.max_prices + 1),
        ),
        telemetry=telemetry,
        # local SQLite commits on the event loop (never waiting there for another process's
        # write lock); a networked database in the thread pool
        log=GroupCommitLog(
            predictions.insert_many,
            write_now=(
                functools.partial(predictions.insert_many, wait=False)
                if engine is not None and engine.dialect.name == "sqlite"
                else None
            ),
            on_batch=telemetry.log_batch_rows.observe,
        ),
        gate=ClientGate(
            require=settings.require_api_key,
            keys=KeyCache(stack.keys, ttl=settings.api_key_cache_seconds, clock=clock),
            limiter=rate_limiter(settings),
        ),
        clock=clock,
    )


def create_app(
    settings: Settings | Stack,
    *,
    clock: Clock = utc_now,
    registry: Registry | None = None,
) -> FastAPI:
    """Build the app: routes, error handlers, guard middleware, and a lifespan that loads champions.

    Args:
        settings: Configuration (tests pass their own), or a Stack already built from it.
        clock: Source of "now" (UTC); tests pass a fixed one.
        registry: Registry to use instead of one built from settings (with Settings only).

    The app owns a Stack it builds and closes it at shutdown; a Stack passed in stays the
    caller's to close.
    """
    owned = isinstance(settings, Settings)
    if isinstance(settings, Settings):
        stack = build_stack(settings, registry=registry, migrate=False)
    else:
        stack = settings
    state = build_state(stack, clock=clock)
    settings = stack.settings

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        settings.ensure_home()
        create_schema(state.engine)
        try:
            result = await reload_now(state, freeze=False)
            log.info("%d champion(s) loaded", len(result.loaded))
        except StockyError as exc:
            state.last_reload_error = str(exc)
            log.error(
                "could not load champions at start-up (serving none until a reload works): %s", exc
            )
        await state.gate.start()
        try:
            await run_in_threadpool(state.warm_calendar)
        except StockyError as exc:  # served anyway: the first request builds it then
            log.warning("could not build the exchange calendar at start-up: %s", exc)
        freeze_heap()  # after everything long-lived is built (see stocky.api.heap)
        poller = None
        if settings.reload_interval_seconds > 0:
            poller = asyncio.create_task(
                poll_forever(
                    state,
                    settings.reload_interval_seconds,
                    full_every=settings.reload_full_interval_seconds,
                )
            )
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            try:
                await state.gate.close()
            finally:
                if owned:
                    stack.close()

    app = FastAPI(
        title="stocky",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # FastAPI's pages load Swagger UI and ReDoc from a CDN: see routes/docs
        redoc_url=None,
    )
    app.state.stocky = state
    install_error_handlers(app)
    install_client_handlers(app)
    # the hot path, matched first
    predict.add_predict_route(app, min_prices=settings.min_prices, max_prices=settings.max_prices)
    batch.add_batch_route(
        app,
        max_items=settings.max_batch_items,
        min_prices=settings.min_prices,
        max_prices=settings.max_prices,
    )
    for module in (health, predict, models, monitoring, admin, metrics, dashboard, leaderboard):
        app.include_router(module.router)
    docs.add_docs_routes(app, title=app.title)
    document_clients(app, required=settings.require_api_key)
    known = frozenset(p for r in app.routes if "{" not in (p := getattr(r, "path", "{")))
    app.add_middleware(
        GuardMiddleware,
        telemetry=state.telemetry,
        max_body_bytes=settings.max_body_bytes,
        known_paths=known,
        path_limits={batch.PATH: settings.max_batch_body_bytes},
        access_log=AccessLog() if settings.access_log else None,
    )
    return app
