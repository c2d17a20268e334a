"""/docs (Swagger UI) and /redoc (ReDoc) render in headless Chromium with no network.

A real `stocky serve` process answers; the browser may reach that server only: every other
request is aborted and recorded, so a page that needs a CDN fails here the way it fails for
a user offline (a blank page). Both pages must list every operation of /openapi.json.

Needs Debian's `chromium` at /usr/bin/chromium (Playwright drives it; no browser download).
Without it the test is skipped locally and fails under CI=true; `.ci/run` installs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, require_browser, watch_offline
from support import free_port, wait_healthy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: Resolve every host name to nothing but loopback: even a request the route filter missed
#: cannot leave the machine.
NO_NETWORK = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

_SWAGGER_OPERATIONS = """
() => Array.from(document.querySelectorAll('.opblock')).map((b) => [
  b.querySelector('.opblock-summary-method').textContent.trim(),
  b.querySelector('.opblock-summary-path').getAttribute('data-path'),
])
"""

_REDOC_OPERATIONS = """
() => Array.from(document.querySelectorAll('[data-section-id*="operation/"]'))
  .map((s) => s.getAttribute('data-section-id').split('operation/').pop())
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    home: Path = tmp_path_factory.mktemp("apidocs") / "home"
    port = free_port()
    env = {
        **os.environ,
        "STOCKY_HOME": str(home),
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_RELOAD_INTERVAL_SECONDS": "0",
    }
    command = [sys.executable, "-m", "stocky", "serve", "--port", str(port)]
    command += ["--log-level", "warning"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _operations(base: str) -> dict[tuple[str, str], str]:
    schema = httpx.get(f"{base}/openapi.json", timeout=10).json()
    return {
        (method.upper(), path): op["operationId"]
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def _open_offline(browser: Any, base: str, url: str, problems: list[str]) -> Any:
    """A page of `url` that may load from `base` only; anything else is aborted and noted."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch_offline(page, base, problems, schemes=("data:", "blob:"))
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200
    return page


def test_swagger_ui_and_redoc_list_every_operation_offline(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    expected = _operations(server)
    assert ("POST", "/predict") in expected

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, NO_NETWORK]
        )
        try:
            page = _open_offline(browser, server, f"{server}/docs", problems)
            page.wait_for_selector(".opblock", timeout=30_000)
            swagger = {tuple(op) for op in page.evaluate(_SWAGGER_OPERATIONS)}
            title = page.locator(".information-container .title").inner_text()
            predict = page.locator(".opblock-post", has_text="/predict").first
            predict.locator(".opblock-summary").click()  # expands: the UI is live, not a picture
            page.wait_for_selector(".opblock-post.is-open .opblock-body", timeout=10_000)
            page.screenshot(path=str(tmp_path / "swagger.png"), full_page=False)

            page = _open_offline(browser, server, f"{server}/redoc", problems)
            page.wait_for_selector('[data-section-id*="operation/"]', timeout=30_000)
            redoc = set(page.evaluate(_REDOC_OPERATIONS))
            redoc_text = page.locator("body").inner_text()
            page.screenshot(path=str(tmp_path / "redoc.png"), full_page=False)
        finally:
            browser.close()

    assert problems == []
    assert "stocky" in title
    assert swagger == set(expected), (
        f"missing: {set(expected) - swagger}, extra: {swagger - set(expected)}"
    )
    assert redoc == set(expected.values()), (
        f"missing: {set(expected.values()) - redoc}, extra: {redoc - set(expected.values())}"
    )
    assert "/predict" in redoc_text
