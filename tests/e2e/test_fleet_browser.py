"""The `/dashboard` overview of 1,000 SYNTHETIC tickers in headless Chromium.

The fleet's rows are written straight into the database (tests/synthetic_fleet.py: prices,
predictions and drift checks, no model trained); the app runs in-process under uvicorn on
loopback with a fixed clock. The browser checks that the overview loads every row, sorting
by a column reorders them, the filters narrow them, and a row's link opens that ticker's page.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from stocky.adapters.store import create_schema, make_engine
from stocky.api.app import create_app
from support import free_port, make_settings
from synthetic_fleet import NOW, fill, ticker

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N = 1000
STALE = sum(1 for i in range(N) if i % 13 == 0)  # synthetic_fleet: prices stop early


class NoModels:
    """A registry with nothing registered: the fleet's rows come from the database alone."""

    def tickers(self) -> list[str]:
        return []

    def versions(self, ticker: str) -> list[object]:
        return []

    def champion_versions(self, alias: str = "champion") -> list[object]:
        return []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    home = tmp_path_factory.mktemp("fleet-browser") / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'stocky.db'}")
    create_schema(engine)
    fill(engine, N, days=15)
    engine.dispose()
    app = create_app(make_settings(home), clock=lambda: NOW, registry=NoModels())  # type: ignore[arg-type]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start within 30 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


_VISIBLE = "() => Array.from(document.querySelectorAll('#fleet tbody tr')).filter((r) => !r.hidden)"
_COLUMN = """(name) => {
  const index = Array.from(document.querySelectorAll('#fleet thead th'))
    .findIndex((th) => th.dataset.col === name);
  return Array.from(document.querySelectorAll('#fleet tbody tr'))
    .filter((r) => !r.hidden).map((r) => r.cells[index].dataset.v);
}"""


def test_overview_of_a_thousand_tickers_sorts_filters_and_links(server: str) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30_000)
            page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
            page.on(
                "console",
                lambda msg: (
                    problems.append(f"console: {msg.text}") if msg.type == "error" else None
                ),
            )
            started = time.perf_counter()
            response = page.goto(f"{server}/dashboard", wait_until="load")
            loaded = time.perf_counter() - started
            assert response is not None and response.status == 200
            assert page.locator("#fleet tbody tr").count() == N
            assert loaded < 30, f"the overview took {loaded:.1f} s"
            # problems first: the first row is degraded, the last ones ok
            states = page.evaluate(_COLUMN, "state")
            assert states == sorted(states, key=int) and states[0] == "0"

            # sorting by skill: ascending, then descending on a second click
            page.click("#fleet thead th[data-col=skill] button")
            up = [float(v) for v in page.evaluate(_COLUMN, "skill") if v]
            assert len(up) > N // 2 and up == sorted(up)
            assert page.get_attribute("#fleet thead th[data-col=skill]", "aria-sort") == (
                "ascending"
            )
            page.click("#fleet thead th[data-col=skill] button")
            down = [float(v) for v in page.evaluate(_COLUMN, "skill") if v]
            assert down == sorted(up, reverse=True)
            tickers = page.evaluate(_COLUMN, "ticker")
            page.click("#fleet thead th[data-col=ticker] button")
            assert page.evaluate(_COLUMN, "ticker") == sorted(tickers)

            # filters: by ticker text, then by state
            page.fill("#filter", "flt00")
            assert len(page.evaluate(_VISIBLE)) == 100
            assert page.inner_text("#shown") == "100"
            page.fill("#filter", "")
            page.select_option("#state", "stale_prices")
            assert page.inner_text("#shown") == str(STALE)
            problems_of = page.evaluate(
                "() => Array.from(document.querySelectorAll('#fleet tbody tr'))"
                ".filter((r) => !r.hidden).map((r) => r.dataset.problems)"
            )
            assert len(problems_of) == STALE and all("stale_prices" in p for p in problems_of)

            # a row's link opens that ticker's page
            target = ticker(13)
            with page.expect_navigation(wait_until="load"):
                page.click(f"#fleet tbody tr[data-ticker={target}] a")
            assert page.url == f"{server}/dashboard/{target}"
            assert target in page.locator("h1").inner_text()
            assert page.locator("table.drift-checks").count() == 1
            with page.expect_navigation(wait_until="load"):
                page.click("a[data-nav=overview]")
            assert page.locator("#fleet tbody tr").count() == N
        finally:
            browser.close()
    assert problems == []


def test_the_page_is_self_contained(server: str) -> None:
    import httpx

    html = httpx.get(f"{server}/dashboard", timeout=30).text
    assert not re.search(r"https?://|<script src|<link rel=\"stylesheet|@import|url\(", html)
    assert html.count("<tr data-ticker=") == N
