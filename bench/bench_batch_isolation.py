"""Batch isolation: /health and /predict latency for one client while another sends
1,000-item batches in a loop, against the same client alone (goal: p99 < 3x alone).

Run with ``python bench/bench_batch_isolation.py`` (``--quick`` for 3 s per row). Trains a
^GSPC model into a temporary STOCKY_HOME from the bundled data (offline), starts one uvicorn
worker (`stocky serve`) on loopback, and measures with bench_api's built-in client. The batch
client is a thread on its own keep-alive connection, sending the next batch as soon as the
last answer is in. Last, one refused 5,000-item body (over STOCKY_MAX_BATCH_ITEMS) is timed.
Missed targets print MISS but never fail the run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shlex
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_api import (  # noqa: E402
    HOST,
    TICKER,
    WINDOW,
    Load,
    Target,
    run_builtin,
    server,
    train_home,
)

MAX_RATIO = 3.0  # p99 with batches running over p99 alone
BATCH_ITEMS = 1000


@dataclass
class BatchLoop:
    """Sends batches on one connection until stopped; counts them and their latencies."""

    port: int
    body: bytes
    stop: threading.Event = field(default_factory=threading.Event)
    seconds: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    def run(self) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        headers = {"Content-Type": "application/json"}
        try:
            while not self.stop.is_set():
                started = time.perf_counter()
                conn.request("POST", "/predict/batch", self.body, headers)
                reply = conn.getresponse()
                reply.read()
                self.seconds.append(time.perf_counter() - started)
                self.statuses[reply.status] = self.statuses.get(reply.status, 0) + 1
        finally:
            conn.close()


def _batch_body(prices: list[float], n: int) -> bytes:
    item = {"recent_prices": prices, "ticker": TICKER}
    return json.dumps({"items": [item] * n}).encode()


def _row(name: str, alone: Load, loaded: Load) -> str:
    ratio = loaded.p99_ms / alone.p99_ms if alone.p99_ms else float("inf")
    verdict = "PASS" if ratio < MAX_RATIO else "MISS"
    return (
        f"{name:<16} {alone.p50_ms:>9.2f} {alone.p99_ms:>9.2f} {loaded.p50_ms:>11.2f} "
        f"{loaded.p99_ms:>11.2f} {ratio:>7.2f}x  {verdict} (< {MAX_RATIO:g}x)"
        f"   [{alone.requests} / {loaded.requests} requests, "
        f"{alone.errors + loaded.errors} errors]"
    )


def _refused_once(port: int, body: bytes) -> tuple[int, float]:
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        started = time.perf_counter()
        conn.request("POST", "/predict/batch", body, {"Content-Type": "application/json"})
        reply = conn.getresponse()
        reply.read()
        return reply.status, time.perf_counter() - started
    finally:
        conn.close()


def main() -> None:
    from stocky.runtime import limit_blas_threads

    limit_blas_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per row")
    parser.add_argument("--connections", type=int, default=2, help="the probing client's")
    parser.add_argument("--quick", action="store_true", help="3 s per row")
    args = parser.parse_args()
    duration = 3.0 if args.quick else args.duration

    import arch.data.sp500

    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    prices = [float(x) for x in arch.data.sp500.load()["Close"].iloc[-WINDOW:]]
    print("== batch isolation benchmark")
    print("command:", shlex.join(["python", "bench/bench_batch_isolation.py", *sys.argv[1:]]))
    print(
        f"python {platform.python_version()}, cpu_count={os.cpu_count()}, load average "
        f"{os.getloadavg()[0]:.2f} at start; one uvicorn worker on {HOST}; probing client: "
        f"{args.connections} keep-alive connections, {duration:g} s per row; batch client: "
        f"one connection, {BATCH_ITEMS} items of {WINDOW} prices per batch, back to back"
    )
    with tempfile.TemporaryDirectory(prefix="stocky-bench-") as tmp:
        work = Path(tmp)
        env = train_home(work / "home")
        env |= {
            "STOCKY_MAX_BATCH_ITEMS": str(BATCH_ITEMS),
            "STOCKY_MAX_BATCH_BODY_BYTES": str(8 * 1024 * 1024),
        }
        cmd = [
            sys.executable,
            "-m",
            "stocky",
            "serve",
            "--port",
            "{port}",
            "--log-level",
            "warning",
        ]
        with server(cmd, env, work / "stocky.log") as port:
            health = Target("GET", port, "/health")
            predict = Target(
                "POST", port, "/predict", json.dumps({"recent_prices": prices}).encode()
            )
            warm = min(1.0, duration / 3)
            run_builtin(health, warm, args.connections, work)
            run_builtin(predict, warm, args.connections, work)
            alone = {
                "GET /health": run_builtin(health, duration, args.connections, work),
                "POST /predict": run_builtin(predict, duration, args.connections, work),
            }
            loop = BatchLoop(port, _batch_body(prices, BATCH_ITEMS))
            thread = threading.Thread(target=loop.run, daemon=True)
            thread.start()
            time.sleep(0.5)
            loaded = {
                "GET /health": run_builtin(health, duration, args.connections, work),
                "POST /predict": run_builtin(predict, duration, args.connections, work),
            }
            loop.stop.set()
            thread.join(timeout=60)
            status, refused = _refused_once(port, _batch_body(prices, 5 * BATCH_ITEMS))
        print(
            f"\n{'':<16} {'alone p50':>9} {'alone p99':>9} {'batches p50':>11} "
            f"{'batches p99':>11} {'ratio':>8}"
        )
        for name in alone:
            print(_row(name, alone[name], loaded[name]))
        if loop.seconds:
            per = sorted(loop.seconds)
            print(
                f"\nbatches: {len(per)} sent ({loop.statuses}), {BATCH_ITEMS} items each, "
                f"median {per[len(per) // 2] * 1e3:.0f} ms per batch "
                f"(~{BATCH_ITEMS / per[len(per) // 2]:.0f} items/s)"
            )
        print(
            f"one {5 * BATCH_ITEMS}-item body (over the {BATCH_ITEMS}-item limit): "
            f"{status} in {refused * 1e3:.1f} ms"
        )


if __name__ == "__main__":
    main()
