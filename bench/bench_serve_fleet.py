"""Serving a fleet: start-up to /ready, memory, /predict latency and batch throughput for
N = 1, 10, 100, 1,000 champions on the local store (SQLite database, SQLite MLflow registry).

Run with ``python bench/bench_serve_fleet.py`` (``--quick`` for shorter load slices).

The registries are SYNTHETIC: tickers SYN0000.. with ARIMA(0,1,1) parameters drawn from a seeded
generator (every ticker its own), registered through a fast path that skips training and
MLflow runs (a registered model, one version whose source is a folder holding spec.json, and
the `champion` alias). Registering 1,000 real trained versions takes minutes; serving reads
exactly what this path writes. Each registry is built once into ``--cache`` and reused.

Measured per N, one `stocky serve` worker each: seconds from process start to the first 200
from /ready, and the server's RSS once ready (with RSS per 1,000 champions over the one-ticker
server). Then the one-champion and the 1,000-champion servers run side by side and take turns
in short slices (so a slow spell of the shared machine weighs on both): /predict p50/p99 with
each request for a ticker drawn at random from those loaded. Last, forecasts/s on the
1,000-champion server through single /predict requests vs /predict/batch of 100 and 1,000 items.
Missed targets print MISS but never fail the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import HOST, Load, _Client, _free_port, _get_status, _Tally  # noqa: E402

SIZES = (1, 10, 100, 1000)
READY_TARGET_S = 15.0  # /ready with 1,000 champions
P99_TOLERANCE = 1.10  # p99 with 1,000 loaded over p99 with one
CONNECTIONS = 8
PRICES = [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4] * 6
FORMAT = 1  # bump when the cached layout changes


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# --- the synthetic registries ---------------------------------------------------------------


def _spec(ticker: str, rng: Any) -> dict[str, Any]:
    from stocky.core.arima import ArimaOrder, ArimaParams
    from stocky.core.spec import ModelSpec

    params = ArimaParams(
        ArimaOrder(0, 1, 1),
        "n",
        0.0,
        (),
        (float(rng.uniform(-0.3, 0.3)),),
        float(rng.uniform(0.5, 8.0)),
    )
    spec = ModelSpec(
        ticker,
        params,
        "2015-01-02",
        "2024-12-31",
        1260,
        info={"synthetic": True, "kind": "bench fast path (no training run)"},
        interval="ewma",
    )
    return spec.to_dict()


def build_registry(folder: Path, n: int, template: Path) -> None:
    """N synthetic champions in `folder` (mlflow.db + specs/), unless already built."""
    marker = folder / "built.json"
    if marker.exists() and json.loads(marker.read_text()) == {"n": n, "format": FORMAT}:
        return
    import shutil

    import numpy as np

    from stocky.adapters.registry import ModelRegistry, model_name

    if folder.exists():
        shutil.rmtree(folder)
    (folder / "specs").mkdir(parents=True)
    shutil.copy(template, folder / "mlflow.db")
    client = ModelRegistry(
        tracking_uri=f"sqlite:///{folder / 'mlflow.db'}", experiment="stocky"
    ).client
    rng = np.random.default_rng(n)
    start = time.perf_counter()
    for i in range(n):
        ticker = f"SYN{i:04d}"
        source = folder / "specs" / ticker
        source.mkdir()
        (source / "spec.json").write_text(json.dumps(_spec(ticker, rng)))
        name = model_name(ticker)
        client.create_registered_model(name, tags={"ticker": ticker, "synthetic": "true"})
        version = client.create_model_version(name, source=source.as_uri())
        client.set_registered_model_alias(name, "champion", version.version)
    marker.write_text(json.dumps({"n": n, "format": FORMAT}))
    print(f"  built {n} synthetic champions in {time.perf_counter() - start:.0f} s")


def empty_mlflow_db(cache: Path) -> Path:
    """An MLflow SQLite database with its tables created once (creation takes ~15 s)."""
    template = cache / f"template-mlflow-{FORMAT}.db"
    if not template.exists():
        from stocky.adapters.registry import ModelRegistry

        tmp = cache / "template-building.db"
        tmp.unlink(missing_ok=True)
        ModelRegistry(
            tracking_uri=f"sqlite:///{tmp}", experiment="stocky"
        ).client.search_registered_models()
        tmp.rename(template)
    return template


# --- servers --------------------------------------------------------------------------------


class Server:
    """One `stocky serve` worker over a registry folder; times start-up to /ready."""

    def __init__(self, home: Path, log: Path) -> None:
        for stale in home.glob("stocky.db*"):
            stale.unlink()
        self.port = _free_port()
        env = {
            **os.environ,
            "STOCKY_HOME": str(home),
            "STOCKY_DEFAULT_TICKER": "SYN0000",
            "STOCKY_PRICE_SOURCE": "synthetic",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
        }
        cmd = [sys.executable, "-m", "stocky", "serve", "--port", str(self.port)]
        self.started = time.perf_counter()
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*cmd, "--log-level", "warning"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.log = log

    def wait_ready(self, timeout: float = 300) -> float:
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log.read_text()}")
            try:
                if _get_status(self.port, "/ready") == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            if time.perf_counter() - self.started > timeout:
                raise RuntimeError(f"not ready after {timeout} s:\n{self.log.read_text()}")
            time.sleep(0.05)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- load -----------------------------------------------------------------------------------


class _Cycling(_Client):
    """A keep-alive connection sending the next of many prepared requests each time."""

    def __init__(self, requests: list[bytes], *args: Any) -> None:
        self.requests, self.i = requests, random.randrange(len(requests))
        super().__init__(requests[self.i], *args)

    def _send(self) -> None:
        self.i = (self.i + 1) % len(self.requests)
        self.request = self.requests[self.i]
        super()._send()


def _request(port: int, path: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def run_load(
    requests: list[bytes],
    port: int,
    seconds: float,
    connections: int,
    lat: list[float] | None = None,
) -> Load:
    """Closed-loop load; latencies are also appended to `lat` when given (pooled p99s)."""
    import numpy as np

    lat = [] if lat is None else lat
    first = len(lat)
    tally = _Tally()

    async def one(stop_at: float) -> None:
        loop = asyncio.get_running_loop()
        while time.perf_counter() < stop_at:
            _, client = await loop.create_connection(
                lambda: _Cycling(requests, stop_at, lat, tally), HOST, port
            )
            await client.closed

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(one(start + seconds) for _ in range(connections)))
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    mine = lat[first:]
    ms = np.asarray(mine) * 1e3 if mine else np.zeros(1)
    return Load(
        requests=len(mine),
        ok=tally.ok,
        errors=tally.non2xx + tally.socket_errors,
        seconds=elapsed,
        p50_ms=float(np.percentile(ms, 50)),
        p99_ms=float(np.percentile(ms, 99)),
    )


def predict_requests(port: int, n: int, count: int = 2000) -> list[bytes]:
    rng = random.Random(n)
    return [
        _request(
            port,
            "/predict",
            json.dumps({"recent_prices": PRICES, "ticker": f"SYN{rng.randrange(n):04d}"}).encode(),
        )
        for _ in range(count)
    ]


def batch_requests(port: int, n: int, items: int, count: int = 8) -> list[bytes]:
    rng = random.Random(items)
    out = []
    for _ in range(count):
        body = {
            "items": [
                {"recent_prices": PRICES, "ticker": f"SYN{rng.randrange(n):04d}"}
                for _ in range(items)
            ]
        }
        out.append(_request(port, "/predict/batch", json.dumps(body).encode()))
    return out


def _rows_logged(home: Path) -> int:
    with sqlite3.connect(home / "stocky.db") as conn:
        return int(conn.execute("SELECT count(*) FROM predictions").fetchone()[0])


# --- the run --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short load slices")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "stocky-bench-serve-fleet",
        help="where the synthetic registries are built once and reused",
    )
    parser.add_argument("--slices", type=int, default=6, help="turns per side for the p99s")
    args = parser.parse_args()
    part = 1.0 if args.quick else 3.0
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"registries (synthetic, fast path) in {args.cache}")
    template = empty_mlflow_db(args.cache)
    homes = {n: args.cache / f"n{n}" for n in SIZES}
    for n, home in homes.items():
        build_registry(home, n, template)

    print("\nstart-up (one worker, local store)")
    print(f"  {'champions':>9} {'to /ready s':>12} {'RSS MB':>8}")
    ready: dict[int, float] = {}
    rss: dict[int, float] = {}
    for n, home in homes.items():
        server = Server(home, args.cache / f"serve-{n}.log")
        try:
            ready[n] = server.wait_ready()
            time.sleep(0.5)
            rss[n] = server.rss_mb()
        finally:
            server.stop()
        print(f"  {n:>9} {ready[n]:>12.2f} {rss[n]:>8.0f}")
    per_1000 = (rss[1000] - rss[1]) * 1000 / 999
    print(f"  RSS per 1,000 champions: {per_1000:.0f} MB (1,000-champion server over one)")
    print(
        f"  /ready with 1,000 champions in {ready[1000]:.1f} s "
        f"(target <= {READY_TARGET_S:.0f}): {_verdict(ready[1000] <= READY_TARGET_S)}"
    )

    print(
        f"\n/predict latency, {CONNECTIONS} connections, {args.slices} turns of {part:.0f} s "
        "each (p50/p99 over all turns)"
    )
    one, fleet = (
        Server(homes[1], args.cache / "lat-1.log"),
        Server(homes[1000], args.cache / "lat-1000.log"),
    )
    try:
        one.wait_ready()
        fleet.wait_ready()
        sides = {
            1: (one, predict_requests(one.port, 1)),
            1000: (fleet, predict_requests(fleet.port, 1000)),
        }
        for _, (srv, reqs) in sides.items():
            run_load(reqs, srv.port, 1.0, CONNECTIONS)  # warm-up
        import numpy as np

        loads: dict[int, list[Load]] = {1: [], 1000: []}
        pooled: dict[int, list[float]] = {1: [], 1000: []}
        for i in range(args.slices):
            order = [1, 1000] if i % 2 == 0 else [1000, 1]
            for n in order:
                srv, reqs = sides[n]
                loads[n].append(run_load(reqs, srv.port, part, CONNECTIONS, pooled[n]))
        p99 = {}
        for n, parts in loads.items():
            load = Load.merge(parts)
            ms = np.asarray(pooled[n]) * 1e3
            p99[n] = float(np.percentile(ms, 99))
            print(
                f"  {n:>5} loaded: {load.rps:7.0f} req/s  p50 {np.percentile(ms, 50):6.2f} ms  "
                f"p99 {p99[n]:6.2f} ms (worst turn {load.p99_ms:6.2f})  errors {load.errors}"
            )
        ratio = p99[1000] / p99[1]
        print(
            f"  p99 with 1,000 over p99 with one: {ratio:.2f} "
            f"(target <= {P99_TOLERANCE:.2f}): {_verdict(ratio <= P99_TOLERANCE)}"
        )
        one.stop()

        print(f"\nforecasts/s on the 1,000-champion server ({part * args.slices / 2:.0f} s each)")
        home = homes[1000]
        rows = []
        for label, reqs, per, conns in (
            ("single /predict", sides[1000][1], 1, CONNECTIONS),
            ("/predict/batch x100", batch_requests(fleet.port, 1000, 100), 100, 2),
            ("/predict/batch x1000", batch_requests(fleet.port, 1000, 1000), 1000, 2),
        ):
            run_load(reqs, fleet.port, 1.0, conns)
            before = _rows_logged(home)
            load = run_load(reqs, fleet.port, part * args.slices / 2, conns)
            time.sleep(0.2)
            logged = _rows_logged(home) - before
            rows.append((label, load.ok * per / load.seconds, load, logged))
        base = rows[0][1]
        for label, fps, load, logged in rows:
            print(
                f"  {label:<22} {fps:8.0f} forecasts/s ({fps / base:4.1f}x)  "
                f"p50 {load.p50_ms:7.1f} ms  p99 {load.p99_ms:7.1f} ms  rows logged {logged}"
            )
    finally:
        one.stop()
        fleet.stop()


if __name__ == "__main__":
    main()
