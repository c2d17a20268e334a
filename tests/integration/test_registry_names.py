"""Tickers that differ only in punctuation get models of their own in a real MLflow registry;
a name an older stocky gave another ticker is refused loudly, and still served to its owner."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fakes import price_frame
from stocky.adapters.registry import ModelRegistry
from stocky.api.app import create_app
from stocky.cli.main import app
from stocky.config import get_settings
from stocky.errors import ModelNameTaken
from stocky.pipelines.train import train_ticker
from support import FAST_TRAIN, TRAINED_AT, make_settings, registry_for

pytestmark = pytest.mark.integration

runner = CliRunner()
NOW = dt.datetime(2019, 1, 2, 21, 30, tzinfo=dt.UTC)


def _closes(seed: int, level: float, n: int = 260) -> np.ndarray:
    rng = np.random.default_rng(seed)  # SYNTHETIC random walks, 50x apart in level
    return level * np.exp(np.cumsum(rng.normal(0, 0.01, n)))


def _long_csv(path: Path) -> Path:
    parts = []
    for ticker, seed, level in (("BRK.B", 1, 200.0), ("BRK-B", 2, 4.0)):
        frame = price_frame(_closes(seed, level), end=dt.date(2018, 12, 31))
        parts.append(
            pd.DataFrame({"Ticker": ticker, "Date": frame["date"].dt.date, "Close": frame["close"]})
        )
    pd.concat(parts).to_csv(path, index=False)
    return path


@pytest.fixture
def csv_home(cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "csv")
    monkeypatch.setenv("STOCKY_CSV_PATH", str(_long_csv(tmp_path / "fleet.csv")))
    for var, value in {
        "STOCKY_ORDER": "0,1,1",
        "STOCKY_TEST_SIZE": "40",
        "STOCKY_VALIDATION_SIZE": "20",
        "STOCKY_TRAIN_WINDOW": "200",
        "STOCKY_MIN_TRAIN_SIZE": "100",
    }.items():
        monkeypatch.setenv(var, value)
    get_settings.cache_clear()
    return cli_env


def test_train_all_registers_each_punctuation_twin_apart(csv_home):
    first = runner.invoke(app, ["train", "--all", "--jobs", "1"])
    assert first.exit_code == 0, first.output
    registry = registry_for(get_settings())
    assert registry.alias_map("champion") == {"BRK-B": 1, "BRK.B": 1}
    listed = {i.ticker: i.name for i in registry.champion_versions()}
    assert listed == {"BRK-B": "stocky-brk-b", "BRK.B": "stocky-brk_db"}
    # each champion is its own ticker's: trained on closes 50x apart
    specs = {t: registry.load_spec(t)[0] for t in listed}
    assert {t: s.ticker for t, s in specs.items()} == {"BRK-B": "BRK-B", "BRK.B": "BRK.B"}

    again = runner.invoke(app, ["train", "--all", "--if-missing", "--jobs", "1"])
    assert again.exit_code == 0, again.output
    assert "skipped" in again.output and "BRK-B" in again.output and "BRK.B" in again.output
    assert [v.version for v in registry.versions("BRK-B")] == [1]
    assert [v.version for v in registry.versions("BRK.B")] == [1]

    settings = make_settings(csv_home, price_source="csv")
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        answers = {}
        for ticker, level in (("BRK.B", 200.0), ("BRK-B", 4.0)):
            prices = list(_closes(9, level, 30))
            r = client.post("/predict", json={"ticker": ticker, "recent_prices": prices})
            assert r.status_code == 200, r.text
            answers[ticker] = r.json()
        assert answers["BRK.B"]["ticker"] == "BRK.B" and answers["BRK-B"]["ticker"] == "BRK-B"
        models = {m["ticker"]: m["registered_name"] for m in client.get("/models").json()}
        assert models == {"BRK-B": "stocky-brk-b", "BRK.B": "stocky-brk_db"}


def _legacy_registry(tmp_path: Path, sp500_frame: pd.DataFrame) -> ModelRegistry:
    """A registry an older stocky wrote: BRK.B's model registered as `stocky-brk-b`."""
    registry = ModelRegistry(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        experiment="stocky-test",
        artifact_root=(tmp_path / "artifacts").as_uri(),
    )
    frame = sp500_frame.reset_index().iloc[-400:]
    prices = pd.DataFrame({"date": frame["Date"], "close": frame["Close"]}).reset_index(drop=True)
    trained = train_ticker(
        ticker="AAPL",
        prices=prices,
        source="bundled",
        registry=registry,
        config=FAST_TRAIN,
        now=TRAINED_AT,
    )
    client = registry.client
    client.create_registered_model("stocky-brk-b", tags={"ticker": "BRK.B"})
    source = client.get_model_version("stocky-aapl", "1").source
    client.create_model_version("stocky-brk-b", source=source, run_id=trained.run_id)
    client.set_registered_model_alias("stocky-brk-b", "champion", "1")
    return ModelRegistry(
        tracking_uri=registry.tracking_uri,
        experiment="stocky-test",
        artifact_root=registry.artifact_root,
    )


def test_a_legacy_name_is_served_to_its_owner_and_refused_to_another(tmp_path, sp500_frame):
    registry = _legacy_registry(tmp_path, sp500_frame)
    champion = registry.champion("BRK.B")
    assert champion is not None and champion.info.name == "stocky-brk-b"
    # BRK-B's own name holds BRK.B's model: nothing is served to BRK-B from it
    assert registry.champion("BRK-B") is None
    assert registry.versions("BRK-B") == []
    run_id = registry.versions("BRK.B")[0].run_id
    with pytest.raises(ModelNameTaken) as caught:
        registry.register("BRK-B", str(run_id), tags={})
    message = str(caught.value)
    assert "'BRK.B'" in message and "'BRK-B'" in message
    assert "rename_registered_model('stocky-brk-b', 'stocky-brk_db')" in message
    # another process learns the same from the listing alone
    fresh = ModelRegistry(tracking_uri=registry.tracking_uri, experiment="stocky-test")
    assert {i.ticker: i.name for i in fresh.champion_versions()}["BRK.B"] == "stocky-brk-b"
    with pytest.raises(ModelNameTaken):
        fresh.set_alias("BRK-B", "champion", 1)
    # the fix the message names: BRK.B moves to its own name, BRK-B can then register
    registry.client.rename_registered_model("stocky-brk-b", "stocky-brk_db")
    renamed = ModelRegistry(tracking_uri=registry.tracking_uri, experiment="stocky-test")
    moved = renamed.champion("BRK.B")
    assert moved is not None and moved.info.name == "stocky-brk_db"
    assert renamed.register("BRK-B", str(run_id), tags={}).name == "stocky-brk-b"
