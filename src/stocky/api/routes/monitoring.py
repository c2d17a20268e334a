"""Realized performance and the latest drift report, per ticker."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from stocky.adapters.store.audit import AuditRepository
from stocky.api.deps import StateDep
from stocky.api.schemas import error_responses
from stocky.core.drift import per_session
from stocky.core.metrics import diebold_mariano
from stocky.core.tickers import normalize_ticker
from stocky.errors import ModelNotFound

router = APIRouter(
    prefix="/monitoring", tags=["monitoring"], responses=error_responses(404, 422, 503)
)


def _known(state: Any, ticker: str) -> str:
    symbol = normalize_ticker(ticker)
    if state.champions.get(symbol) is None and symbol not in state.predictions.tickers():
        known = ", ".join(state.champions.tickers()) or "none yet"
        raise ModelNotFound(
            f"ticker: {symbol!r} has no model and no predictions (known: {known}): check the symbol"
        )
    return symbol


def _window_stats(frame: Any) -> dict[str, Any]:
    actual = frame["actual"].to_numpy(float)
    pred = frame["prediction"].to_numpy(float)
    naive = frame["naive"].to_numpy(float)
    err, nerr = actual - pred, actual - naive
    rmse = float(np.sqrt(np.mean(err**2)))
    naive_rmse = float(np.sqrt(np.mean(nerr**2)))
    inside = (actual >= frame["lower"].to_numpy(float)) & (actual <= frame["upper"].to_numpy(float))
    dm = diebold_mariano(err, nerr) if len(frame) >= 3 else None
    return {
        "sessions": len(frame),
        "first": str(frame["target_date"].iloc[0].date()),
        "last": str(frame["target_date"].iloc[-1].date()),
        "mae": float(np.mean(np.abs(err))),
        "rmse": rmse,
        "mape": float(np.mean(np.abs(err / actual)) * 100),
        "naive_mae": float(np.mean(np.abs(nerr))),
        "naive_rmse": naive_rmse,
        "skill": (1 - rmse / naive_rmse) if naive_rmse > 0 else None,
        "dm_pvalue": None if dm is None else dm.pvalue,
        "coverage_95": float(np.mean(inside)),
    }


@router.get("/{ticker}/performance")
async def performance(
    ticker: str,
    state: StateDep,
    windows: list[int] = Query(default=[5, 21, 63, 252], description="Windows in target sessions."),
) -> dict[str, Any]:
    """Realized error over recent windows of target sessions, next to the naive random walk."""

    def collect() -> dict[str, Any]:
        symbol = _known(state, ticker)
        labeled = state.predictions.labeled(symbol)
        sessions = per_session(labeled) if not labeled.empty else labeled
        out: dict[str, Any] = {
            "ticker": symbol,
            "labeled_predictions": len(labeled),
            "labeled_sessions": len(sessions),
            "pending": state.predictions.pending_count(symbol),
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
    """The latest stored drift report (run `stocky drift` or `stocky daily` to make one)."""

    def collect() -> dict[str, Any]:
        symbol = _known(state, ticker)
        row = AuditRepository(state.engine).latest_drift_check(symbol)
        if row is None:
            raise ModelNotFound(
                f"no drift check stored for {symbol}: run `stocky drift --ticker {symbol}`"
            )
        return {
            "ticker": symbol,
            "checked_at": row["checked_at"].isoformat(),
            "as_of": row["as_of"].isoformat(),
            "drifted": bool(row["drifted"]),
            "decision": row["decision"],
            "report": row["report"],
        }

    return await run_in_threadpool(collect)
