"""`stocky serve --workers 2` on PostgreSQL: every answered forecast is logged once, and a
promotion reaches every worker.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from stocky.adapters.store import make_engine
from stocky.adapters.store.predictions import PredictionRepository
from support import make_settings, registry_for, train_into

pytestmark = pytest.mark.integration

SEED_EXAMPLE = {
    "recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]
}
REQUESTS = 400
CLIENTS = 8
IN_A_ROW = 20


def predict(client: httpx.Client, base: str) -> httpx.Response:
    # A new connection per request, so the kernel spreads them over both workers' accept().
    return client.post(f"{base}/predict", json=SEED_EXAMPLE, headers={"Connection": "close"})


def logged(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        return PredictionRepository(engine).count()
    finally:
        engine.dispose()


def test_two_workers_log_every_answer_and_follow_a_promotion(
    trained_home: Path, fresh_postgres_url: str, start_server, tmp_path: Path
):
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKY_")}
    env |= {
        "STOCKY_HOME": str(home),
        "STOCKY_DATABASE_URL": fresh_postgres_url,
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_RELOAD_INTERVAL_SECONDS": "0.5",
        # the tests move the alias by hand in MLflow: only a full listing sees that
        "STOCKY_RELOAD_FULL_INTERVAL_SECONDS": "0.5",
    }
    base = start_server(
        "stocky",
        lambda port: (
            [sys.executable, "-m", "stocky", "serve", "--workers", "2", "--port", str(port)]
            + ["--log-level", "warning"]
        ),
        env,
    )
    answered = 0
    with httpx.Client(timeout=10, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        deadline = time.monotonic() + 60  # both workers up: /ready only once models are loaded
        ready_in_a_row = 0
        while ready_in_a_row < IN_A_ROW:
            assert time.monotonic() < deadline, "the workers never all became ready"
            if client.get(f"{base}/ready", headers={"Connection": "close"}).status_code == 200:
                ready_in_a_row += 1
            else:
                ready_in_a_row = 0
                time.sleep(0.1)

        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = [
                r.status_code for r in pool.map(lambda _: predict(client, base), range(REQUESTS))
            ]
        answered += sum(200 <= s < 300 for s in statuses)
        assert statuses == [200] * REQUESTS, sorted(set(statuses))
        assert logged(fresh_postgres_url) == answered

        # promote: a new version and the alias move; each worker's poller must pick it up
        settings = make_settings(home, database_url=fresh_postgres_url)
        second = train_into(settings, last=999)
        registry_for(settings).set_alias("^GSPC", "champion", second.version.version)
        deadline = time.monotonic() + 60
        in_a_row = 0
        while in_a_row < IN_A_ROW:
            assert time.monotonic() < deadline, "the promotion did not reach every worker"
            r = predict(client, base)
            assert r.status_code == 200, r.text  # never a failed request during the swap
            answered += 1
            in_a_row = in_a_row + 1 if r.json()["model_version"] == 2 else 0

    assert logged(fresh_postgres_url) == answered
