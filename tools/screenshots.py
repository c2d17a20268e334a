"""Take the documentation's screenshots from a real server, in headless Chromium.

    python tools/screenshots.py [--out docs/img] [--tickers 8]

In a temporary folder: trains a small SYNTHETIC fleet (`STOCKY_PRICE_SOURCE=synthetic`), starts
a real `stocky serve` on 127.0.0.1, logs two months of forecasts per ticker through
POST /predict, runs `stocky daily` (actuals, drift checks, the next forecast, the report), then
photographs `/dashboard` and one ticker's page with Debian's Chromium driven by Playwright
(no browser download), and the MLflow UI (`mlflow ui` on the same state) the same way. Every
process it starts is stopped at the end. Writes dashboard.png, ticker.png and mlflow.png.

Exits 2, saying what to install, when Chromium or Playwright is missing.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# as tests/browser.py: headless, and no background connections on a closed network
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SESSIONS = 700
LOGGED_SESSIONS = 45  # forecasts logged through the API before the daily run
VIEWPORT = {"width": 1400, "height": 900}


def _missing_browser() -> str | None:
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) "
            "to take the screenshots"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"the playwright package is missing ({exc}): make install (it is a dev dependency)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(home: Path, tickers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKY_")}
    src = str(ROOT / "src")
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")])),
        STOCKY_HOME=str(home),
        STOCKY_PRICE_SOURCE="synthetic",
        STOCKY_SYNTHETIC_TICKERS=str(tickers),
        STOCKY_SYNTHETIC_SESSIONS=str(SESSIONS),
        STOCKY_FAMILIES="naive,drift,arima",
        STOCKY_TEST_SIZE="126",
        STOCKY_RELOAD_INTERVAL_SECONDS="1",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        MPLBACKEND="Agg",
    )
    return env


def _stocky(env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> None:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "stocky", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode not in ok:
        raise RuntimeError(
            f"stocky {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    print(
        f"stocky {' '.join(args)}: exit {result.returncode} ({time.perf_counter() - started:.0f} s)"
    )


@contextlib.contextmanager
def _process(command: list[str], env: dict[str, str], url: str) -> Iterator[str]:
    """Start a server, wait until `url` answers 200, yield it; stop the process at the end."""
    import httpx

    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[:4]} exited with {proc.returncode}")
            with contextlib.suppress(httpx.TransportError):  # not listening yet: poll again
                if httpx.get(url, timeout=2.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer in 120 s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def _log_forecasts(base: str, env: dict[str, str], last: dt.date) -> None:
    """Forecasts of the sessions before `last` for every ticker, through the live API."""
    import httpx

    from stocky.adapters.prices.synthetic import SyntheticSource

    source = SyntheticSource(int(env["STOCKY_SYNTHETIC_TICKERS"]), sessions=SESSIONS, end=last)
    with httpx.Client(base_url=base, timeout=30.0) as client:
        for ticker in source.tickers():
            closes = source.fetch(ticker).set_index("date")["close"]
            days = [d for d in closes.index if d.date() < last][-LOGGED_SESSIONS:]
            for day in days:
                window = closes.loc[:day].iloc[-60:].tolist()
                body = {"recent_prices": window, "date": day.date().isoformat(), "ticker": ticker}
                client.post("/predict", json=body).raise_for_status()


def _dismiss_overlays(page: Any) -> None:
    """Close what MLflow's UI opens over its pages (an announcement, the assistant panel)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.keyboard.press("Escape")
    for label in ("Close", "close"):
        buttons = page.locator(f'button[aria-label="{label}"]:visible')
        for i in range(buttons.count()):
            try:
                buttons.nth(i).click(timeout=2000)
            except PlaywrightTimeout:
                print(
                    f"screenshots: an overlay's {label!r} button did not respond", file=sys.stderr
                )
    page.wait_for_timeout(500)


def _shoot(pages: list[tuple[str, Path, str]], *, idle: bool = True) -> None:
    """(url, output file, selector to wait for) -> a PNG of each page.

    `idle`: wait for the network to go quiet first (not for pages that poll, like MLflow's).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            for url, out, selector in pages:
                page.goto(url, wait_until="networkidle" if idle else "load", timeout=60_000)
                page.wait_for_selector(selector, timeout=60_000)
                if not idle:
                    _dismiss_overlays(page)
                page.wait_for_timeout(1000)  # late layout (charts decoding, the SPA's tables)
                out.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out), full_page=False)
                print(f"wrote {out}")
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--tickers", type=int, default=8, help="SYNTHETIC tickers to train")
    args = parser.parse_args(argv)
    missing = _missing_browser()
    if missing:
        print(f"screenshots NOT taken: {missing}", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT / "src"))
    from stocky.config import Settings

    end = Settings().synthetic_end  # the synthetic source's last session (fixed, reproducible)
    with tempfile.TemporaryDirectory(prefix="stocky-shots-") as tmp:
        home = Path(tmp) / "home"
        env = _env(home, args.tickers)
        _stocky(env, "train", "--all", "--jobs", "2")
        port = _free_port()
        serve = [
            sys.executable,
            "-m",
            "stocky",
            "serve",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        base = f"http://127.0.0.1:{port}"
        with _process(serve, env, f"{base}/health"):
            _log_forecasts(base, env, end)
            _stocky(env, "daily", "--as-of", end.isoformat(), "--retrain", "never", ok=(0, 10))
            ticker = "SYN0001"
            _shoot(
                [
                    (f"{base}/dashboard", args.out / "dashboard.png", "table"),
                    (f"{base}/dashboard/{ticker}", args.out / "ticker.png", "img[data-chart]"),
                ]
            )
        mlflow_port = _free_port()
        mlflow_ui = [
            sys.executable,
            "-m",
            "mlflow",
            "ui",
            "--backend-store-uri",
            f"sqlite:///{home / 'mlflow.db'}",
            "--host",
            "127.0.0.1",
            "--port",
            str(mlflow_port),
        ]
        ui = f"http://127.0.0.1:{mlflow_port}"
        with _process(mlflow_ui, env, f"{ui}/health"):
            # the models list, once the first registered model is drawn (the page keeps polling)
            _shoot([(f"{ui}/#/models", args.out / "mlflow.png", "text=stocky-syn0001")], idle=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
