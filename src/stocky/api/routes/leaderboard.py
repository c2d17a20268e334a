"""The leaderboard: every candidate (family x interval method) of each ticker vs naive, and
the fleet's wins and skill; as JSON (`GET /leaderboard`, paged by ticker) and as a page."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from stocky.adapters.ports import Leaderboard
from stocky.api.deps import StateDep
from stocky.api.schemas import error_responses
from stocky.api.state import AppState
from stocky.core.tickers import normalize_ticker
from stocky.errors import ModelNotFound, StoreError

__all__ = ["MAX_PAGE", "PAGE", "router"]

router = APIRouter(tags=["leaderboard"], responses=error_responses(404, 422, 503))

#: Tickers per page, by default and at most.
PAGE = 100
MAX_PAGE = 1000


def _store(state: AppState) -> Leaderboard:
    store = state.stack.leaderboard
    if store is None:
        raise StoreError("this server keeps no leaderboard: build its stack with build_stack")
    return store


def _collect(state: AppState, ticker: str | None, limit: int, offset: int) -> dict[str, Any]:
    """The page's boards, the total, and the fleet summary (without a ticker filter)."""
    from stocky.pipelines.leaderboard_view import fleet_summary, load_boards

    store = _store(state)
    if ticker is not None:
        symbol = normalize_ticker(ticker)
        boards = load_boards(store, [symbol])
        if not boards:
            known = store.tickers()
            shown = ", ".join(known[:20]) or "none yet (run `stocky train`)"
            raise ModelNotFound(f"ticker: {symbol!r} has no leaderboard: use one of {shown}")
        return {"boards": boards, "total": 1, "summary": None}
    names = store.tickers()
    boards = load_boards(store, names[offset : offset + limit]) if offset < len(names) else []
    return {
        "boards": boards,
        "total": len(names),
        "summary": fleet_summary(store.latest(stage="test")),
    }


def _next_offset(total: int, offset: int, shown: int) -> int | None:
    return offset + shown if shown and offset + shown < total else None


@router.get("/leaderboard")
async def leaderboard(
    state: StateDep,
    request: Request,
    ticker: Annotated[str | None, Query(description="One ticker's candidates only.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Tickers per page.")] = PAGE,
    offset: Annotated[int, Query(ge=0, description="Tickers to skip.")] = 0,
) -> dict[str, Any]:
    """Every candidate family x interval method of each ticker's newest training on its
    validation window and test period vs naive, why the champion won, and (without `ticker`)
    the fleet's wins per family and method and the quantiles of skill vs naive."""
    found = await run_in_threadpool(_collect, state, ticker, limit, offset)
    boards = found["boards"]
    nxt = _next_offset(found["total"], offset, len(boards))
    following = None
    if nxt is not None:
        url = request.url.include_query_params(offset=nxt)
        following = f"{url.path}?{url.query}"
    out: dict[str, Any] = {
        "tickers": [b.to_dict() for b in boards],
        "total": found["total"],
        "offset": offset,
        "limit": limit,
        "next_offset": nxt,
        "next": following,
    }
    if found["summary"] is not None:
        out["fleet"] = found["summary"]
    return out


@router.get(
    "/leaderboard/page",
    response_class=Response,
    responses={200: {"description": "The page", "content": {"text/html": {}}}},
)
async def leaderboard_page(
    state: StateDep,
    request: Request,
    ticker: Annotated[str | None, Query(description="One ticker's candidates only.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Tickers per page.")] = PAGE,
    offset: Annotated[int, Query(ge=0, description="Tickers to skip.")] = 0,
) -> Response:
    """The leaderboard page: the fleet's wins and skill histogram vs naive, a table per ticker."""
    from stocky.report.leaderboard import render_leaderboard

    found = await run_in_threadpool(_collect, state, ticker, limit, offset)
    root = request.scope.get("root_path", "")
    base = f"{root}/leaderboard/page"
    nxt = _next_offset(found["total"], offset, len(found["boards"]))
    page = render_leaderboard(
        found["boards"],
        summary=found["summary"],
        generated_at=state.clock(),
        overview_href=f"{root}/dashboard",
        total=found["total"],
        offset=offset if ticker is None else 0,
        previous_href=f"{base}?limit={limit}&offset={max(0, offset - limit)}"
        if ticker is None and offset > 0
        else None,
        next_href=f"{base}?limit={limit}&offset={nxt}" if nxt is not None else None,
        ticker_href=lambda t: f"{base}?ticker={quote(t, safe='')}",
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
