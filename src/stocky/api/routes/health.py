"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from stocky.api.deps import StateDep
from stocky.api.schemas import HealthResponse, ReadyResponse
from stocky.core.redact import redact
from stocky.errors import StoreError

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
async def health() -> dict[str, str]:
    """Liveness: the process answers. Exactly {"status": "ok"}."""
    return {"status": "ok"}


@router.get("/ready", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
def ready(state: StateDep) -> JSONResponse:
    """Readiness: 200 only when models are loaded and the database answers."""
    models = {m.ticker: m.version for m in state.champions.all()}
    reason = None
    if not models:
        reason = (
            "no champion model is loaded: run `stocky train` (the server picks it up on reload)"
        )
        if state.last_reload_error:
            reason += f"; the last registry reload failed: {state.last_reload_error}"
    else:
        try:
            state.predictions.ping()
        except StoreError as exc:
            reason = f"{exc}: check STOCKY_DATABASE_URL"
    status = "ok" if reason is None else "unavailable"
    shown = None if reason is None else redact(reason)  # error texts quote URLs with passwords
    body = ReadyResponse(status=status, models=models, reason=shown).model_dump()
    return JSONResponse(body, status_code=200 if reason is None else 503)
