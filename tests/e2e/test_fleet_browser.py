"""The `/dashboard` overview of 1,000 SYNTHETIC tickers in headless Chromium.

The fleet's rows are written straight into the database (tests/synthetic_fleet.py: prices,
predictions and drift checks over 10 sessions, no model trained); champions with hand-set
parameters and walk-forward tags sit in an in-memory registry, 50 of them for tickers with no
live label yet. The app runs in-process under uvicorn on loopback with a fixed clock. The
browser checks that the overview loads every row, sorting by a column reorders them, the
state chips and the ticker filter narrow them and keep the view in the URL (a reload keeps
it), the summary's histogram and history render, the page uses the window's width, and a
row's link opens that ticker's page.
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
from synthetic_fleet import NOW, champions, fill, new_ticker, ticker

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

N = 1000
NEW = 50  # champions without a live label yet: NEW0000..NEW0049
TEST_SESSIONS = 252  # synthetic_fleet.champions' walk_forward_sessions tag
# synthetic_fleet: prices stop early; the new tickers have no stored price at all
STALE = sum(1 for i in range(N) if i % 13 == 0) + NEW


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    home = tmp_path_factory.mktemp("fleet-browser") / "home"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'stocky.db'}")
    create_schema(engine)
    fill(engine, N, days=15, check_sessions=10)
    engine.dispose()
    app = create_app(make_settings(home), clock=lambda: NOW, registry=champions(N, NEW))
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
            assert page.locator("#fleet tbody tr").count() == N + NEW
            assert loaded < 30, f"the overview took {loaded:.1f} s"
            # the page uses the window's width: no narrow column, no sideways scrolling
            width = page.evaluate("() => document.querySelector('main').clientWidth")
            assert width > 1300, f"main is {width} px wide in a 1400 px window"
            sideways = page.evaluate(
                "() => document.scrollingElement.scrollWidth - window.innerWidth"
            )
            assert sideways <= 0, f"the page scrolls {sideways} px sideways"
            # the summary: a histogram of every skill (live and walk-forward), states per session
            binned = page.evaluate(
                "() => Array.from(document.querySelectorAll('#skill-histogram g.bin'))"
                ".reduce((n, g) => n + Number(g.dataset.count), 0)"
            )
            with_skill = [v for v in page.evaluate(_COLUMN, "skill") if v]
            assert binned == len(with_skill) > N // 2
            box = page.locator("#skill-histogram svg").bounding_box()
            assert box is not None and box["width"] > 400 and box["height"] > 100
            assert page.locator("#skill-histogram rect.wf").count() > 0
            assert page.locator("#state-history g.session").count() == 10
            # day one: tickers without live labels show walk-forward skill, labelled with its window
            walk = page.locator("#fleet tbody tr[data-basis=walk_forward]")
            assert walk.count() == NEW
            cell = page.locator(f"#fleet tbody tr[data-ticker={new_ticker(3)}] td.wf").first
            assert cell.inner_text() == "-2.20%"
            assert f"walk-forward, {TEST_SESSIONS} test sessions" in (
                cell.get_attribute("title") or ""
            )
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

            # filters: by ticker text, then by a state chip; each lands in the URL
            page.fill("#filter", "flt00")
            assert len(page.evaluate(_VISIBLE)) == 100
            assert page.inner_text("#shown") == "100"
            assert "q=flt00" in page.url
            page.fill("#filter", "")
            page.click("button[data-chip=stale_prices]")
            assert page.inner_text("#shown") == str(STALE)
            assert page.get_attribute("button[data-chip=stale_prices]", "aria-pressed") == "true"
            problems_of = page.evaluate(
                "() => Array.from(document.querySelectorAll('#fleet tbody tr'))"
                ".filter((r) => !r.hidden).map((r) => r.dataset.problems)"
            )
            assert len(problems_of) == STALE and all("stale_prices" in p for p in problems_of)
            assert "state=stale_prices" in page.url and "sort=ticker" in page.url
            # a reload keeps the view: the server renders it from the URL
            page.reload(wait_until="load")
            assert page.inner_text("#shown") == str(STALE)
            assert len(page.evaluate(_VISIBLE)) == STALE
            assert page.get_attribute("button[data-chip=stale_prices]", "aria-pressed") == "true"
            assert page.evaluate(_COLUMN, "ticker") == sorted(page.evaluate(_COLUMN, "ticker"))
            # the chip again: every state
            page.click("button[data-chip=stale_prices]")
            assert page.inner_text("#shown") == str(N + NEW) and "state=" not in page.url
            # a shared view opens as it was shared
            page.goto(f"{server}/dashboard?state=volatility&q=flt0&sort=skill&order=desc")
            shared = page.evaluate(
                "() => Array.from(document.querySelectorAll('#fleet tbody tr'))"
                ".filter((r) => !r.hidden).map((r) => [r.dataset.ticker, r.dataset.problems])"
            )
            expected = [ticker(i) for i in range(N) if i % 7 == 0 and i % 19 != 18]
            assert sorted(t for t, _ in shared) == sorted(expected)
            assert all("volatility" in p for _, p in shared)
            skills = [float(v) for v in page.evaluate(_COLUMN, "skill") if v]
            assert skills == sorted(skills, reverse=True)
            assert page.get_attribute("#fleet thead th[data-col=skill]", "aria-sort") == (
                "descending"
            )
            page.goto(f"{server}/dashboard", wait_until="load")

            # a row's link opens that ticker's page
            target = ticker(13)
            with page.expect_navigation(wait_until="load"):
                page.click(f"#fleet tbody tr[data-ticker={target}] a")
            assert page.url == f"{server}/dashboard/{target}"
            assert target in page.locator("h1").inner_text()
            assert page.locator("table.drift-checks").count() == 1
            assert "Drift detector in charge: the assessment" in page.inner_text("p.detector")
            width = page.evaluate("() => document.querySelector('main').clientWidth")
            assert width > 1300, f"the ticker page is {width} px wide in a 1400 px window"
            with page.expect_navigation(wait_until="load"):
                page.click("a[data-nav=overview]")
            assert page.locator("#fleet tbody tr").count() == N + NEW
            # a ticker without labels: its walk-forward scores, named as such
            page.goto(f"{server}/dashboard/{new_ticker(3)}", wait_until="load")
            heading = page.inner_text("h3[data-basis=walk_forward]")
            assert f"walk-forward, {TEST_SESSIONS} test sessions" in heading
            assert "-2.20%" in page.inner_text("dl[data-basis=walk_forward]")
        finally:
            browser.close()
    assert problems == []


def test_the_page_is_self_contained(server: str) -> None:
    import httpx

    html = httpx.get(f"{server}/dashboard", timeout=30).text
    # the SVG namespace is an identifier, not a load
    html = html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert not re.search(r"https?://|<script src|<link rel=\"stylesheet|@import|url\(", html)
    assert html.count("<tr data-ticker=") == N + NEW


def test_a_bad_view_in_the_url_is_refused_with_the_fix(server: str) -> None:
    import httpx

    r = httpx.get(f"{server}/dashboard?state=broken", timeout=30)
    assert r.status_code == 422 and "state 'broken' is unknown: use one of degraded" in r.text
    r = httpx.get(f"{server}/dashboard?sort=colour", timeout=30)
    assert r.status_code == 422 and "sort 'colour' is not a column" in r.text


def test_the_api_rows_carry_walk_forward_scores_until_live_labels_exist(server: str) -> None:
    import httpx

    body = httpx.get(f"{server}/monitoring/fleet?limit=1000&sort=ticker&order=desc", timeout=30)
    rows = {r["ticker"]: r for r in body.json()["tickers"]}
    new = rows[new_ticker(3)]
    assert (new["basis"], new["basis_sessions"], new["skill"]) == ("walk_forward", 252, -0.022)
    assert new["dm_pvalue"] == 0.21 and new["coverage"] == 0.94
    old = rows[ticker(999)]
    assert (old["basis"], old["walk_forward_skill"]) == ("live", 0.01)
    assert "walk_forward" in body.json()["accuracy"]
