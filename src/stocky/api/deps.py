"""Typed dependencies for routes; tests swap them with `app.dependency_overrides`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from stocky.api.state import AppState

__all__ = ["StateDep", "get_state", "require_admin"]


# Dependencies are `async def`: FastAPI runs a plain `def` dependency in the thread pool,
# a thread hop per dependency per request, which cost more than /predict's own work.


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.stocky
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def require_admin(state: StateDep, x_api_key: Annotated[str | None, Header()] = None) -> None:
    """Admin routes need X-API-Key equal to STOCKY_ADMIN_API_KEY, compared in constant time."""
    import hmac

    from fastapi import HTTPException

    expected = state.settings.admin_api_key
    if expected is None:
        raise HTTPException(404, "admin routes are off: set STOCKY_ADMIN_API_KEY to enable them")
    given = (x_api_key or "").encode()
    if not hmac.compare_digest(given, expected.get_secret_value().encode()):
        raise HTTPException(
            401, "missing or wrong X-API-Key header: send the key set in STOCKY_ADMIN_API_KEY"
        )
