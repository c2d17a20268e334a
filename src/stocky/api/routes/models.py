"""Registered models and what is being served."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from stocky.api.deps import StateDep
from stocky.api.schemas import ModelInfo

__all__ = ["router"]

router = APIRouter(tags=["models"])


def _float(value: str | None) -> float | None:
    return float(value) if value not in (None, "") else None


@router.get("/models", response_model=list[ModelInfo])
async def models(state: StateDep) -> list[dict[str, object]]:
    """Every version that holds an alias, per ticker, with its walk-forward RMSE next to naive's."""

    def collect() -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        for ticker in state.registry.tickers():
            serving = state.champions.get(ticker)
            for v in state.registry.versions(ticker):
                if not v.aliases and not (serving and serving.version == v.version):
                    continue
                rows.append(
                    {
                        "ticker": ticker,
                        "registered_name": v.name,
                        "version": v.version,
                        "aliases": sorted(v.aliases),
                        "serving": bool(serving and serving.version == v.version),
                        "order": v.tags.get("order"),
                        "train_start": v.tags.get("train_start"),
                        "train_end": v.tags.get("train_end"),
                        "walk_forward_rmse": _float(v.tags.get("walk_forward_rmse")),
                        "naive_rmse": _float(v.tags.get("naive_rmse")),
                        "skill": _float(v.tags.get("skill")),
                        "interval": v.tags.get("interval"),
                        "walk_forward_coverage": _float(v.tags.get("walk_forward_coverage")),
                    }
                )
        return rows

    return await run_in_threadpool(collect)
