"""A model family from another package: pip-installed, found by its entry point, trained,
chosen over naive on the series it fits, and served by /predict like a built-in.

The plug-in (tests/plugins/stocky-plugin-ar1) is AR(1) on log returns; the prices are
SYNTHETIC: an AR(1) in log returns (phi 0.5) on real XNYS session dates.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from stocky.api.app import create_app
from stocky.core.families import registry
from stocky.pipelines.train import TrainConfig, train_ticker
from support import make_settings, registry_for

pytestmark = pytest.mark.integration

PLUGIN = Path(__file__).resolve().parents[1] / "plugins" / "stocky-plugin-ar1"
FIXED_NOW = dt.datetime(2019, 1, 3, 21, 30, tzinfo=dt.UTC)


def _clear() -> None:
    registry._plugins.cache_clear()
    registry.family_class.cache_clear()


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("plugin-site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(site),
            str(PLUGIN),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return site


@pytest.fixture
def with_plugin(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(plugin_site))
    _clear()
    yield plugin_site
    _clear()


def _ar1_prices(sp500_frame: pd.DataFrame, n: int = 900) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    e = rng.normal(0.0, 0.01, n)
    r = np.empty(n)
    r[0] = e[0]
    for t in range(1, n):
        r[t] = 0.5 * r[t - 1] + e[t]
    dates = pd.to_datetime(sp500_frame.index[-n:])
    return pd.DataFrame({"date": dates, "close": 100.0 * np.exp(np.cumsum(r))})


def test_plugin_is_listed_with_its_package(with_plugin: Path) -> None:
    infos = {i.model_type: i for i in registry.family_infos()}
    assert infos["ar1ret"].origin == "stocky-plugin-ar1"
    assert infos["arima"].origin == "built-in"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(with_plugin), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-m", "stocky", "families", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    ).stdout
    listed = {row["name"]: row["origin"] for row in json.loads(out)}
    assert listed["ar1ret"] == "stocky-plugin-ar1" and listed["naive"] == "built-in"


def test_plugin_family_trains_wins_and_serves(
    with_plugin: Path, sp500_frame: pd.DataFrame, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path / "home")
    settings.ensure_home()
    prices = _ar1_prices(sp500_frame)
    config = TrainConfig(
        families=("ar1ret",),
        test_size=120,
        validation_size=126,
        train_window=500,
        min_train_size=100,
    )
    result = train_ticker(
        ticker="SYNAR",
        prices=prices,
        source="csv",
        registry=registry_for(settings),
        config=config,
        now=FIXED_NOW,
    )
    assert result.spec.model_type == "ar1ret", result.order_reason
    assert result.scores.skill > 0.05  # phi 0.5: a real edge over the random walk
    window = prices["close"].iloc[-30:].tolist()
    with TestClient(create_app(settings, clock=lambda: FIXED_NOW)) as client:
        r = client.post("/predict", json={"recent_prices": window, "ticker": "SYNAR"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_type"] == "ar1ret" and body["arima_order"] is None
    assert body["model"].startswith("AR1ret(phi=0.")
    phi = result.spec.params["phi"]
    expected = window[-1] * np.exp(phi * np.log(window[-1] / window[-2]))
    assert body["prediction"] == pytest.approx(expected, rel=1e-12)


def test_unknown_family_is_refused_naming_the_known_ones() -> None:
    from stocky.errors import BadInput

    with pytest.raises(BadInput, match="'nosuch' is unknown: use one of .*arima"):
        registry.parse_families("naive,nosuch")
