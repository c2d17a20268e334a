"""The leaderboard page of 250 SYNTHETIC tickers in headless Chromium, reached from the dashboard.

The rows are written straight into the database (tests/synthetic_board.py, no model trained);
the app runs in-process under uvicorn on loopback with a fixed clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.leaderboard import LeaderboardRepository
from stocky.api.app import create_app
from support import free_port, make_settings
from synthetic_board import TRAINED_AT, board_rows

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N = 250


class NoModels:
    """A registry with nothing registered: the pages come from the database alone."""

    def tickers(self) -> list[str]:
        return []

    def versions(self, ticker: str) -> list[object]:
        return []

    def champion_versions(self, alias: str = "champion") -> list[object]:
        return []


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    home = tmp_path_factory.mktemp("board-browser") / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'stocky.db'}")
    create_schema(engine)
    store = LeaderboardRepository(engine)
    for i in range(N):
        store.replace(f"B{i:03d}", 1, board_rows(f"B{i:03d}", 1, i))
    engine.dispose()
    app = create_app(make_settings(home), clock=lambda: TRAINED_AT, registry=NoModels())  # type: ignore[arg-type]
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


def test_leaderboard_page_from_the_dashboard_pages_and_unfolds(server: str) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    odd = N // 2
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
            assert page.goto(f"{server}/dashboard").status == 200
            page.click("#leaderboard-link")
            page.wait_for_url("**/leaderboard/page")
            # the fleet summary: wins per family and per method, the skill histogram
            assert page.get_attribute("#fleet-summary", "data-tickers") == str(N)
            assert page.get_attribute("#family-wins tr[data-family=arima]", "data-wins") == str(odd)
            assert page.get_attribute("#family-wins tr[data-family=naive]", "data-wins") == str(
                N - odd
            )
            assert page.get_attribute("#interval-wins tr[data-interval=garch]", "data-wins") == (
                str(odd)
            )
            counts = page.eval_on_selector_all(
                "#skill-histogram tr", "rows => rows.map(r => Number(r.dataset.count))"
            )
            assert sum(counts) == N and max(counts) > 0
            # the fullest bin's bar is drawn across, an empty bin's not at all
            full = page.locator(f"#skill-histogram tr[data-count='{max(counts)}'] .bar").first
            assert full.is_visible() and full.bounding_box()["width"] > 100
            if 0 in counts:
                empty = page.locator("#skill-histogram tr[data-count='0'] .bar").first
                assert not empty.is_visible()
            # a page of 100 tickers, the next page after it
            champions = page.locator("#tickers tr.champion")
            assert champions.count() == 100
            assert champions.first.get_attribute("data-ticker") == "B000"
            page.click("#next")
            page.wait_for_url("**offset=100")
            assert page.locator("#tickers tr.champion").first.get_attribute("data-ticker") == "B100"
            # every candidate of a ticker, folded until asked for
            details = page.locator("#tickers tr.candidates[data-ticker=B101] details")
            chosen = details.locator("tr[data-chosen='1']")
            assert not chosen.first.is_visible()
            details.locator("summary").click()
            assert chosen.count() == 2 and chosen.first.is_visible()
            assert chosen.first.get_attribute("data-family") == "arima"
            # a ticker's own page, and back to the overview
            page.click("#tickers tr.champion[data-ticker=B101] a")
            page.wait_for_url("**ticker=B101")
            assert page.locator("#tickers tr.champion").count() == 1
            assert page.locator("#fleet-summary").count() == 0
            page.click("#overview-link")
            page.wait_for_url("**/dashboard")
        finally:
            browser.close()
    assert problems == []
