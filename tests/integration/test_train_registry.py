"""Train on bundled S&P 500 into a temporary MLflow store; the loaded spec forecasts identically."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from stocky.adapters.registry import ModelRegistry, model_name
from stocky.errors import ModelNotFound
from stocky.pipelines.train import TrainConfig, train_ticker

pytestmark = pytest.mark.integration


@pytest.fixture
def registry(tmp_path) -> ModelRegistry:
    return ModelRegistry(
        tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        experiment="stocky-test",
        artifact_root=(tmp_path / "artifacts").as_uri(),
    )


@pytest.fixture(scope="module")
def gspc_prices(sp500_frame) -> pd.DataFrame:
    frame = sp500_frame.reset_index()
    return (
        pd.DataFrame({"date": frame["Date"], "close": frame["Close"]})
        .iloc[-1200:]
        .reset_index(drop=True)
    )


def test_train_registers_champion_then_challenger(registry, gspc_prices):
    config = TrainConfig(
        order="1,1,1", test_size=120, validation_size=60, train_window=600, min_train_size=250
    )
    now = datetime(2019, 1, 2, 22, 0, tzinfo=UTC)
    first = train_ticker(
        ticker="^GSPC",
        prices=gspc_prices,
        source="bundled",
        registry=registry,
        config=config,
        now=now,
    )
    assert first.alias == "champion"
    assert first.version.name == "stocky-_cgspc"
    # metrics are reported next to naive's, recomputed here independently
    actual = gspc_prices["close"].to_numpy()[-120:]
    naive = gspc_prices["close"].to_numpy()[-121:-1]
    assert first.scores.naive_rmse == pytest.approx(np.sqrt(np.mean((actual - naive) ** 2)))
    assert first.scores.skill == pytest.approx(1 - first.scores.rmse / first.scores.naive_rmse)

    spec, info = registry.load_spec("^GSPC")
    assert info.version == first.version.version
    assert "champion" in info.aliases
    window = gspc_prices["close"].to_numpy()[-45:]
    assert spec.params == first.spec.params
    assert spec.forecaster().forecast(window) == first.spec.forecaster().forecast(window)
    assert spec.train_end == "2018-12-31"

    run = registry.client.get_run(first.run_id)
    assert run.data.params["order"] == "(1, 1, 1)"
    assert run.data.params["source"] == "bundled"
    assert len(run.data.params["data_hash"]) == 16
    assert run.data.metrics["naive_rmse"] == pytest.approx(first.scores.naive_rmse)
    assert run.data.tags["stocky.version"]
    artifacts = {a.path for a in registry.client.list_artifacts(first.run_id)}
    assert {"metrics.json", "walk_forward.csv", "forecast_vs_actual.png", "model"} <= artifacts

    # the same training again (a retried task) reuses the version and moves no alias
    again = train_ticker(
        ticker="^GSPC",
        prices=gspc_prices,
        source="bundled",
        registry=registry,
        config=config,
        now=now + timedelta(hours=1),
    )
    assert (again.version.version, again.run_id, again.alias) == (1, first.run_id, "champion")
    assert len(registry.versions("^GSPC")) == 1
    key = registry.versions("^GSPC")[0].tags["stocky.training_key"]
    assert registry.client.get_run(first.run_id).data.tags["stocky.training_key"] == key
    second = train_ticker(
        ticker="^GSPC",
        prices=gspc_prices.iloc[1:].reset_index(drop=True),
        source="bundled",
        registry=registry,
        config=config,
        now=now,
    )
    assert second.alias == "challenger"
    assert second.version.version == first.version.version + 1
    assert registry.alias_version("^GSPC", "champion").version == first.version.version  # type: ignore[union-attr]
    assert [v.version for v in registry.versions("^GSPC")] == [2, 1]
    assert registry.tickers() == ["^GSPC"]


def test_missing_model_says_how_to_train(registry):
    with pytest.raises(ModelNotFound, match="stocky train --ticker MSFT"):
        registry.load_spec("MSFT")


def test_model_name_is_sanitised():
    assert model_name("^GSPC") == "stocky-_cgspc"
    assert model_name("BRK.B") == "stocky-brk_db"
