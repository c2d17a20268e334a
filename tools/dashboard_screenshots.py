"""Screenshots of the dashboard at 1400 px in headless Chromium, for the docs.

    python tools/dashboard_screenshots.py [--out docs/img]

- ``fleet.png``: `/dashboard` over a SYNTHETIC fleet (tests/synthetic_fleet.py: 1,000
  tickers with 10 sessions of drift checks, plus 50 champions without live labels yet that
  show their walk-forward scores), served in-process with a fixed clock.
- ``ticker.png``: `/dashboard/^GSPC` from a real `stocky serve`: ^GSPC trained on the bundled
  closes, Q4 2018 forecast through POST /predict, labeled and drift-checked.

Needs Debian's chromium at /usr/bin/chromium and the playwright package; nothing is fetched.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

WIDTH = 1400


def _uvicorn(app: object) -> tuple[str, object, threading.Thread]:
    import uvicorn

    from support import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("the fleet server did not start within 60 s")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def fleet_server(home: Path) -> tuple[str, object, threading.Thread]:
    from stocky.adapters.store import create_schema, make_engine
    from stocky.api.app import create_app
    from support import make_settings
    from synthetic_fleet import NOW, champions, fill

    home.mkdir(parents=True)
    engine = make_engine(f"sqlite:///{home / 'stocky.db'}")
    create_schema(engine)
    fill(engine, 1000, days=30, check_sessions=21)
    engine.dispose()
    return _uvicorn(
        create_app(make_settings(home), clock=lambda: NOW, registry=champions(1000, 50))
    )


def ticker_server(home: Path) -> tuple[str, subprocess.Popen[bytes]]:
    import httpx

    from stocky.adapters.prices.bundled import BundledSource
    from stocky.adapters.store import PriceRepository, create_schema, make_engine
    from stocky.adapters.store.audit import AuditRepository
    from stocky.adapters.store.predictions import PredictionRepository
    from stocky.core.sessions import TradingCalendar
    from stocky.pipelines.actuals import attach_actuals
    from stocky.pipelines.drift import check_drift
    from stocky.wiring import drift_rule
    from support import free_port, make_settings, registry_for, train_into, wait_healthy

    ticker = "^GSPC"
    settings = make_settings(home)
    train_into(settings, ticker)
    port = free_port()
    env = {
        **os.environ,
        "STOCKY_HOME": str(home),
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_RELOAD_INTERVAL_SECONDS": "0",
    }
    command = [sys.executable, "-m", "stocky", "serve", "--port", str(port)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base, proc)
    closes = BundledSource().fetch(ticker).set_index("date")["close"]
    with httpx.Client(base_url=base, timeout=10) as client:
        for day in closes.loc["2018-10-01":"2018-12-27"].index:
            window = closes.loc[:day].iloc[-60:].tolist()
            body = {"recent_prices": window, "date": day.date().isoformat(), "ticker": ticker}
            client.post("/predict", json=body).raise_for_status()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    predictions, audit = PredictionRepository(engine), AuditRepository(engine)
    now = dt.datetime(2019, 1, 2, 22, tzinfo=dt.UTC)
    attach_actuals(
        predictions=predictions,
        prices=PriceRepository(engine),
        source=BundledSource(),
        ticker=ticker,
        as_of=dt.date(2018, 12, 31),
        now=now,
    )
    registry, calendar = registry_for(settings), TradingCalendar(settings.exchange)
    for as_of in ("2018-11-15", "2018-12-03", "2018-12-17", "2018-12-31"):
        check_drift(
            predictions=predictions,
            audit=audit,
            registry=registry,
            calendar=calendar,
            ticker=ticker,
            as_of=dt.date.fromisoformat(as_of),
            rule=drift_rule(settings),
            now=now,
        )
    engine.dispose()
    return base, proc


def shoot(url: str, path: Path, *, full_page: bool, height: int = 1000) -> None:
    from playwright.sync_api import sync_playwright

    from browser import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": height})
            page.goto(url, wait_until="networkidle")
            page.screenshot(path=str(path), full_page=full_page)
        finally:
            browser.close()
    print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        base, server, thread = fleet_server(Path(tmp) / "fleet")
        try:
            shoot(f"{base}/dashboard", args.out / "fleet.png", full_page=False, height=1000)
        finally:
            server.should_exit = True  # type: ignore[attr-defined]
            thread.join(timeout=30)
        base, proc = ticker_server(Path(tmp) / "ticker")
        try:
            shoot(f"{base}/dashboard/%5EGSPC", args.out / "ticker.png", full_page=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
