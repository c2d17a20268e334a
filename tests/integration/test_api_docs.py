"""/docs and /redoc load only files the server itself serves (the API docs work offline)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from stocky.api.app import create_app
from stocky.api.routes.docs import ASSETS
from support import make_settings

pytestmark = pytest.mark.integration

BASE = "http://testserver"
_URL_ATTRS = re.compile(r"""(?:src|href|url)\s*[=:(]\s*['"]?([^'"\s)>]+)""", re.IGNORECASE)
_ANY_URL = re.compile(r"""https?://[^\s'"<>)]+""")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home: Path = tmp_path_factory.mktemp("docs") / "home"
    with TestClient(create_app(make_settings(home)), base_url=BASE) as c:
        yield c


def _references(html: str) -> set[str]:
    """Every URL the page names: src/href attributes, Swagger's `url:` and any absolute URL."""
    return set(_URL_ATTRS.findall(html)) | set(_ANY_URL.findall(html))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_reference_only_this_server(client: TestClient, page: str) -> None:
    r = client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    refs = _references(r.text)
    assert refs, "the page names no script or schema: the pattern above is stale"
    foreign = sorted(
        ref for ref in refs if urlsplit(urljoin(f"{BASE}{page}", ref)).netloc != "testserver"
    )
    assert foreign == [], f"{page} loads from another host: {foreign}"
    assert "cdn.jsdelivr.net" not in r.text and "fonts.googleapis" not in r.text
    # every local reference answers: the page can load all it names
    for ref in refs:
        path = urlsplit(urljoin(f"{BASE}{page}", ref)).path
        assert client.get(path).status_code == 200, f"{page} names {path}, which is not served"


def test_swagger_page_loads_the_packaged_files_and_the_schema(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "/docs/swagger-ui-bundle.js" in html
    assert "/docs/swagger-ui.css" in html
    assert "'/openapi.json'" in html or '"/openapi.json"' in html
    assert '"validatorUrl": null' in html  # no badge asking an online validator
    assert "/redoc/redoc.standalone.js" in client.get("/redoc").text


@pytest.mark.parametrize(("path", "media_type"), [(p, m) for p, (_, m) in ASSETS.items()])
def test_docs_assets_answer_with_their_content_type(
    client: TestClient, path: str, media_type: str
) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"] == media_type
    assert int(r.headers["content-length"]) == len(r.content) > 500
    assert "max-age" in r.headers["cache-control"]
    if path.endswith(".js"):
        assert r.content.lstrip()[:2] in (b"/*", b"!f", b"(f", b'"u'), r.content[:40]


def test_docs_assets_stay_out_of_the_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]
    assert "/predict" in paths


def test_the_packaged_swagger_ui_and_redoc_carry_their_licences() -> None:
    from importlib.resources import files

    static = files("fastapi_standalone_docs") / "static"
    assert "Apache License" in (static / "swagger" / "LICENSE").read_text(encoding="utf-8")
    redoc_licence = (static / "redoc" / "redoc.standalone.js.LICENSE.txt").read_text("utf-8")
    assert "MIT" in redoc_licence or "license" in redoc_licence.lower()


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_schema_reference_resolves_in_the_document(client: TestClient) -> None:
    """ReDoc refused the whole document over POST /predict/batch's `#/$defs/PredictRequest`
    (the document root has no $defs): every local $ref must name a node of the document."""
    document = client.get("/openapi.json").json()
    unresolved = []
    refs = set(_refs(document))
    assert "#/components/schemas/ForecastResponse" in refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        node: object = document
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or token not in node:
                unresolved.append(ref)
                break
            node = node[token]
    assert unresolved == []


def test_the_batch_body_keeps_this_servers_limits(client: TestClient) -> None:
    body = client.get("/openapi.json").json()["paths"]["/predict/batch"]["post"]["requestBody"]
    items = body["content"]["application/json"]["schema"]["properties"]["items"]
    assert (items["minItems"], items["maxItems"]) == (1, 1000)
    prices = items["items"]["properties"]["recent_prices"]
    assert (prices["minItems"], prices["maxItems"]) == (10, 60)
    assert prices["items"]["exclusiveMinimum"] == 0
