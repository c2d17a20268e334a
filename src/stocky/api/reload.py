"""Hot reload: poll the registry and swap champions whose alias moved, without a restart."""

from __future__ import annotations

import asyncio
import logging

from starlette.concurrency import run_in_threadpool

from stocky.api.champions import ReloadResult
from stocky.api.state import AppState
from stocky.errors import StockyError

__all__ = ["poll_forever", "reload_now"]

log = logging.getLogger(__name__)


async def reload_now(state: AppState) -> ReloadResult:
    """One reload pass in a worker thread (registry calls block); updates the metrics."""
    result = await run_in_threadpool(state.champions.refresh)
    for ticker in result.loaded:
        state.telemetry.reloads.labels(ticker).inc()
    for model in state.champions.all():
        state.telemetry.model_loaded(model.ticker, model.version)
    return result


async def poll_forever(state: AppState, interval: float) -> None:
    """Reload every `interval` seconds until cancelled; a failed pass is logged and retried."""
    while True:
        await asyncio.sleep(interval)
        try:
            await reload_now(state)
            state.last_reload_error = None
        except StockyError as exc:
            state.last_reload_error = str(exc)
            log.error("model reload failed, serving the models already loaded: %s", exc)
