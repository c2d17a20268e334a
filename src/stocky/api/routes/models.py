"""Registered models and what is being served."""

from __future__ import annotations

import math

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from stocky.adapters.ports import ModelVersionInfo
from stocky.api.champions import LoadedModel
from stocky.api.deps import StateDep
from stocky.api.schemas import ModelInfo
from stocky.api.state import AppState
from stocky.core.families.registry import LEGACY_MODEL_TYPE

__all__ = ["router"]

router = APIRouter(tags=["models"])


#: Distribution scores of the test period, by response field: the version tag read.
SCORE_TAGS = {
    "walk_forward_interval_score": "walk_forward_interval_score",
    "naive_interval_score": "naive_interval_score",
    "walk_forward_crps": "walk_forward_crps",
    "naive_crps": "naive_crps",
    "direction_accuracy": "direction_accuracy",
    "direction_pvalue": "direction_pvalue",
}


def _float(value: str | None) -> float | None:
    """A numeric tag, None when absent or not a finite number (JSON has no NaN)."""
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _row(v: ModelVersionInfo, serving: LoadedModel | None) -> dict[str, object]:
    return {
        "ticker": v.ticker,
        "registered_name": v.name,
        "version": v.version,
        "aliases": sorted(v.aliases),
        "serving": bool(serving and serving.version == v.version),
        # versions registered before model families carry only their ARIMA order
        "model_type": v.tags.get("model_type") or LEGACY_MODEL_TYPE,
        "label": v.tags.get("model") or f"ARIMA{v.tags.get('order', '')}".replace(" ", ""),
        "order": v.tags.get("order") if v.tags.get("order") not in (None, "-") else None,
        "train_start": v.tags.get("train_start"),
        "train_end": v.tags.get("train_end"),
        "walk_forward_rmse": _float(v.tags.get("walk_forward_rmse")),
        "naive_rmse": _float(v.tags.get("naive_rmse")),
        "skill": _float(v.tags.get("skill")),
        "interval": v.tags.get("interval"),
        "walk_forward_coverage": _float(v.tags.get("walk_forward_coverage")),
        # versions trained before the distribution scores carry none of them: None
        **{field: _float(v.tags.get(tag)) for field, tag in SCORE_TAGS.items()},
    }


def collect(state: AppState) -> list[dict[str, object]]:
    """Every aliased version from one registry listing (a search per ticker took 6-7 s for
    1,000 models), plus a served version that lost its alias since the last reload."""
    listed = state.registry.aliased_versions()
    by_ticker: dict[str, list[ModelVersionInfo]] = {}
    for v in listed:
        by_ticker.setdefault(v.ticker, []).append(v)
    for model in state.champions.all():
        held = by_ticker.get(model.ticker, [])
        if not any(v.version == model.version for v in held):  # rare: read it alone
            found = [v for v in state.registry.versions(model.ticker) if v.version == model.version]
            by_ticker[model.ticker] = sorted(held + found, key=lambda v: -v.version)
    return [
        _row(v, state.champions.get(ticker))
        for ticker in sorted(by_ticker)
        for v in by_ticker[ticker]
    ]


@router.get("/models", response_model=list[ModelInfo])
async def models(state: StateDep) -> list[dict[str, object]]:
    """Every version that holds an alias, per ticker, with its walk-forward RMSE next to naive's."""
    return await run_in_threadpool(collect, state)
