"""The live monitoring pages: the fleet overview and a page per ticker, charts rendered on request.

`GET /dashboard` is the overview (the rows of `GET /monitoring/fleet`, problems first, with a
fleet summary; `?state=`, `?q=`, `?sort=` and `?order=` choose the view, which the page keeps
in its URL as the reader filters and sorts); `GET /dashboard/{ticker}` is one ticker's page,
built for that ticker only; its charts are PNGs rendered on request and cached by data
fingerprint, and its training chart is the champion's training run's `forecast_vs_actual.png`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from stocky.api.deps import StateDep
from stocky.api.fleet import fleet_cache
from stocky.api.schemas import error_responses
from stocky.api.state import AppState
from stocky.core.fleet import STATES
from stocky.core.tickers import normalize_ticker
from stocky.errors import BadInput
from stocky.pipelines.fleet_view import FLEET_WINDOW, HISTORY_SESSIONS
from stocky.report.build import TRAINING_CHART, build_report, known_tickers
from stocky.report.charts import CHARTS
from stocky.report.figures import render_chart
from stocky.report.html import OVERVIEW_COLUMNS, OverviewQuery, render_overview, render_ticker
from stocky.report.model import Report, TickerReport

__all__ = ["router"]

router = APIRouter(tags=["dashboard"])

REFRESH_SECONDS = 300
#: Seconds the list of known tickers (registered or predicted) is reused: it costs a registry
#: listing and a scan of the prediction log, 0.4-0.7 s per unknown symbol when read each time.
KNOWN_TTL_SECONDS = 30.0


class KnownTickers:
    """The tickers with a model or predictions, read at most every `ttl` seconds."""

    def __init__(self, ttl: float = KNOWN_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._held: tuple[float, list[str]] | None = None
        self._lock = threading.Lock()

    def get(self, state: AppState) -> list[str]:
        """The list (blocking: call it in a thread)."""
        with self._lock:
            held = self._held
            if held is not None and time.monotonic() - held[0] < self.ttl:
                return held[1]
            known = known_tickers(predictions=state.predictions, registry=state.registry)
            self._held = (time.monotonic(), known)
            return known


class ChartCache:
    """Rendered PNGs by (ticker, chart, data fingerprint); the oldest go first."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> bytes | None:
        with self._lock:
            png = self._items.get(key)
            if png is not None:
                self._items.move_to_end(key)
            return png

    def put(self, key: tuple[str, str, str], png: bytes) -> None:
        with self._lock:
            self._items[key] = png
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def _cache(request: Request) -> ChartCache:
    cache = getattr(request.app.state, "dashboard_charts", None)
    if cache is None:
        cache = request.app.state.dashboard_charts = ChartCache()
    return cache


def _report(state: AppState, tickers: list[str] | None = None) -> Report:
    return build_report(
        predictions=state.predictions,
        audit=state.audit,
        registry=state.registry,
        tickers=tickers
        if tickers is not None
        else known_tickers(predictions=state.predictions, registry=state.registry),
        drift_rule=state.stack.drift,
        now=state.clock(),
    )


def _training_png(state: AppState, cache: ChartCache, ticker: str, run_id: str) -> bytes:
    """The training run's chart, read once per run and kept with the charts (b"": none), so
    a page links it only when it exists."""
    key = (ticker, "training", run_id)
    png = cache.get(key)
    if png is None:
        png = state.registry.run_artifact(run_id, TRAINING_CHART) or b""
        cache.put(key, png)
    return png


def _not_found(detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "errors": []}, status_code=404)


def _unknown(ticker: str, known: list[str]) -> str:
    shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
    return (
        f"ticker {ticker!r} has no model and no predictions: "
        f"use one of {shown or 'none (run `stocky train`)'}"
    )


def _known(request: Request) -> KnownTickers:
    known = getattr(request.app.state, "dashboard_known", None)
    if known is None:
        known = request.app.state.dashboard_known = KnownTickers()
    return known


def _ticker_part(state: AppState, ticker: str, known: KnownTickers) -> TickerReport | str:
    """The ticker's report, or why there is none (an unknown symbol answered from the list of
    known tickers, reused for KNOWN_TTL_SECONDS)."""
    if state.champions.get(ticker) is None:
        listed = known.get(state)
        if ticker not in listed:
            return _unknown(ticker, listed)
    return _report(state, [ticker]).tickers[0]


# errors are JSON (ErrorResponse) and pages HTML: documented per status, not by response_class
_PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}}}
_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"description": "The page", "content": {"text/html": {}}}
}


_SORTS = ", ".join(["state", *(key for key, _, _ in OVERVIEW_COLUMNS)])


@router.get("/dashboard", response_class=Response, responses=_PAGE | error_responses(422, 503))
async def dashboard(
    state: StateDep,
    request: Request,
    status: Annotated[
        list[str] | None,
        Query(
            alias="state",
            description=f"Show tickers with this problem (repeatable): {', '.join(STATES)}.",
        ),
    ] = None,
    q: Annotated[str, Query(max_length=64, description="Show tickers containing this.")] = "",
    sort: Annotated[str, Query(description=f"Column to sort by: {_SORTS}.")] = "state",
    order: Annotated[Literal["asc", "desc"], Query(description="Sort direction.")] = "asc",
) -> Response:
    """The fleet overview: a summary, state chips, one row per ticker linking to its page."""
    try:
        query = OverviewQuery(
            states=tuple(s for s in status or () if s), q=q, sort=sort, descending=order == "desc"
        )
    except BadInput as exc:
        return JSONResponse({"detail": str(exc), "errors": []}, status_code=422)
    cache = fleet_cache(request)
    snapshot = await run_in_threadpool(cache.get, state, FLEET_WINDOW)
    history = await run_in_threadpool(cache.history, state, HISTORY_SESSIONS)
    root = request.scope.get("root_path", "")
    page = render_overview(
        snapshot.rows,
        generated_at=snapshot.taken_at,
        window=snapshot.window,
        href=lambda ticker: f"{root}/dashboard/{quote(ticker, safe='')}",
        refresh_seconds=REFRESH_SECONDS,
        leaderboard_href=f"{root}/leaderboard/page",
        history=history,
        query=query,
        nav=_nav(root),
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


def _nav(root: str) -> list[tuple[str, str]]:
    """The dashboard's pages, linked from each page's header."""
    return [
        ("fleet", f"{root}/dashboard"),
        ("leaderboard", f"{root}/leaderboard/page"),
        ("API docs", f"{root}/docs"),
    ]


@router.get(
    "/dashboard/{ticker}",
    response_class=Response,
    responses=_PAGE
    | error_responses(404, 422, 503, d404="The ticker has no model and no predictions"),
)
async def dashboard_ticker(state: StateDep, request: Request, ticker: str) -> Response:
    """One ticker: forecasts vs actuals, rolling error vs the drift threshold, skill, versions."""
    symbol = normalize_ticker(ticker)
    part = await run_in_threadpool(_ticker_part, state, symbol, _known(request))
    if isinstance(part, str):
        return _not_found(part)
    root = request.scope.get("root_path", "")
    version = part.fingerprint

    def image_src(name: str, chart: str) -> str:
        return f"{root}/dashboard/charts/{quote(name, safe='')}/{chart}.png?v={version}"

    training: str | None = None
    has_chart = part.training_run is not None and bool(
        await run_in_threadpool(_training_png, state, _cache(request), symbol, part.training_run)
    )
    if part.training_run is not None and has_chart:
        training = (
            f"{root}/dashboard/training/{quote(symbol, safe='')}.png"
            f"?run={quote(part.training_run, safe='')}"
        )
    page = render_ticker(
        part,
        rule=state.stack.drift,
        generated_at=state.clock(),
        image_src=image_src,
        overview_href=f"{root}/dashboard",
        refresh_seconds=REFRESH_SECONDS,
        detector=state.settings.drift_detector,
        training_src=training,
        overview_window=FLEET_WINDOW,
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


@router.get(
    "/dashboard/charts/{ticker}/{chart}.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}},
        404: {"description": "unknown ticker or chart"},
    },
)
async def dashboard_chart(
    state: StateDep,
    request: Request,
    ticker: str,
    chart: str,
    v: Annotated[str | None, Query(description="Data fingerprint from the page.")] = None,
) -> Response:
    """One chart of the dashboard as PNG (forecast, rolling, errors or skill)."""
    if chart not in CHARTS:
        return _not_found(f"chart {chart!r} is unknown: use one of {', '.join(CHARTS)}")
    cache = _cache(request)
    known = _known(request)
    headers = {"Cache-Control": "no-cache"}
    if v is not None and (png := cache.get((ticker, chart, v))) is not None:
        return Response(png, media_type="image/png", headers=headers | {"ETag": f'"{v}"'})

    def render() -> tuple[str, bytes] | str:
        part = _ticker_part(state, ticker, known)
        if isinstance(part, str):
            return part
        if not part.has_data:
            return f"{ticker} has no labeled predictions yet: run `stocky actuals` first"
        key = (ticker, chart, part.fingerprint)
        png = cache.get(key)
        if png is None:
            png = render_chart(part, chart)
            cache.put(key, png)
        return part.fingerprint, png

    result = await run_in_threadpool(render)
    if isinstance(result, str):
        return _not_found(result)
    fingerprint, png = result
    return Response(png, media_type="image/png", headers=headers | {"ETag": f'"{fingerprint}"'})


@router.get(
    "/dashboard/training/{ticker}.png",
    response_class=Response,
    responses=_PNG
    | error_responses(404, 422, d404="No champion, or its training run has no chart"),
)
async def dashboard_training(
    state: StateDep,
    request: Request,
    ticker: str,
    run: Annotated[str | None, Query(description="Training run id from the page.")] = None,
) -> Response:
    """The champion's training chart: walk-forward forecast vs actual over its test period."""
    symbol = normalize_ticker(ticker)
    cache = _cache(request)

    def read() -> tuple[str, bytes] | str:
        champion = state.registry.alias_version(symbol, "champion")
        if champion is None or not champion.run_id:
            return (
                f"{symbol} has no champion with a training run: "
                f"run `stocky train --ticker {symbol}`"
            )
        return champion.run_id, _training_png(state, cache, symbol, champion.run_id)

    result = await run_in_threadpool(read)
    if isinstance(result, str):
        return _not_found(result)
    run_id, png = result
    if not png:
        return _not_found(f"{symbol}'s training run {run_id} has no {TRAINING_CHART}: retrain it")
    # the URL names the run: a page naming the current champion's run may cache it for good
    cache_control = "public, max-age=86400, immutable" if run == run_id else "no-cache"
    return Response(png, media_type="image/png", headers={"Cache-Control": cache_control})
