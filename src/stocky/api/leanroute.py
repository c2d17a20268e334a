"""An APIRoute for the hot path: documented like any other, served without FastAPI's extras.

FastAPI wraps every endpoint in dependency solving, body parsing, response validation, two
exit stacks and a body-size wrapper. /predict needs none of that: it reads and validates its
own body in one pydantic-core pass, builds its response once, and the guard middleware already
limits body size. Served through Starlette's plain request/response wrapper, and matched before
the included routers, it answered ~30% more requests per second in `bench/bench_api.py`.

The route stays an `APIRoute`: OpenAPI, `/docs`, the app's exception handlers (Starlette maps
raised errors with the same handlers) and the route label in metrics are all unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import starlette.routing
from fastapi import Request, Response
from fastapi.routing import APIRoute

__all__ = ["LeanRoute"]

Endpoint = Callable[[Request], Awaitable[Response]]


class LeanRoute(APIRoute):
    """Serve `endpoint(request) -> Response` directly; no dependencies, no response model checks.

    Raises:
        TypeError: The endpoint is not `async def endpoint(request: Request) -> Response`.
    """

    def __init__(self, path: str, endpoint: Endpoint, **kwargs: Any) -> None:
        params = list(inspect.signature(endpoint).parameters.values())
        if not inspect.iscoroutinefunction(endpoint) or len(params) != 1:
            raise TypeError(
                f"LeanRoute {path}: the endpoint must be `async def f(request: Request)`; "
                "use a plain APIRoute for endpoints with dependencies or parameters"
            )
        super().__init__(path, endpoint, **kwargs)
        self.app = starlette.routing.request_response(endpoint)
