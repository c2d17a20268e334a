"""Rate limits shared through a real redis-server: two app instances limit together.

Each app stands for a worker process (or a host): with memory:// each counts alone, with
redis:// they count in one place. Needs `redis-server` (see the `redis_url` fixture).
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stocky.adapters.store.keys import ApiKeyStore
from stocky.api.app import create_app
from support import free_port, make_settings

pytestmark = pytest.mark.integration

SEED_EXAMPLE = {
    "recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]
}
NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)

Apps = Callable[..., list[TestClient]]


@pytest.fixture
def apps(trained_home: Path, tmp_path: Path) -> Iterator[Apps]:
    """`apps(n, **settings)`: n app instances on one database copy, started."""
    db = tmp_path / "stocky.db"
    shutil.copy(trained_home / "stocky.db", db)
    opened: list[TestClient] = []

    def make(n: int, **overrides: object) -> list[TestClient]:
        settings = make_settings(trained_home, database_url=f"sqlite:///{db}", **overrides)
        clients = [TestClient(create_app(settings, clock=lambda: NOW)) for _ in range(n)]
        for client in clients:
            client.__enter__()
        opened.extend(clients)
        return clients

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def _codes(client: TestClient, n: int, headers: dict[str, str]) -> list[int]:
    return [
        client.post("/predict", json=SEED_EXAMPLE, headers=headers).status_code for _ in range(n)
    ]


def test_two_instances_share_one_limit_through_redis(apps, redis_url):
    a, b = apps(2, rate_limit="4/minute", rate_limit_storage=redis_url)
    _, key = ApiKeyStore(a.app.state.stocky.engine).create("shared", now=NOW)  # type: ignore[attr-defined]
    headers = {"X-API-Key": key}
    assert _codes(a, 2, headers) + _codes(b, 2, headers) == [200] * 4
    refused = b.post("/predict", json=SEED_EXAMPLE, headers=headers)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert a.post("/predict", json=SEED_EXAMPLE, headers=headers).status_code == 429
    # another client (no key: its address) has its own budget, on both instances
    assert _codes(a, 2, {}) + _codes(b, 3, {}) == [200] * 4 + [429]


def test_in_memory_instances_count_alone(apps):
    """The contrast: memory:// is per worker, so two instances let twice the limit through."""
    a, b = apps(2, rate_limit="4/minute")
    assert _codes(a, 5, {}) == [200] * 4 + [429]
    assert _codes(b, 5, {}) == [200] * 4 + [429]


def test_an_unreachable_redis_lets_requests_through_and_logs_it(apps, caplog):
    (client,) = apps(
        1, rate_limit="1/minute", rate_limit_storage=f"redis://127.0.0.1:{free_port()}"
    )
    with caplog.at_level(logging.ERROR, logger="stocky.api.ratelimit"):
        assert _codes(client, 3, {}) == [200] * 3
    assert "let through without a limit" in caplog.text


def test_a_hung_redis_costs_one_timeout_then_is_skipped_for_the_cool_off(apps, caplog):
    """A Redis that accepts and never answers used to cost every forecast 0.5 s."""
    import socket
    import threading

    accepted: list[socket.socket] = []
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(conn)  # read nothing, answer nothing

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        (client,) = apps(1, rate_limit="1/minute", rate_limit_storage=f"redis://127.0.0.1:{port}")
        with caplog.at_level(logging.ERROR, logger="stocky.api.ratelimit"):
            assert _codes(client, 10, {}) == [200] * 10  # fails open
        assert len(accepted) == 1  # only the first request asked Redis
        assert caplog.text.count("let through without a limit") == 1
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in accepted:
            conn.close()
