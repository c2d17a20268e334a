"""GET /models with N synthetic champions (default 1,000): one registry listing, against the
per-ticker searches it replaced (goal: < 200 ms at N = 1,000).

Run with ``python bench/bench_models.py``. The registry is bench_serve_fleet's synthetic one
(local SQLite MLflow registry, built once into ``--cache``). One `stocky serve` worker answers
GET /models a few times (median and worst shown); the old way (`tickers()` then `versions()`
of each ticker through MLflow) is timed in this process on the first `--old-sample` tickers and
scaled to N. Missed targets print MISS but never fail the run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_serve_fleet import HOST, Server, build_registry, empty_mlflow_db  # noqa: E402

TARGET_MS = 200.0


def _get(port: int, path: str) -> tuple[int, bytes, float]:
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        started = time.perf_counter()
        conn.request("GET", path)
        reply = conn.getresponse()
        body = reply.read()
        return reply.status, body, time.perf_counter() - started
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="synthetic champions")
    parser.add_argument("--repeat", type=int, default=7, help="GET /models calls")
    parser.add_argument("--old-sample", type=int, default=100, help="tickers the old way")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "stocky-bench-serve-fleet",
        help="where the synthetic registry is built once and reused",
    )
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    home = args.cache / f"n{args.n}"
    build_registry(home, args.n, empty_mlflow_db(args.cache))
    print(f"== GET /models with {args.n} synthetic champions (local SQLite registry)")

    server = Server(home, args.cache / f"models-{args.n}.log")
    try:
        print(f"server ready in {server.wait_ready():.1f} s")
        times = []
        for _ in range(args.repeat):
            status, body, seconds = _get(server.port, "/models")
            assert status == 200, body[:300]
            times.append(seconds)
        rows = len(json.loads(body))
    finally:
        server.stop()
    median = statistics.median(times) * 1e3
    verdict = "PASS" if median < TARGET_MS else "MISS"
    print(
        f"GET /models: {rows} rows, median {median:.0f} ms, worst {max(times) * 1e3:.0f} ms "
        f"over {args.repeat} calls  {verdict} (< {TARGET_MS:g} ms)"
    )

    from stocky.adapters.registry import ModelRegistry

    registry = ModelRegistry(tracking_uri=f"sqlite:///{home / 'mlflow.db'}", experiment="stocky")
    started = time.perf_counter()
    tickers = registry.tickers()
    listed = time.perf_counter() - started
    sample = tickers[: args.old_sample]
    started = time.perf_counter()
    for ticker in sample:
        registry.versions(ticker)
    per = (time.perf_counter() - started) / max(len(sample), 1)
    old = listed + per * len(tickers)
    print(
        f"the per-ticker way: tickers() {listed * 1e3:.0f} ms + versions() {per * 1e3:.1f} ms "
        f"x {len(tickers)} = ~{old:.1f} s (versions() timed on {len(sample)} tickers); "
        f"{old * 1e3 / median:.0f}x the listing"
    )


if __name__ == "__main__":
    main()
