"""`GET /dashboard` in headless Chromium, served by a real `stocky serve` process.

Forecasts are logged through the live server's POST /predict, labeled by the actuals pipeline
and checked by the drift pipeline; then a browser opens the overview, follows the ticker's
link, and on the ticker's page every chart must have loaded at its fixed size with something
drawn on it.

Needs Debian's `chromium` at /usr/bin/chromium (Playwright drives it; no browser download).
Without it the test is skipped locally and fails under CI=true; `.ci/run` installs it.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from browser import CHROMIUM, CHROMIUM_ARGS, require_browser
from stocky.adapters.prices.bundled import BundledSource
from stocky.adapters.store import PriceRepository, create_schema, make_engine
from stocky.adapters.store.audit import AuditRepository
from stocky.adapters.store.predictions import PredictionRepository
from stocky.core.sessions import TradingCalendar
from stocky.pipelines.actuals import attach_actuals
from stocky.pipelines.drift import check_drift
from stocky.report.charts import CHART_HEIGHT, CHART_WIDTH, CHARTS
from stocky.wiring import drift_rule
from support import free_port, make_settings, registry_for, train_into, wait_healthy

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TICKER = "^GSPC"
LABELED_UP_TO = dt.date(2018, 12, 31)


# Per chart: loaded, natural size, and the share of pixels that are not near-white.
_INSPECT_CHARTS = """
async () => {
  const imgs = Array.from(document.querySelectorAll('img[data-chart]'));
  await Promise.all(imgs.map((i) => i.decode().catch(() => null)));
  return imgs.map((i) => {
    let ink = 0;
    if (i.naturalWidth > 0) {
      const c = document.createElement('canvas');
      c.width = i.naturalWidth;
      c.height = i.naturalHeight;
      const ctx = c.getContext('2d');
      ctx.drawImage(i, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      for (let k = 0; k < d.length; k += 4) {
        if (d[k] < 200 || d[k + 1] < 200 || d[k + 2] < 200) ink++;
      }
      ink /= c.width * c.height;
    }
    return {chart: i.dataset.chart, ticker: i.dataset.ticker, complete: i.complete,
            width: i.naturalWidth, height: i.naturalHeight, ink: ink};
  });
}
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_browser()
    home = tmp_path_factory.mktemp("dashboard") / "home"
    train_into(make_settings(home), TICKER)
    return home


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "STOCKY_HOME": str(home),
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_RELOAD_INTERVAL_SECONDS": "0",
    }
    command = [
        sys.executable,
        "-m",
        "stocky",
        "serve",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def log_label_and_check(base: str, home: Path) -> tuple[int, int]:
    """Forecast Q4 2018 through the live API, attach actuals, run drift checks.

    Returns:
        (forecasts logged, forecasts labeled).
    """
    closes = BundledSource().fetch(TICKER).set_index("date")["close"]
    sessions = closes.loc["2018-10-01":"2018-12-27"].index
    with httpx.Client(base_url=base, timeout=10) as client:
        for day in sessions:
            window = closes.loc[:day].iloc[-60:].tolist()
            body = {"recent_prices": window, "date": day.date().isoformat(), "ticker": TICKER}
            r = client.post("/predict", json=body)
            assert r.status_code == 200, r.text
    settings = make_settings(home)
    engine = make_engine(settings.db_url)
    create_schema(engine)
    predictions, audit = PredictionRepository(engine), AuditRepository(engine)
    now = dt.datetime(2019, 1, 2, 22, tzinfo=dt.UTC)
    result = attach_actuals(
        predictions=predictions,
        prices=PriceRepository(engine),
        source=BundledSource(),
        ticker=TICKER,
        as_of=LABELED_UP_TO,
        now=now,
    )
    registry, calendar = registry_for(settings), TradingCalendar(settings.exchange)
    for as_of in ("2018-11-15", "2018-12-03", "2018-12-17", "2018-12-31"):
        check_drift(
            predictions=predictions,
            audit=audit,
            registry=registry,
            calendar=calendar,
            ticker=TICKER,
            as_of=dt.date.fromisoformat(as_of),
            rule=drift_rule(settings),
            now=now,
        )
    engine.dispose()
    return len(sessions), result.updated


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_every_chart_renders_in_chromium(server: str, home: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    logged, labeled = log_label_and_check(server, home)
    assert labeled == logged > 50  # every Q4 2018 forecast got its close

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("requestfailed", lambda req: problems.append(f"failed: {req.url}"))
            page.on(
                "response",
                lambda res: (
                    problems.append(f"{res.status}: {res.url}") if res.status >= 400 else None
                ),
            )
            page.on(
                "console",
                lambda msg: (
                    problems.append(f"console: {msg.text}") if msg.type == "error" else None
                ),
            )
            response = page.goto(f"{server}/dashboard", wait_until="load")
            assert response is not None and response.status == 200
            assert page.locator("#fleet tbody tr").count() == 1
            with page.expect_navigation(wait_until="load"):
                page.locator("#fleet tbody tr a").first.click()
            assert page.url == f"{server}/dashboard/%5EGSPC"
            charts = page.evaluate(_INSPECT_CHARTS)
            shot = tmp_path / "dashboard.png"
            page.screenshot(path=str(shot), full_page=True)
            assert page.locator("table.versions").count() == 1
        finally:
            browser.close()

    assert problems == []
    # the four live charts and the champion's training chart (from its MLflow run)
    assert sorted(c["chart"] for c in charts) == sorted([*CHARTS, "training"])
    for c in charts:
        assert c["ticker"] == TICKER
        assert c["complete"], c
        assert (c["width"], c["height"]) == (CHART_WIDTH, CHART_HEIGHT), c
        assert c["ink"] > 0.01, f"{c['chart']} is (nearly) blank: {c}"
    data = shot.read_bytes()
    width, height = png_size(data)
    assert width == 1280 and height > 4 * CHART_HEIGHT  # the whole page: four charts and tables
    assert len(data) > 100_000
