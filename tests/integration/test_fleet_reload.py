"""Two app instances over one store (SQLite + local MLflow) follow one change log: a rollback
and a first champion reach both after one poll, and a full pass catches a hand-made alias move."""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from stocky.adapters.ports import RunRecord
from stocky.adapters.registry import SPEC_FILE, ModelRegistry, model_name
from stocky.adapters.store import make_engine
from stocky.adapters.store.audit import AuditRepository
from stocky.api.app import create_app
from stocky.api.reload import reload_now
from stocky.core.arima import ArimaOrder, ArimaParams
from stocky.core.spec import ModelSpec
from stocky.pipelines.publish import publish
from stocky.pipelines.retrain import rollback
from support import make_settings, registry_for

NOW = dt.datetime(2024, 7, 3, 21, 30, tzinfo=dt.UTC)
PRICES = {"recent_prices": [170.2, 171.0, 169.8, 170.5, 171.3, 172.1, 171.8, 172.6, 173.0, 172.4]}


def _spec(ticker: str, ma: float) -> ModelSpec:
    params = ArimaParams(ArimaOrder(0, 1, 1), "n", 0.0, (), (ma,), 4.0)
    return ModelSpec(ticker, params, "2020-01-02", "2024-07-02", 500)


def _fast_version(registry: ModelRegistry, folder: Path, spec: ModelSpec) -> int:
    """A registered version whose source is a folder holding the spec (no run)."""
    name = model_name(spec.ticker)
    client = registry.client
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name, tags={"ticker": spec.ticker})
    target = folder / f"{spec.ticker}-{len(list(folder.glob(spec.ticker + '-*')))}"
    target.mkdir(parents=True)
    import json

    (target / SPEC_FILE).write_text(json.dumps(spec.to_dict()))
    return int(client.create_model_version(name, source=target.as_uri()).version)


@pytest.fixture
def shared_home(trained_home: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    for name in ("stocky.db", "mlflow.db"):
        shutil.copy(trained_home / name, home / name)
    return home


def _poll(client: TestClient, *, full: bool = False):  # type: ignore[no-untyped-def]
    state = client.app.state.stocky  # type: ignore[attr-defined]
    return client.portal.call(functools.partial(reload_now, state, full=full))  # type: ignore[union-attr]


def _version(client: TestClient, ticker: str) -> int:
    r = client.post("/predict", json={**PRICES, "ticker": ticker})
    assert r.status_code == 200, r.text
    return int(r.json()["model_version"])


def test_two_instances_follow_the_change_log(shared_home, tmp_path):
    # runs of this test go to an experiment (and artifact folder) of its own copy
    settings = make_settings(shared_home, mlflow_experiment="fleet-reload")
    registry = registry_for(settings)
    specs = tmp_path / "specs"
    for i in range(3):
        ticker = f"SYN{i:04d}"
        v1 = _fast_version(registry, specs, _spec(ticker, -0.05))
        v2 = _fast_version(registry, specs, _spec(ticker, 0.05))
        registry.set_alias(ticker, "previous", v1)
        registry.set_alias(ticker, "champion", v2)
    engine = make_engine(settings.db_url)
    audit = AuditRepository(engine)
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        for c in (a, b):
            assert c.get("/ready").json()["models"] == {
                "^GSPC": 1,
                "SYN0000": 2,
                "SYN0001": 2,
                "SYN0002": 2,
            }
            first = _poll(c)  # nothing recorded since start-up: one query, no look-up
            assert first.kind == "changes" and first.loaded == first.unchanged == ()
        # the last ticker rolls back (the real pipeline: aliases, then the record) and a new
        # ticker gets its first champion through the one publish path
        rollback(ticker="SYN0002", registry=registry, audit=audit, now=NOW, as_of=None)
        publish(
            registry=registry,
            ticker="NEW1",
            record=RunRecord("train-NEW1", {}, {}, {}, {}),
            spec=_spec("NEW1", 0.1),
            tags={},
            action="register",
            audit=audit,
            now=NOW,
        )
        for c in (a, b):
            assert _version(c, "SYN0002") == 2  # nothing moves before a poll
            result = _poll(c)
            assert result.kind == "changes"
            assert sorted(result.loaded) == ["NEW1", "SYN0002"] and result.failed == ()
            assert _version(c, "SYN0002") == 1 and _version(c, "NEW1") == 1
            assert _poll(c).loaded == ()  # applied once
        # an alias moved by hand (no record) is caught by the next full listing only
        registry.set_alias("SYN0001", "champion", 1)
        for c in (a, b):
            assert _poll(c).loaded == ()
            assert _poll(c, full=True).loaded == ("SYN0001",)
            assert _version(c, "SYN0001") == 1
    engine.dispose()
