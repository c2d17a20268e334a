"""Admin: force a reload of champion models. Needs X-API-Key."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from stocky.api.deps import StateDep, require_admin
from stocky.api.reload import reload_now
from stocky.api.schemas import ReloadResponse, error_responses

__all__ = ["router"]

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses=error_responses(401, 404, 503, d404="Admin routes are off: no key is set"),
)


@router.post("/reload", response_model=ReloadResponse)
async def reload(state: StateDep) -> dict[str, object]:
    """Load any champion whose alias moved, now, instead of at the next poll."""
    result = await reload_now(state)
    return {
        "loaded": list(result.loaded),
        "unchanged": list(result.unchanged),
        "failed": list(result.failed),
        "serving": {m.ticker: m.version for m in state.champions.all()},
    }
