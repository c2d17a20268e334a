"""The 101st ticker: registry listings page through MLflow's searches to the end.

MLflow returns one page (100 models by default) per search; a listing that reads one page
served 100 of 103 tickers and answered 404 for the others.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stocky.adapters import registry as registry_module
from stocky.adapters.registry import ModelRegistry, model_name
from stocky.api.app import create_app
from support import gspc_tail, make_settings, registry_for

pytestmark = pytest.mark.integration

NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)


def _copy_stores(trained_home: Path, home: Path) -> Path:
    """A private copy of the trained stores (an MLflow database already migrated: ~15 s less)."""
    home.mkdir()
    for name in ("stocky.db", "mlflow.db"):
        shutil.copy(trained_home / name, home / name)
    return home


def test_tickers_lists_all_103_registered_models(trained_home: Path, tmp_path: Path):
    home = _copy_stores(trained_home, tmp_path / "home")
    registry = ModelRegistry(tracking_uri=f"sqlite:///{home / 'mlflow.db'}", experiment="x")
    client = registry.client
    wanted = [f"T{i:03d}" for i in range(103)]
    for ticker in wanted:  # ~30 ms each
        client.create_registered_model(model_name(ticker), tags={"ticker": ticker})

    pages = []
    search = client.search_registered_models

    def counted(**kwargs):
        page = search(**kwargs)
        pages.append(len(page))
        return page

    client.search_registered_models = counted
    assert registry.tickers() == sorted(["^GSPC", *wanted])
    assert pages == [100, 4]  # more than one page was read


def test_server_serves_a_ticker_beyond_the_first_page(trained_home, tmp_path, monkeypatch):
    # new tickers reuse ^GSPC's model files (no training)
    home = _copy_stores(trained_home, tmp_path / "home")
    settings = make_settings(home)
    client = registry_for(settings).client
    gspc = client.get_model_version_by_alias(model_name("^GSPC"), "champion")
    extra = ["AAA", "BBB", "CCC", "ZZZ"]
    for ticker in extra:
        name = model_name(ticker)
        client.create_registered_model(name, tags={"ticker": ticker})
        version = client.create_model_version(name, source=gspc.source, run_id=gspc.run_id)
        client.set_registered_model_alias(name, "champion", version.version)

    monkeypatch.setattr(registry_module, "PAGE_SIZE", 2)  # 5 models: pages of 2, 2 and 1
    with TestClient(create_app(settings, clock=lambda: NOW)) as api:
        assert api.get("/ready").json()["models"] == dict.fromkeys(["^GSPC", *extra], 1)
        last = api.post("/predict", json={"recent_prices": gspc_tail(20), "ticker": "ZZZ"})
        assert last.status_code == 200, last.text
        assert last.json()["ticker"] == "ZZZ"
        assert {m["ticker"] for m in api.get("/models").json()} == {"^GSPC", *extra}
