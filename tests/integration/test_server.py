"""A real uvicorn process on loopback: predictions land in the database; alias moves are picked up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from stocky.adapters.store import make_engine
from stocky.adapters.store.predictions import PredictionRepository
from support import free_port, make_settings, registry_for, train_into, wait_healthy

pytestmark = pytest.mark.integration

SEED_EXAMPLE = {
    "recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]
}


@pytest.fixture
def server(trained_home: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    port = free_port()
    env = {
        **os.environ,
        "STOCKY_HOME": str(home),
        "STOCKY_PRICE_SOURCE": "bundled",
        "STOCKY_RELOAD_INTERVAL_SECONDS": "0.5",
        # the tests move the alias by hand in MLflow: only a full listing sees that
        "STOCKY_RELOAD_FULL_INTERVAL_SECONDS": "0.5",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "stocky", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base, proc)
        yield base, home
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_real_server_logs_prediction_and_follows_alias(server):
    base, home = server
    r = httpx.post(f"{base}/predict", json=SEED_EXAMPLE, timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    settings = make_settings(home)
    row = PredictionRepository(make_engine(settings.db_url)).get(body["prediction_id"])
    assert row is not None
    assert row["prediction"] == pytest.approx(body["prediction"])
    assert row["model_version"] == 1

    # promote a new version by moving the alias; the server polls and serves it, no restart
    second = train_into(settings, last=999)
    registry_for(settings).set_alias("^GSPC", "champion", second.version.version)
    deadline = time.monotonic() + 30
    version = 1
    while time.monotonic() < deadline and version != 2:
        r = httpx.post(f"{base}/predict", json=SEED_EXAMPLE, timeout=10)
        assert r.status_code == 200  # never a failed request while the model is swapped
        version = r.json()["model_version"]
        time.sleep(0.1)
    assert version == 2
    assert 'stocky_model_loaded_version{ticker="^GSPC"} 2.0' in httpx.get(f"{base}/metrics").text
