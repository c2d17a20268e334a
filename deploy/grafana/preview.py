"""Preview the provisioned Grafana board without Grafana, on SYNTHETIC data.

    python deploy/grafana/preview.py [--out docs/img/grafana-preview.png] [--seconds 45]

In a temporary folder: trains a few tickers of the SYNTHETIC price source (ARIMA(0,1,1), fixed),
starts a real `stocky serve` on 127.0.0.1, logs a month of forecasts through POST /predict, runs
`stocky daily` (actuals, drift checks, the next session's forecast), then starts a real
`prometheus` on 127.0.0.1 scraping that server every second (with deploy/prometheus/alerts.yml)
while a little traffic arrives. Every panel's PromQL from deploy/grafana/dashboards/stocky.json
is evaluated through Prometheus' HTTP API and drawn with matplotlib in the board's own grid.
Both processes are stopped at the end. Grafana itself is not run: the picture approximates it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from draw import draw_board
from promboard import evaluate, load_board, run_prometheus, template_values, wait_for_scrapes

from stocky.adapters.prices.synthetic import SyntheticSource
from stocky.core.sessions import TradingCalendar
from stocky.runtime import limit_blas_threads

ROOT = Path(__file__).resolve().parents[2]
TICKERS = 4
SESSIONS = 600
LOGGED_SESSIONS = 25  # forecasts logged through the API before the daily run
TITLE = (
    "stocky Grafana board, panels evaluated by Prometheus from the board's own queries on "
    "synthetic data (drawn with matplotlib; Grafana itself is not run here)"
)


def _env(home: Path, end: dt.date) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKY_")}
    env.update(
        STOCKY_HOME=str(home),
        STOCKY_PRICE_SOURCE="synthetic",
        STOCKY_SYNTHETIC_TICKERS=str(TICKERS),
        STOCKY_SYNTHETIC_SESSIONS=str(SESSIONS),
        STOCKY_SYNTHETIC_END=end.isoformat(),
        STOCKY_ORDER="0,1,1",
        STOCKY_TEST_SIZE="40",
        STOCKY_JOBS="1",
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
    )
    return env


def _stocky(env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "stocky", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode not in ok:
        raise RuntimeError(
            f"stocky {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    print(f"stocky {' '.join(args)}: exit {result.returncode}", flush=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"stocky serve exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet: poll again
        time.sleep(0.3)
    raise TimeoutError(f"stocky serve at {base} not healthy after {timeout} s")


def _log_forecasts(client: httpx.Client, source: SyntheticSource, last: dt.date) -> None:
    """A month of forecasts per ticker, each from the 60 closes up to its session."""
    for ticker in source.tickers():
        closes = source.fetch(ticker).set_index("date")["close"]
        sessions = [d for d in closes.index if d.date() < last][-LOGGED_SESSIONS:]
        for day in sessions:
            window = closes.loc[:day].iloc[-60:].tolist()
            body = {"recent_prices": window, "date": day.date().isoformat(), "ticker": ticker}
            client.post("/predict", json=body).raise_for_status()


def _traffic(client: httpx.Client, tickers: list[str], seconds: float) -> None:
    """Light traffic while Prometheus scrapes: forecasts, now and then a 404 and a 422."""
    deadline, i = time.monotonic() + seconds, 0
    while time.monotonic() < deadline:
        ticker = tickers[i % len(tickers)]
        client.get(f"/forecast/{ticker}")
        if i % 5 == 0:
            client.post("/predict", json={"recent_prices": [100.0] * 3, "ticker": ticker})
        if i % 7 == 0:
            client.get("/forecast/NOSUCH")
        i += 1
        time.sleep(0.4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "grafana-preview.png")
    parser.add_argument("--seconds", type=float, default=45.0, help="scraping time (>= 10)")
    args = parser.parse_args(argv)
    limit_blas_threads(1)
    now = dt.datetime.now(dt.UTC)
    end = TradingCalendar("XNYS").last_closed_session(now)
    with tempfile.TemporaryDirectory(prefix="stocky-grafana-") as tmp:
        env = _env(Path(tmp) / "home", end)
        _stocky(env, "train", "--all", "--jobs", "1")
        port = _free_port()
        serve = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stocky",
                "serve",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(base, serve)
            source = SyntheticSource(TICKERS, sessions=SESSIONS, end=end)
            with httpx.Client(base_url=base, timeout=30.0) as api:
                _log_forecasts(api, source, end)
                _stocky(env, "daily", "--retrain", "never", "--no-report", ok=(0, 10))
                with run_prometheus(Path(tmp) / "prometheus", target=f"127.0.0.1:{port}") as url:
                    started = time.time()
                    _traffic(api, source.tickers(), max(10.0, args.seconds))
                    with httpx.Client(base_url=url, timeout=30.0) as prom:
                        wait_for_scrapes(prom, 5)
                        board, panels = load_board()
                        variables = template_values(prom, board)
                        results = evaluate(
                            prom,
                            panels,
                            start=started,
                            end=time.time(),
                            step=1.0,
                            variables=variables,
                        )
        finally:
            serve.terminate()
            try:
                serve.wait(timeout=15)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait(timeout=15)
    subtitle = (
        f"{board['title']} | {TICKERS} SYNTHETIC tickers (SYN0001..), "
        f"ARIMA(0,1,1), last session {end}, {args.seconds:.0f} s of 1 s scrapes (UTC), "
        f"$ticker = All, $k = {variables['k']} | command: python deploy/grafana/preview.py"
    )
    draw_board(panels, results, title=TITLE, subtitle=subtitle, out=args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
