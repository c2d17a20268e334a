"""Train, serve and promote through a real MLflow tracking server over HTTP.

The server proxies artifacts (`mlflow-artifacts:` URIs), as a shared deployment would: the
training client uploads the model spec over HTTP and the API downloads it the same way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stocky.adapters.prices.bundled import BundledSource
from stocky.adapters.registry import ModelRegistry, model_name
from stocky.api.app import create_app
from stocky.pipelines.train import TrainResult, train_ticker
from support import FAST_TRAIN, TRAINED_AT, make_settings

pytestmark = pytest.mark.integration

SEED_EXAMPLE = {
    "recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]
}
ADMIN = {"X-API-Key": "s3cret"}


@pytest.fixture
def tracking_uri(start_server, tmp_path: Path) -> str:
    store = tmp_path / "mlflow-server"
    store.mkdir()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return start_server(
        "mlflow",
        lambda port: [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{store / 'mlflow.db'}",
            "--artifacts-destination",
            str(store / "artifacts"),
            "--workers",
            "1",
        ],
        env,
    )


def train(registry: ModelRegistry, last: int = 1000) -> TrainResult:
    prices = BundledSource().fetch("^GSPC").iloc[-last:].reset_index(drop=True)
    return train_ticker(
        ticker="^GSPC",
        prices=prices,
        source="bundled",
        registry=registry,
        config=FAST_TRAIN,
        now=TRAINED_AT,
    )


def test_train_serve_and_promote_through_the_tracking_server(tracking_uri, tmp_path):
    # No artifact root of our own: the server stores artifacts and hands out mlflow-artifacts: URIs.
    registry = ModelRegistry(tracking_uri=tracking_uri, experiment="stocky")
    first = train(registry)
    assert (first.version.version, first.alias) == (1, "champion")
    source = registry.client.get_model_version(model_name("^GSPC"), "1").source
    assert source.startswith("mlflow-artifacts:"), source
    assert registry.load_version("^GSPC", 1) == first.spec  # downloaded over HTTP

    settings = make_settings(
        tmp_path / "home", mlflow_tracking_uri=tracking_uri, admin_api_key="s3cret"
    )
    with TestClient(create_app(settings)) as client:
        r = client.post("/predict", json=SEED_EXAMPLE)
        assert r.status_code == 200, r.text
        assert r.json()["model_version"] == 1

        second = train(registry, last=999)
        assert (second.version.version, second.alias) == (2, "challenger")
        registry.set_alias("^GSPC", "champion", 2)
        assert registry.aliases("^GSPC") == {"champion": 2, "challenger": 2}
        r = client.post("/admin/reload", headers=ADMIN)
        assert r.status_code == 200, r.text
        assert r.json()["serving"] == {"^GSPC": 2}

        r = client.post("/predict", json=SEED_EXAMPLE)
        assert r.status_code == 200, r.text
        assert r.json()["model_version"] == 2
        models = client.get("/models").json()
        assert models, "GET /models lists the registered versions"
