"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from stocky.api.deps import StateDep
from stocky.api.schemas import HealthResponse, ReadyResponse
from stocky.api.state import AppState
from stocky.core.redact import redact
from stocky.errors import StoreError

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthResponse)
async def health() -> dict[str, str]:
    """Liveness: the process answers. Exactly {"status": "ok"}."""
    return {"status": "ok"}


#: How long a failed prediction write keeps /ready at 503 when nothing has committed since;
#: after that the probe decides again, so an instance taken out of service can come back.
WRITE_FAILURE_SECONDS = 30.0


def _logging_problem(state: AppState) -> str | None:
    """Why predictions cannot be logged now, or None: the last write's outcome, then a probe."""
    failure = state.log.recent_failure(WRITE_FAILURE_SECONDS)
    if failure is not None:
        return f"the last prediction write failed and none has succeeded since: {failure.message}"
    try:
        state.predictions.check_writable()
    except StoreError as exc:
        return f"{exc}: check STOCKY_DATABASE_URL and that the database takes writes"
    return None


@router.get("/ready", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
def ready(state: StateDep) -> JSONResponse:
    """Readiness: 200 only when models are loaded and predictions can be logged."""
    models = {m.ticker: m.version for m in state.champions.all()}
    reason = None
    if not models:
        reason = (
            "no champion model is loaded: run `stocky train` (the server picks it up on reload)"
        )
        if state.last_reload_error:
            reason += f"; the last registry reload failed: {state.last_reload_error}"
    else:
        reason = _logging_problem(state)
    status = "ok" if reason is None else "unavailable"
    shown = None if reason is None else redact(reason)  # error texts quote URLs with passwords
    body = ReadyResponse(status=status, models=models, reason=shown).model_dump()
    return JSONResponse(body, status_code=200 if reason is None else 503)
