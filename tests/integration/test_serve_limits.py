"""`stocky serve --workers 2` as a real process: 300 half-sent requests neither starve /health
nor stay open past the head timeout; keep-alive answers are not held back by Nagle; the
MLflow password in its URL is masked in the server log.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

HALF_OPEN = 300
HEADER_TIMEOUT = 3.0
KEEP_ALIVE_REQUESTS = 50


def _held_connections(host: str, port: int) -> list[socket.socket]:
    held = []
    for _ in range(HALF_OPEN):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: stocky\r\nX-Half")  # never finished
        held.append(s)
    return held


def _wait_all_closed(held: list[socket.socket], deadline: float) -> dict[int, bytes]:
    """What the server sent each held connection before closing it (by index)."""
    received = dict.fromkeys(range(len(held)), b"")
    open_ = dict(enumerate(held))
    while open_ and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_.values()), [], [], 0.5)
        for s in ready:
            i = next(k for k, v in open_.items() if v is s)
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if chunk:
                received[i] += chunk
            else:
                del open_[i]
    assert not open_, f"{len(open_)} of {len(held)} half-open connections still open"
    return received


def test_two_workers_shed_half_open_connections_and_answer_health(start_server, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKY_")}
    env |= {
        "STOCKY_HOME": str(tmp_path / "home"),
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_RELOAD_INTERVAL_SECONDS": "0",
        "STOCKY_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
        # an MLflow server that does not answer, with a password in its URL: the workers start
        # without models (/health does not need them) and log the failure
        "STOCKY_MLFLOW_TRACKING_URI": "http://admin:Secret@127.0.0.1:1",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
    }
    base = start_server(
        "stocky",
        lambda port: (
            [sys.executable, "-m", "stocky", "serve", "--workers", "2"]
            + ["--port", str(port), "--log-level", "warning"]
        ),
        env,
    )
    url = urlsplit(base)
    host, port = str(url.hostname), int(url.port or 0)

    # keep-alive: with Nagle on, each answer waits ~40 ms for a delayed ACK (functional check)
    conn = http.client.HTTPConnection(host, port, timeout=10)
    times = []
    for _ in range(KEEP_ALIVE_REQUESTS):
        t0 = time.perf_counter()
        conn.request("GET", "/health")
        reply = conn.getresponse()
        assert reply.status == 200 and reply.read() == b'{"status":"ok"}'
        times.append(time.perf_counter() - t0)
    conn.close()
    assert statistics.median(times) < 0.020, f"keep-alive p50 {statistics.median(times):.4f} s"

    held = _held_connections(host, port)
    opened = time.monotonic()
    try:
        for _ in range(5):  # new clients are served while the 300 wait
            r = httpx.get(f"{base}/health", timeout=2, headers={"Connection": "close"})
            assert r.status_code == 200
        assert time.monotonic() - opened < HEADER_TIMEOUT, "probes too slow to prove anything"
        received = _wait_all_closed(held, deadline=opened + HEADER_TIMEOUT + 20)
        assert time.monotonic() - opened > HEADER_TIMEOUT * 0.8  # closed by the timeout
    finally:
        for s in held:
            s.close()
    assert all(v.startswith(b"HTTP/1.1 408 Request Timeout\r\n") for v in received.values())
    assert httpx.get(f"{base}/health", timeout=5).status_code == 200

    log = (tmp_path / "stocky.log").read_text()
    assert "Secret" not in log
    assert "admin:***@127.0.0.1:1" in log  # the failed reload is logged, masked
    # 300 timeouts of one kind: one line per worker and interval, not 300
    assert 1 <= log.count("request head incomplete") <= 4
