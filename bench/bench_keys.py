"""What client keys and rate limits cost /predict: four one-worker servers side by side.

Run with ``python bench/bench_keys.py`` (``--quick`` for short slices). Trains a ^GSPC model
into a temporary home (bundled data, offline), copies it once per server, and starts:

  off        the default: no key needed, no limit
  key        STOCKY_REQUIRE_API_KEY=true, requests carry X-API-Key
  key+memory the same plus STOCKY_RATE_LIMIT (in-process counts)
  key+redis  the same with the counts in a local redis-server (skipped when not installed)

The limit is set high enough never to refuse a request, so every row measures the full path.
The servers take turns in short slices (the order rotates) with the built-in closed-loop
client of bench_api.py, so a slow spell of a shared machine is spread over all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench_api import HOST, WINDOW, Load, _body, _connection, _Tally, server, train_home

LIMIT = "1000000/minute"  # never reached: the cost of counting, not of refusing


def _request(port: int, body: bytes, key: str | None) -> bytes:
    head = (
        f"POST /predict HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        + (f"X-API-Key: {key}\r\n" if key else "")
        + "\r\n"
    )
    return head.encode() + body


def load(request: bytes, port: int, seconds: float, connections: int) -> Load:
    """bench_api's closed-loop client, with a request of our own (headers included)."""
    lat: list[float] = []
    tally = _Tally()

    async def main() -> float:
        start = time.perf_counter()
        stop_at = start + seconds
        await asyncio.gather(
            *(_connection(request, port, stop_at, lat, tally) for _ in range(connections))
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


@contextlib.contextmanager
def redis_server(work: Path) -> Iterator[str | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    argv = [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    argv += ["--dir", str(work), "--logfile", str(work / "redis.log")]
    proc = subprocess.Popen(argv)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5) as c:
                c.sendall(b"PING\r\n")
                if c.recv(16).startswith(b"+PONG"):
                    break
            time.sleep(0.05)
        yield f"redis://{HOST}:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _home_for(base: Path, env: dict[str, str], name: str) -> tuple[dict[str, str], str]:
    """A copy of the trained home for one server, with a client key in its database."""
    from datetime import UTC, datetime

    from stocky.adapters.store import create_schema, make_engine
    from stocky.adapters.store.keys import ApiKeyStore

    home = base / name
    shutil.copytree(Path(env["STOCKY_HOME"]), home)
    db_url = f"sqlite:///{home / 'stocky.db'}"
    engine = make_engine(db_url)
    create_schema(engine)
    _, key = ApiKeyStore(engine).create(f"bench {name}", now=datetime.now(UTC))
    engine.dispose()
    return {
        **env,
        "STOCKY_HOME": str(home),
        "STOCKY_DATABASE_URL": db_url,
        "STOCKY_MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
    }, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=12.0, help="seconds per server")
    parser.add_argument("--slices", type=int, default=6, help="turns per server")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="4 s per server")
    args = parser.parse_args()
    from stocky.runtime import limit_blas_threads

    limit_blas_threads(1)
    duration = 4.0 if args.quick else args.duration
    body = _body([float(x) for x in 2500 + np.cumsum(np.sin(np.arange(WINDOW)))])

    with tempfile.TemporaryDirectory(prefix="stocky-bench-keys-") as tmp:
        work = Path(tmp)
        env = train_home(work / "trained")
        with redis_server(work) as redis_url, contextlib.ExitStack() as stack:
            configs: list[tuple[str, dict[str, str]]] = [
                ("off", {}),
                ("key", {"STOCKY_REQUIRE_API_KEY": "true"}),
                ("key+memory", {"STOCKY_REQUIRE_API_KEY": "true", "STOCKY_RATE_LIMIT": LIMIT}),
            ]
            if redis_url is None:
                print("redis-server is not installed: the key+redis row is skipped")
            else:
                configs.append(
                    (
                        "key+redis",
                        {
                            "STOCKY_REQUIRE_API_KEY": "true",
                            "STOCKY_RATE_LIMIT": LIMIT,
                            "STOCKY_RATE_LIMIT_STORAGE": redis_url,
                        },
                    )
                )
            requests: dict[str, tuple[bytes, int]] = {}
            cmd = [sys.executable, "-m", "stocky", "serve", "--port", "{port}"]
            for name, extra in configs:
                server_env, key = _home_for(work, env, name)
                port = stack.enter_context(
                    server(
                        [*cmd, "--log-level", "warning"],
                        {**server_env, **extra},
                        work / f"{name}.log",
                    )
                )
                sent_key = key if extra.get("STOCKY_REQUIRE_API_KEY") else None
                requests[name] = (_request(port, body, sent_key), port)
            for request, port in requests.values():
                load(request, port, 1.0, args.connections)  # warm-up
            names = list(requests)
            parts: dict[str, list[Load]] = {n: [] for n in names}
            for i in range(args.slices):
                for name in names[i % len(names) :] + names[: i % len(names)]:
                    request, port = requests[name]
                    parts[name].append(
                        load(request, port, duration / args.slices, args.connections)
                    )
    print(f"\nPOST /predict, {args.connections} connections, one worker each, {duration:g} s each")
    print(
        f"{'config':<12}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'vs off':>8}"
    )
    base = Load.merge(parts["off"]).rps
    for name in names:
        m = Load.merge(parts[name])
        print(
            f"{name:<12}{m.requests:>9}{m.rps:>9.0f}{m.p50_ms:>9.2f}{m.p99_ms:>9.2f}"
            f"{m.errors:>8}{m.rps / base:>8.2f}"
        )


if __name__ == "__main__":
    main()
