"""Realized performance and the latest drift report, per ticker."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from stocky.api.deps import StateDep
from stocky.api.fleet import fleet_cache
from stocky.api.schemas import error_responses
from stocky.core.drift import per_session
from stocky.core.fleet import COLUMNS, MAX_PAGE, PAGE, STATES, select_rows, state_counts
from stocky.core.realized import realized
from stocky.core.scores import distribution_scores
from stocky.core.tickers import normalize_ticker
from stocky.errors import ModelNotFound
from stocky.pipelines.fleet_view import FLEET_WINDOW, MAX_WINDOW

__all__ = ["router"]

router = APIRouter(
    prefix="/monitoring", tags=["monitoring"], responses=error_responses(404, 422, 503)
)


@router.get("/fleet")
async def fleet(
    state: StateDep,
    request: Request,
    status: Annotated[
        list[str] | None,
        Query(
            alias="state",
            description=f"Keep tickers with this problem (repeatable): {', '.join(STATES)}.",
        ),
    ] = None,
    sort: Annotated[
        str,
        Query(description=f"Column to sort by: {', '.join(COLUMNS)}. `state` = problems first."),
    ] = "state",
    order: Annotated[Literal["asc", "desc"], Query(description="Sort direction.")] = "asc",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Rows per page.")] = PAGE,
    offset: Annotated[int, Query(ge=0, description="Rows to skip.")] = 0,
    window: Annotated[
        int,
        Query(ge=1, le=MAX_WINDOW, description="Labeled sessions behind skill, RMSE, coverage."),
    ] = FLEET_WINDOW,
) -> dict[str, Any]:
    """One row per ticker, problems first: skill, RMSE, coverage, interval score, CRPS, direction,
    drift, retrains, labels, prices."""
    snapshot = await run_in_threadpool(fleet_cache(request).get, state, window)
    page = select_rows(
        snapshot.rows,
        states=status or (),
        sort=sort,
        descending=order == "desc",
        limit=limit,
        offset=offset,
    )
    following = None
    if page.next_offset is not None:
        url = request.url.include_query_params(offset=page.next_offset)
        following = f"{url.path}?{url.query}"
    return {
        "tickers": [row.to_dict() for row in page.rows],
        "total": page.total,
        "offset": page.offset,
        "limit": limit,
        "next": following,
        "window": snapshot.window,
        "generated_at": snapshot.taken_at.isoformat(),
        "fleet": {"tickers": len(snapshot.rows), "states": state_counts(snapshot.rows)},
        "order": ("state (" + ", ".join(STATES) + "), then the worst skill first, then the ticker"),
        "accuracy": (
            f"skill, RMSE, coverage and scores: basis 'live' over the last {snapshot.window} "
            "labeled sessions (basis_sessions of them); basis 'walk_forward' (no live label "
            "yet) over the champion's walk-forward test period from training (basis_sessions "
            "test sessions)"
        ),
    }


def _known(state: Any, ticker: str) -> str:
    symbol = normalize_ticker(ticker)
    if state.champions.get(symbol) is None and symbol not in state.predictions.tickers():
        known = ", ".join(state.champions.tickers()) or "none yet"
        raise ModelNotFound(
            f"ticker: {symbol!r} has no model and no predictions (known: {known}): check the symbol"
        )
    return symbol


def _window_stats(frame: Any) -> dict[str, Any]:
    arrays = [frame[c].to_numpy(float) for c in ("actual", "prediction", "naive", "lower", "upper")]
    r = realized(*arrays[:3], lower=arrays[3], upper=arrays[4])
    d = distribution_scores(*arrays)
    return {
        "sessions": len(frame),
        "first": str(frame["target_date"].iloc[0].date()),
        "last": str(frame["target_date"].iloc[-1].date()),
        "mae": r.mae,
        "rmse": r.rmse,
        "mape": r.mape,
        "naive_mae": r.naive_mae,
        "naive_rmse": r.naive_rmse,
        "skill": r.skill,
        "dm_pvalue": r.dm_pvalue,
        "coverage_95": r.coverage,
        # the served distribution (normal, sigma = half-width / 1.96) next to the random walk
        # with the same interval; None where the rows do not allow a number
        "naive_coverage_95": d.naive_coverage,
        "interval_score": d.interval_score,
        "naive_interval_score": d.naive_interval_score,
        "interval_skill": d.interval_skill,
        "pinball_lower": d.pinball_lower,
        "pinball_upper": d.pinball_upper,
        "naive_pinball_lower": d.naive_pinball_lower,
        "naive_pinball_upper": d.naive_pinball_upper,
        "crps": d.crps,
        "naive_crps": d.naive_crps,
        "direction_accuracy": d.direction_accuracy,
        "direction_sessions": d.direction_sessions,
        "direction_pvalue": d.direction_pvalue,
    }


@router.get("/{ticker}/performance")
async def performance(
    ticker: str,
    state: StateDep,
    windows: list[int] = Query(default=[5, 21, 63, 252], description="Windows in target sessions."),
) -> dict[str, Any]:
    """Realized error, interval score, CRPS and direction over recent windows of target
    sessions, next to the naive random walk."""

    def collect() -> dict[str, Any]:
        symbol = _known(state, ticker)
        labeled = state.predictions.labeled(symbol)
        sessions = per_session(labeled) if not labeled.empty else labeled
        out: dict[str, Any] = {
            "ticker": symbol,
            "labeled_predictions": len(labeled),
            "labeled_sessions": len(sessions),
            "pending": state.predictions.pending_counts([symbol]).get(symbol, 0),
            # labeled, but from a window that does not end at the stored close: left out
            "foreign_windows": state.predictions.foreign_window_count(symbol),
            # labeled, but holding a number that is not finite (logged before stocky refused
            # them): left out
            "unusable_rows": int(labeled.attrs.get("unusable", 0)),
            "rule": (
                "one prediction per target session: the last one logged whose window ends "
                "at the stored close of its date"
            ),
            "windows": {},
        }
        if len(sessions):
            out["all"] = _window_stats(sessions)
            for w in sorted({int(w) for w in windows if int(w) > 0}):
                if len(sessions) >= w:
                    out["windows"][str(w)] = _window_stats(sessions.tail(w))
        return out

    return await run_in_threadpool(collect)


@router.get("/{ticker}/drift")
async def drift(ticker: str, state: StateDep) -> dict[str, Any]:
    """The latest drift check: the decision, both drift states, and the stored report."""

    def collect() -> dict[str, Any]:
        symbol = _known(state, ticker)
        row = state.audit.latest_drift_check(symbol)
        if row is None:
            raise ModelNotFound(
                f"no drift check stored for {symbol}: run `stocky drift --ticker {symbol}`"
            )
        report = row.report
        return {
            "ticker": symbol,
            "checked_at": row.checked_at.isoformat(),
            "as_of": row.as_of.isoformat(),
            "drifted": row.drifted,
            "decision": row.decision,
            # the two drift states (None in checks stored before they existed)
            "detector": report.get("detector"),
            "volatility_changed": report.get("volatility_changed"),
            "model_degraded": report.get("model_degraded"),
            "coverage_broken": report.get("coverage_broken"),
            "interval_degraded": report.get("interval_degraded"),
            "report": report,
        }

    return await run_in_threadpool(collect)
