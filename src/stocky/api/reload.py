"""Hot reload: poll for champions whose alias moved and swap them in, without a restart.

A poll reads the change log past its mark (one query; the registry only for the tickers it
names). Every `full_every` seconds the poll lists every champion instead, which also catches
alias moves made outside stocky (by hand in the MLflow UI).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from stocky.api.champions import ReloadResult
from stocky.api.heap import freeze_heap
from stocky.api.state import AppState
from stocky.errors import StockyError

__all__ = ["poll_forever", "reload_now"]

log = logging.getLogger(__name__)


async def reload_now(state: AppState, *, full: bool = True, freeze: bool = True) -> ReloadResult:
    """One reload pass in a worker thread (registry calls block); updates the metrics, and
    freezes the heap when a model changed (`stocky.api.heap`).

    Args:
        state: The app's state.
        full: List every champion (else apply the change log since the last poll).
        freeze: Freeze the heap after a pass that loaded a model (start-up freezes once,
            after everything else is built).
    """
    champions = state.champions
    result = await run_in_threadpool(champions.refresh if full else champions.refresh_changed)
    for ticker in result.loaded:
        state.telemetry.reloads.labels(ticker).inc()
        model = champions.get(ticker)
        if model is not None:
            state.telemetry.model_loaded(model.ticker, model.version)
    if result.loaded and freeze:
        # the new models are long-lived: keep them out of the full collections (one now)
        freeze_heap()
    return result


async def poll_forever(
    state: AppState,
    interval: float,
    *,
    full_every: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Reload every `interval` seconds until cancelled; a failed pass is logged and retried.

    Args:
        state: The app's state.
        interval: Seconds between polls.
        full_every: Seconds between full listings (0: every poll is one).
        clock: Monotonic seconds.
    """
    last_full = clock()
    while True:
        await asyncio.sleep(interval)
        full = full_every <= 0 or clock() - last_full >= full_every
        try:
            await reload_now(state, full=full)
            state.last_reload_error = None
            if full:
                last_full = clock()
        except StockyError as exc:
            state.last_reload_error = str(exc)
            log.error("model reload failed, serving the models already loaded: %s", exc)
