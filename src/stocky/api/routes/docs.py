"""The interactive API docs, Swagger UI at /docs and ReDoc at /redoc, with no CDN.

FastAPI's own /docs and /redoc load their JavaScript and CSS from a CDN, so offline they are
blank pages. Here both pages load files installed with stocky: the Swagger UI and ReDoc
builds shipped by the `fastapi-standalone-docs` package (Swagger UI: Apache-2.0; ReDoc: MIT;
their licences are installed beside the files). Only that package's files are used, not its
app patching.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

__all__ = ["ASSETS", "DOCS_PATH", "REDOC_PATH", "add_docs_routes"]

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"

#: URL path -> (file under the package's static folder, media type)
ASSETS: dict[str, tuple[str, str]] = {
    f"{DOCS_PATH}/swagger-ui-bundle.js": (
        "swagger/swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
    ),
    f"{DOCS_PATH}/swagger-ui.css": ("swagger/swagger-ui.css", "text/css; charset=utf-8"),
    f"{DOCS_PATH}/favicon.png": ("fastapi/favicon.png", "image/png"),
    f"{REDOC_PATH}/redoc.standalone.js": (
        "redoc/redoc.standalone.js",
        "text/javascript; charset=utf-8",
    ),
    # the packaged ReDoc build asks for its logo at <page path>/logo-mini.svg
    f"{REDOC_PATH}/logo-mini.svg": ("redoc/logo-mini.svg", "image/svg+xml"),
}

#: The files are versioned with the installed package: browsers may keep them a day.
_CACHE = {"Cache-Control": "public, max-age=86400"}


def _static_root() -> Path:
    return Path(str(files("fastapi_standalone_docs") / "static"))


def _asset_route(path: Path, media_type: str) -> Callable[[], Awaitable[FileResponse]]:
    async def asset() -> FileResponse:
        return FileResponse(path, media_type=media_type, headers=_CACHE)

    return asset


def _prefix(request: Request) -> str:
    """The path the app is served under behind a proxy (uvicorn --root-path), or ""."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def add_docs_routes(app: FastAPI, *, title: str) -> None:
    """Serve /docs, /redoc and the files they load; the app must be built with
    `docs_url=None, redoc_url=None` (FastAPI's CDN pages) and keep its /openapi.json.

    Raises:
        RuntimeError: The packaged Swagger UI or ReDoc files are missing (a broken install).
    """
    openapi_url = app.openapi_url
    if not openapi_url:
        raise RuntimeError("the API docs need the OpenAPI schema: keep openapi_url set")
    root = _static_root()
    missing = [name for name, _ in ASSETS.values() if not (root / name).is_file()]
    if missing:
        raise RuntimeError(
            f"the API docs files {missing} are missing under {root}: reinstall stocky "
            "(pip install -c requirements.lock -e .) to restore fastapi-standalone-docs"
        )
    router = APIRouter(include_in_schema=False)
    for url, (name, media_type) in ASSETS.items():
        router.add_api_route(url, _asset_route(root / name, media_type), methods=["GET"])

    @router.get(DOCS_PATH)
    async def swagger_ui(request: Request) -> HTMLResponse:
        prefix = _prefix(request)
        return get_swagger_ui_html(
            openapi_url=prefix + openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=f"{prefix}{DOCS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{prefix}{DOCS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{prefix}{DOCS_PATH}/favicon.png",
            # no badge asking an online validator about the schema
            swagger_ui_parameters={"validatorUrl": None},
        )

    @router.get(REDOC_PATH)
    async def redoc(request: Request) -> HTMLResponse:
        prefix = _prefix(request)
        return get_redoc_html(
            openapi_url=prefix + openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{prefix}{REDOC_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{prefix}{DOCS_PATH}/favicon.png",
            with_google_fonts=False,
        )

    app.include_router(router)
