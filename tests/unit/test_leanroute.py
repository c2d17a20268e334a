"""LeanRoute serves `endpoint(request)` directly and refuses anything else."""

from __future__ import annotations

import pytest
from fastapi import Depends, FastAPI, Request, Response
from fastapi.testclient import TestClient

from stocky.api.leanroute import LeanRoute
from stocky.errors import BadInput


async def echo(request: Request) -> Response:
    raw = await request.body()
    if not raw:
        raise BadInput("body: empty: send some bytes")
    return Response(raw[::-1], media_type="text/plain")


def _app() -> FastAPI:
    app = FastAPI()
    app.router.add_api_route("/echo", echo, methods=["POST"], route_class_override=LeanRoute)

    @app.exception_handler(BadInput)
    async def bad_input(_request: Request, exc: BadInput) -> Response:
        return Response(str(exc), status_code=422)

    return app


def test_serves_the_endpoint_and_app_error_handlers_apply():
    with TestClient(_app()) as client:
        assert client.post("/echo", content=b"abc").text == "cba"
        r = client.post("/echo", content=b"")
        assert r.status_code == 422 and "send some bytes" in r.text
        assert client.get("/echo").status_code == 405
        assert "/echo" in client.get("/openapi.json").json()["paths"]


def _with_dependency(request: Request, x: int = Depends(lambda: 1)) -> Response:
    return Response()


async def _with_dependency_async(request: Request, x: int = Depends(lambda: 1)) -> Response:
    return Response()


@pytest.mark.parametrize("endpoint", [_with_dependency, _with_dependency_async])
def test_refuses_endpoints_that_need_fastapi_extras(endpoint):
    app = FastAPI()
    with pytest.raises(TypeError, match="must be `async def f"):
        app.router.add_api_route("/x", endpoint, route_class_override=LeanRoute)
