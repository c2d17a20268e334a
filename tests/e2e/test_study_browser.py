"""The study page of a tiny SYNTHETIC study in headless Chromium, down to one cell's replay.

`stocky study` runs in a subprocess (2 synthetic tickers x 2 policies, one quarter); its folder
is served by a static server on loopback, and the browser may reach that server only (every
other request is aborted and recorded; host names resolve to nothing). The heatmap table and
the inline frontier SVG must render with visible labels; a heatmap cell's link must land on
that cell's page, whose three charts are drawn with every labeled forecast of the cell.

Needs Debian's `chromium` at /usr/bin/chromium (Playwright drives it; no browser download).
Without it the test is skipped locally and fails under CI=true; `.ci/run` installs it.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, require_browser, watch_offline
from stocky.pipelines.study import result_folder
from stocky.pipelines.study_pages import CELL_PAGE
from support import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: Resolve every host name to nothing but loopback: even a request the route filter missed
#: cannot leave the machine.
NO_NETWORK = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
ENV = {
    "STOCKY_PRICE_SOURCE": "synthetic",
    "STOCKY_SYNTHETIC_TICKERS": "2",
    "STOCKY_SYNTHETIC_SESSIONS": "300",
    "STOCKY_SYNTHETIC_END": "2024-12-31",
    "STOCKY_ORDER": "0,1,1",
    "STOCKY_TEST_SIZE": "20",
    "STOCKY_VALIDATION_SIZE": "20",
    "STOCKY_TRAIN_WINDOW": "200",
    "STOCKY_MIN_TRAIN_SIZE": "100",
    "STOCKY_HOLDOUT_SIZE": "20",
}
PERCENT = re.compile(r"^[+-]\d+\.\d\d%$")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        pass


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(the static server's base URL, the study folder it serves)."""
    require_browser()
    root = tmp_path_factory.mktemp("study-browser")
    out = root / "study"
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKY_")}
    env.update(ENV, STOCKY_HOME=str(root / "home"))
    command = [sys.executable, "-m", "stocky", "study", "--all"]
    command += ["--start", "2024-10-01", "--end", "2024-12-31"]
    command += ["--grid", "retrain=never,monthly", "--jobs", "1", "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    handler = functools.partial(_Quiet, directory=str(out))
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", out
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


def _visible_text(locator: Any) -> None:
    assert locator.is_visible(), locator
    box = locator.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0, locator


def test_the_study_page_renders_and_a_heatmap_cell_opens_its_replay(
    study: tuple[str, Path],
) -> None:
    from playwright.sync_api import sync_playwright

    base, out = study
    cells = pd.read_csv(out / "cells.csv")
    assert len(cells) == 4 and cells["error"].isna().all()
    # each cell's page, relative to the study folder -> its labeled count
    labeled = {
        (result_folder(out, r.ticker, r.policy, r.retrain_mode) / CELL_PAGE)
        .relative_to(out)
        .as_posix(): int(r.labeled)
        for r in cells.itertuples()
    }
    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, NO_NETWORK]
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            watch_offline(page, base, problems, console=True)
            response = page.goto(f"{base}/study.html", wait_until="load")
            assert response is not None and response.status == 200

            # the heatmap table: one labelled, coloured cell per (ticker, policy)
            heat = page.locator("table.heat td[data-cell=heat]")
            assert heat.count() == 4
            for i in range(4):
                cell = heat.nth(i)
                _visible_text(cell)
                assert PERCENT.match(cell.inner_text().strip()), cell.inner_text()
                assert "background:#" in (cell.get_attribute("style") or "")

            # the frontier, inline: one labelled point per policy, the zero line, axis titles
            frontier = page.locator("#frontier svg[data-chart=frontier]")
            _visible_text(frontier)
            assert frontier.bounding_box()["width"] > 300
            points = frontier.locator("g[data-policy]")
            assert points.count() == 2
            assert {points.nth(i).get_attribute("data-policy") for i in range(2)} == {
                "retrain=never",
                "retrain=monthly",
            }
            for i in range(2):
                label = points.nth(i).locator("text.mark")
                _visible_text(label)
                # SVG text is not an HTML element: its text content, not inner_text
                assert label.text_content() == points.nth(i).get_attribute("data-policy")
            assert frontier.locator("line[data-series=zero]").count() == 1
            _visible_text(frontier.get_by_text("retrains per ticker over the period"))
            _visible_text(frontier.get_by_text("mean skill vs naive (%)"))

            # a heatmap cell's link lands on that cell's page
            link = page.locator("table.heat td[data-cell=heat] a").first
            href = link.get_attribute("href")
            assert href in labeled, (href, sorted(labeled))
            link.click()
            page.wait_for_url(f"**/{CELL_PAGE}")
            assert unquote(urlsplit(page.url).path).lstrip("/") == unquote(href)

            # its three charts, the forecast drawn through every labeled row of the cell
            for chart in ("forecast", "timeline", "skill"):
                _visible_text(page.locator(f"svg[data-chart={chart}]"))
            for series in ("actual", "forecast"):
                path = page.locator(f"svg[data-chart=forecast] path[data-series={series}]")
                assert int(path.get_attribute("data-points")) == labeled[href], series
                assert (path.get_attribute("d") or "").startswith("M")
            skill = page.locator("svg[data-chart=skill] path[data-series=cumulative]")
            assert int(skill.get_attribute("data-points")) == labeled[href]

            # the standalone heatmap file opens too, its cells labelled
            response = page.goto(f"{base}/heatmap.svg", wait_until="load")
            assert response is not None and response.status == 200
            svg_cells = page.locator("g[data-cell=heat] text")
            assert svg_cells.count() == 4
            assert all(PERCENT.match(t.strip()) for t in svg_cells.all_text_contents())
            _visible_text(svg_cells.first)
        finally:
            browser.close()
    assert problems == []
