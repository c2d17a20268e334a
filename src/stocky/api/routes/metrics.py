"""Prometheus exposition of the app's metrics."""

from __future__ import annotations

import datetime as dt
from functools import partial

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from stocky.adapters.store.monitor import monitor_snapshot
from stocky.api.deps import StateDep
from stocky.api.monitor_metrics import LOOKBACK_DAYS

__all__ = ["router"]

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(state: StateDep) -> Response:
    """Requests, latency, predictions, log failures, reloads, versions, per-ticker monitoring."""
    now = state.clock()
    since = now.date() - dt.timedelta(days=LOOKBACK_DAYS)
    await state.telemetry.monitor.refresh(
        partial(monitor_snapshot, state.engine, since=since), calendar=state.calendar, now=now
    )
    body = await run_in_threadpool(generate_latest, state.telemetry.registry)
    # the per-ticker gauges, rendered once per snapshot (names do not clash with the registry's)
    return Response(body + state.telemetry.monitor.exposition, media_type=CONTENT_TYPE_LATEST)
