"""API load benchmark: /health, /predict (with its DB write) and the seed's refit, side by side;
then `stocky serve --workers 2` against one worker.

Run with ``python bench/bench_api.py`` (``--quick`` for 3 s per endpoint). Trains a ^GSPC
model into a temporary STOCKY_HOME from the bundled data (offline), starts one uvicorn worker
on loopback, and loads /health and /predict with N keep-alive connections for a fixed time,
taking turns in short slices (``--slices``), with ``wrk`` when it is installed, else with a
small built-in asyncio client. The seed's method (a
cold ARIMA fit on every request) is served by a second one-worker app for reference. Last, a
one-worker and a two-worker server run side by side and take turns the same way on both
endpoints (``--no-workers`` skips this part). Missed targets print MISS but never fail the
run: throughput depends on the machine and its load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
TICKER = "^GSPC"
WINDOW = 60  # prices per /predict body: the API's maximum
SEED_ORDER = (2, 1, 2)
MIN_RATIO = 0.5  # /predict req/s over /health req/s
MAX_P99_MS = 25.0
MIN_WORKER_SPEEDUP = 1.6  # two workers' req/s over one worker's, per endpoint


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# --- the seed's method, served for reference -----------------------------------------------


def seed_app() -> Any:
    """The seed's POST /predict: a cold statsmodels ARIMA fit on every request."""
    import numpy as np
    from fastapi import FastAPI
    from statsmodels.tsa.arima.model import ARIMA

    app = FastAPI(title="seed refit-per-request")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/predict")
    def predict(payload: dict[str, Any]) -> dict[str, object]:
        prices = np.asarray(payload["recent_prices"], dtype=float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter on short windows
            mean = ARIMA(prices, order=SEED_ORDER).fit().forecast(1)
        return {
            "prediction": float(mean[0]),
            "model_type": "arima",
            "arima_order": str(SEED_ORDER),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    return app


def serve_seed(port: int) -> None:
    import uvicorn

    uvicorn.run(seed_app(), host=HOST, port=port, log_level="warning", access_log=False)


# --- set-up: a trained home and server processes -------------------------------------------


def train_home(home: Path) -> dict[str, str]:
    """Store bundled ^GSPC prices, train a (2,1,2) champion into `home`; return server env."""
    import logging
    from datetime import UTC, datetime

    import mlflow  # noqa: F401

    from stocky.adapters.prices.bundled import BundledSource
    from stocky.adapters.registry import ModelRegistry
    from stocky.adapters.store import PriceRepository, create_schema, make_engine
    from stocky.config import Settings
    from stocky.pipelines.train import TrainConfig, train_ticker

    # Explicit None so a STOCKY_DATABASE_URL in the caller's environment is never written to.
    settings = Settings(
        home=home,
        price_source="bundled",
        reload_interval_seconds=0,
        database_url=None,
        mlflow_tracking_uri=None,
        mlflow_artifact_root=None,
        mlflow_experiment="stocky",
    )
    # after `import mlflow`, which sets its own level: hide its table-creation chatter
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    settings.ensure_home()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    frame = BundledSource().fetch(TICKER)
    PriceRepository(engine).upsert(TICKER, frame, source="bundled", fetched_at=datetime.now(UTC))
    engine.dispose()
    train_ticker(
        ticker=TICKER,
        prices=frame.iloc[-1000:].reset_index(drop=True),
        source="bundled",
        registry=ModelRegistry(
            tracking_uri=settings.tracking_uri,
            experiment=settings.mlflow_experiment,
            artifact_root=settings.artifact_root,
        ),
        config=TrainConfig(
            order="2,1,2", test_size=60, validation_size=30, train_window=500, min_train_size=100
        ),
        now=datetime.now(UTC),
    )
    return {
        "STOCKY_HOME": str(home),
        "STOCKY_DATABASE_URL": settings.db_url,
        "STOCKY_MLFLOW_TRACKING_URI": settings.tracking_uri,
        "STOCKY_MLFLOW_ARTIFACT_ROOT": settings.artifact_root,
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_RELOAD_INTERVAL_SECONDS": "0",
        "STOCKY_LOG_LEVEL": "WARNING",
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _get_status(port: int, path: str) -> int:
    import http.client

    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


@contextlib.contextmanager
def server(args: list[str], env: dict[str, str], log: Path, timeout: float = 120) -> Iterator[int]:
    """Run `args` (with "{port}" filled in) on a free port; yield the port once /health answers."""
    port = _free_port()
    cmd = [a.replace("{port}", str(port)) for a in args]
    full_env = {**os.environ, **env, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
            with contextlib.suppress(OSError):
                if _get_status(port, "/health") == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not healthy after {timeout} s:\n{log.read_text()}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- load generators ------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """One endpoint's measured load."""

    requests: int  # responses received
    ok: int  # 2xx responses
    errors: int  # non-2xx responses plus socket errors and timeouts
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    @classmethod
    def merge(cls, parts: list[Load]) -> Load:
        """Slices of one endpoint's load as one: counts and seconds add up; p50 is the
        request-weighted mean of the slices' p50s, p99 the worst slice's."""
        total = sum(p.requests for p in parts)
        return cls(
            requests=total,
            ok=sum(p.ok for p in parts),
            errors=sum(p.errors for p in parts),
            seconds=sum(p.seconds for p in parts),
            p50_ms=sum(p.p50_ms * p.requests for p in parts) / total if total else 0.0,
            p99_ms=max(p.p99_ms for p in parts),
        )


@dataclass(frozen=True)
class Target:
    method: str
    port: int
    path: str
    body: bytes = b""


_WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("STOCKY_WRK %d %d %d %d %.1f %.1f\\n", summary.requests,
    summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


def wrk_command(target: Target, seconds: float, connections: int, script: Path) -> list[str]:
    return [
        "wrk",
        "-t1",  # one client thread leaves the other core to the server on a 2-core box
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        f"http://{HOST}:{target.port}{target.path}",
    ]


def run_wrk(target: Target, seconds: float, connections: int, workdir: Path) -> Load:
    lines = [f'wrk.method = "{target.method}"']
    if target.body:
        lines.append(f"wrk.body = {json.dumps(target.body.decode())}")
        lines.append('wrk.headers["Content-Type"] = "application/json"')
    script = workdir / "wrk.lua"
    script.write_text("\n".join(lines) + _WRK_DONE)
    cmd = wrk_command(target, seconds, connections, script)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next((x for x in out.splitlines() if x.startswith("STOCKY_WRK ")), None)
    if line is None:
        raise RuntimeError(f"no summary line from wrk:\n{out}")
    n, duration_us, status_errors, socket_errors, p50_us, p99_us = line.split()[1:]
    return Load(
        requests=int(n),
        ok=int(n) - int(status_errors),
        errors=int(status_errors) + int(socket_errors),
        seconds=int(duration_us) / 1e6,
        p50_ms=float(p50_us) / 1e3,
        p99_ms=float(p99_us) / 1e3,
    )


def _parse_head(head: bytes) -> tuple[int, int, bool]:
    """Status, Content-Length and whether the server will close, from a response head."""
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, close = -1, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            close = value.strip().lower() == b"close"
    if length < 0:
        raise ValueError("response without Content-Length")
    return status, length, close


@dataclass
class _Tally:
    ok: int = 0
    non2xx: int = 0
    socket_errors: int = 0


class _Client(asyncio.Protocol):
    """One keep-alive connection: send, take the whole response, send again until `stop_at`.

    A bare Protocol (no StreamReader) costs the client well under the server's time per request.
    """

    def __init__(self, request: bytes, stop_at: float, lat: list[float], tally: _Tally) -> None:
        self.request, self.stop_at, self.lat, self.tally = request, stop_at, lat, tally
        self.buf = bytearray()
        self.size = -1  # bytes of the response being read (head + body), once its head is in
        self.status = 0
        self.close_after = False
        self.started = 0.0
        self.waiting = False
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.waiting = True
        self.started = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buf += data
        if self.size < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            try:
                self.status, length, self.close_after = _parse_head(bytes(self.buf[:end]))
            except ValueError:
                self.tally.socket_errors += 1
                self.transport.close()
                return
            self.size = end + 4 + length
        if len(self.buf) < self.size:
            return
        now = time.perf_counter()
        self.lat.append(now - self.started)
        if 200 <= self.status < 300:
            self.tally.ok += 1
        else:
            self.tally.non2xx += 1
        del self.buf[: self.size]
        self.size, self.waiting = -1, False
        if self.close_after or now >= self.stop_at:
            self.transport.close()
        else:
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiting:  # the server dropped a request we were waiting for
            self.tally.socket_errors += 1
        if not self.closed.done():
            self.closed.set_result(None)


async def _connection(request: bytes, port: int, stop_at: float, lat: list[float], t: _Tally):
    """Keep one connection busy until `stop_at`, reconnecting if the server closes it."""
    loop = asyncio.get_running_loop()
    while time.perf_counter() < stop_at:
        try:
            _, client = await loop.create_connection(
                lambda: _Client(request, stop_at, lat, t), HOST, port
            )
        except OSError:
            t.socket_errors += 1
            await asyncio.sleep(0.01)
            continue
        await client.closed


def run_builtin(target: Target, seconds: float, connections: int, _workdir: Path) -> Load:
    """Closed-loop load: each connection stops sending at the deadline and drains its reply."""
    import numpy as np

    head = (
        f"{target.method} {target.path} HTTP/1.1\r\nHost: {HOST}:{target.port}\r\n"
        + (
            f"Content-Type: application/json\r\nContent-Length: {len(target.body)}\r\n"
            if target.body
            else ""
        )
        + "\r\n"
    )
    request = head.encode() + target.body
    lat: list[float] = []
    tally = _Tally()

    async def main() -> float:
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(
            *(_connection(request, target.port, stop_at, lat, tally) for _ in range(connections))
        )
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    ms = np.asarray(lat) * 1e3 if lat else np.zeros(1)
    return Load(
        requests=len(lat),
        ok=tally.ok,
        errors=tally.non2xx + tally.socket_errors,
        seconds=elapsed,
        p50_ms=float(np.percentile(ms, 50)),
        p99_ms=float(np.percentile(ms, 99)),
    )


# --- the run --------------------------------------------------------------------------------


def _settled_count(db_url: str) -> int:
    """Rows in `predictions` once the server has finished the requests still in flight."""
    from stocky.adapters.store import make_engine
    from stocky.adapters.store.predictions import PredictionRepository

    engine = make_engine(db_url)
    try:
        repo = PredictionRepository(engine)
        last = repo.count()
        for _ in range(25):
            time.sleep(0.2)
            now = repo.count()
            if now == last:
                return now
            last = now
        return last
    finally:
        engine.dispose()


def _commits(port: int) -> tuple[float, float]:
    """(rows, commits) of the prediction log so far, from the server's /metrics."""
    import urllib.request

    with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    found = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for key in found:
            if line.startswith(f"stocky_prediction_log_batch_rows_{key} "):
                found[key] = float(line.split()[1])
    return found["sum"], found["count"]


def _body(prices: list[float]) -> bytes:
    return json.dumps({"recent_prices": prices}).encode()


def measure(
    env: dict[str, str],
    work: Path,
    body: bytes,
    duration: float,
    connections: int,
    run: Any,
    slices: int,
) -> tuple[list[tuple[str, Load]], int, float]:
    """Load the endpoints; return the table rows, the rows /predict logged and the mean rows
    per commit (group commit).

    /health and /predict take turns in `slices` slices of duration/slices seconds each (the
    first of each pair alternates), so a slow spell of a shared machine weighs on both sides
    of the ratio instead of on whichever endpoint happened to run during it.

    Warm-ups use the built-in client because it drains its replies: the next run starts on an
    idle server, and the row count taken before the /predict run is final.
    """
    warmup = min(1.0, duration / 3)
    rows: list[tuple[str, Load]] = []
    db_url = env["STOCKY_DATABASE_URL"]
    stocky_cmd = [sys.executable, "-m", "stocky", "serve", "--port", "{port}"]
    with server([*stocky_cmd, "--log-level", "warning"], env, work / "stocky.log") as port:
        health = Target("GET", port, "/health")
        predict = Target("POST", port, "/predict", body)
        if run is run_wrk:
            cmd = wrk_command(predict, duration / slices, connections, Path("wrk.lua"))
            print(f"wrk command per /predict slice (body in wrk.lua): {shlex.join(cmd)}")
        run_builtin(health, warmup, connections, work)
        run_builtin(predict, warmup, connections, work)
        before = _settled_count(db_url)
        rows_before, commits_before = _commits(port)
        loads: dict[str, list[Load]] = {"health": [], "predict": []}
        part = duration / slices
        for i in range(slices):
            turn = [("health", health), ("predict", predict)]
            for name, target in turn if i % 2 == 0 else turn[::-1]:
                loads[name].append(run(target, part, connections, work))
        rows.append(("GET /health", Load.merge(loads["health"])))
        rows.append(("POST /predict (stored params, logged)", Load.merge(loads["predict"])))
        logged = _settled_count(db_url) - before
        rows_after, commits_after = _commits(port)
        per_commit = (rows_after - rows_before) / max(commits_after - commits_before, 1)
    # A refit takes ~0.1 s of CPU, so 8 connections keep ~1 s of work in flight: wrk would drop
    # that at its deadline, the built-in client waits for it and counts it.
    seed_cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-seed", "{port}"]
    with server(seed_cmd, {}, work / "seed.log") as port:
        seed = Target("POST", port, "/predict", body)
        run_builtin(seed, warmup, connections, work)
        load = run_builtin(seed, duration, connections, work)
        rows.append(("POST /predict (seed: refit per request)*", load))
    return rows, logged, per_commit


def measure_workers(
    env: dict[str, str],
    work: Path,
    body: bytes,
    duration: float,
    connections: int,
    run: Any,
    slices: int,
) -> dict[tuple[str, int], Load]:
    """One-worker and two-worker servers, both up, loaded in turns: (endpoint, workers) -> Load.

    Each slice runs the four (endpoint, workers) pairs in an order that rotates by one per
    slice, so a slow spell of the machine is spread over all four.
    """
    warmup = min(1.0, duration / 3)
    cmd = [sys.executable, "-m", "stocky", "serve", "--port", "{port}", "--log-level", "warning"]
    with (
        server([*cmd, "--workers", "1"], env, work / "workers1.log") as port1,
        server([*cmd, "--workers", "2"], env, work / "workers2.log") as port2,
    ):
        targets: dict[tuple[str, int], Target] = {}
        for workers, port in ((1, port1), (2, port2)):
            targets[("health", workers)] = Target("GET", port, "/health")
            targets[("predict", workers)] = Target("POST", port, "/predict", body)
        for target in targets.values():
            run_builtin(target, warmup, connections, work)
        loads: dict[tuple[str, int], list[Load]] = {key: [] for key in targets}
        keys = list(targets)
        part = duration / slices
        for i in range(slices):
            for key in keys[i % len(keys) :] + keys[: i % len(keys)]:
                loads[key].append(run(targets[key], part, connections, work))
    return {key: Load.merge(parts) for key, parts in loads.items()}


def report_workers(loads: dict[tuple[str, int], Load]) -> None:
    print()
    print(
        f"{'endpoint':<30}{'workers':>8}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'vs 1 worker':>13}"
    )
    names = {"health": "GET /health", "predict": "POST /predict (logged)"}
    for endpoint, name in names.items():
        one = loads[(endpoint, 1)].rps
        for workers in (1, 2):
            r = loads[(endpoint, workers)]
            speedup = r.rps / one if one else float("nan")
            print(
                f"{name:<30}{workers:>8d}{r.requests:>9d}{r.rps:>9.1f}{r.p50_ms:>9.2f}"
                f"{r.p99_ms:>9.2f}{r.errors:>8d}{speedup:>12.2f}x"
            )
    for endpoint, name in names.items():
        one, two = loads[(endpoint, 1)].rps, loads[(endpoint, 2)].rps
        speedup = two / one if one else 0.0
        print(
            f"target: {name} with 2 workers >= {MIN_WORKER_SPEEDUP:g}x one worker's req/s: "
            f"{speedup:.2f}x -> {_verdict(speedup >= MIN_WORKER_SPEEDUP)}"
        )


def report(
    rows: list[tuple[str, Load]],
    logged: int,
    per_commit: float,
    connections: int,
    wrk: bool,
    slices: int,
) -> None:
    base = rows[0][1].rps
    print()
    print(
        f"{'endpoint':<42}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}{'vs /health':>12}"
    )
    for name, r in rows:
        ratio = r.rps / base if base else float("nan")
        print(
            f"{name:<42}{r.requests:>9d}{r.rps:>9.1f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
            f"{r.errors:>8d}{ratio:>11.1%}"
        )
    print("* a second one-worker app, loaded by the built-in client (it counts in-flight refits)")
    pred = rows[1][1]
    extra = logged - pred.ok
    # wrk stops with up to one request per connection in flight (each slice); the server logs
    # those too.
    db_ok = extra == 0 or (wrk and 0 < extra <= connections * slices)
    note = "" if extra == 0 else f" + {extra} in flight when wrk stopped"
    print(
        f"\npredictions table: {logged} rows written during the /predict runs; 2xx responses "
        f"{pred.ok}{note} -> {'OK' if db_ok else 'MISMATCH'}; {per_commit:.2f} rows per commit"
    )
    ratio = pred.rps / base if base else 0.0
    print(
        f"target: /predict >= {MIN_RATIO:.0%} of /health req/s on the same server: "
        f"{ratio:.1%} -> {_verdict(ratio >= MIN_RATIO)}"
    )
    print(
        f"target: /predict p99 < {MAX_P99_MS:g} ms: {pred.p99_ms:.2f} ms "
        f"-> {_verdict(pred.p99_ms < MAX_P99_MS)}"
    )


def main() -> None:
    from stocky.runtime import limit_blas_threads

    limit_blas_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--quick", action="store_true", help="3 s per endpoint")
    parser.add_argument(
        "--slices", type=int, default=5, help="turns /health and /predict take (>= 1)"
    )
    parser.add_argument(
        "--generator", choices=("auto", "wrk", "builtin"), default="auto", help="load generator"
    )
    parser.add_argument(
        "--no-workers", action="store_true", help="skip the one-vs-two-workers comparison"
    )
    parser.add_argument("--serve-seed", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_seed is not None:
        serve_seed(args.serve_seed)
        return
    duration = 3.0 if args.quick else args.duration
    slices = max(1, min(args.slices, int(duration)))  # wrk runs whole seconds
    wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk") is not None)

    import arch.data.sp500

    sys.stdout.reconfigure(line_buffering=True)  # progress lines stay in order with stderr
    prices = [float(x) for x in arch.data.sp500.load()["Close"].iloc[-WINDOW:]]
    print("== API load benchmark")
    print("command:", shlex.join(["python", "bench/bench_api.py", *sys.argv[1:]]))
    print(
        f"python {platform.python_version()}, cpu_count={os.cpu_count()}, load average "
        f"{os.getloadavg()[0]:.2f} at start; one uvicorn worker on {HOST}; "
        f"{args.connections} keep-alive connections, {duration:g} s per endpoint in {slices} "
        "alternating slices"
    )
    print(
        "load generator:",
        "wrk (1 thread)" if wrk else "built-in asyncio client (install wrk for less client CPU)",
    )
    print(f"/predict body: the last {WINDOW} S&P 500 closes (arch.data.sp500), ticker {TICKER}")
    with tempfile.TemporaryDirectory(prefix="stocky-bench-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        env = train_home(work / "home")
        print(f"trained a {TICKER} ARIMA{SEED_ORDER} champion in {time.perf_counter() - t0:.1f} s")
        run = run_wrk if wrk else run_builtin
        rows, logged, per_commit = measure(
            env, work, _body(prices), duration, args.connections, run, slices
        )
        report(rows, logged, per_commit, args.connections, wrk, slices)
        if not args.no_workers:
            print(
                f"\n== one worker vs two workers (`stocky serve --workers N`, SQLite), "
                f"{args.connections} keep-alive connections, {duration:g} s per row"
            )
            report_workers(
                measure_workers(env, work, _body(prices), duration, args.connections, run, slices)
            )


if __name__ == "__main__":
    main()
